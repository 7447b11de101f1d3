"""心の天気 (staff): the classes a user may see, a class board (today, the last two weeks, who has
not checked in), class sets of code slips (PDF), guardians' opt-outs, the guardians' notice (PDF)
and the school's export for the screening. A refused form comes back on its page with what was typed
(``web/forms.py``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.privacy.policy import JST
from tsunagu.web import voice_pdf as pdf
from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, _row_id, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.errors import Invalid
from tsunagu.work.voice import kokoro
from tsunagu.work.voice.codes import code_key
from tsunagu.work.voice.config import voice_settings

router = APIRouter(include_in_schema=False)
SAVED = {"optout": "不参加の申出を記録しました。これまでの入力は削除しました。",
         "optin": "参加しない申出の取り消しを記録しました。今日から入力が保存されます。"}
WEATHER_LABELS = {"晴れ": "晴れ", "くもり": "くもり", "雨": "雨", "雷": "かみなり"}


def _today() -> date:
    return datetime.now(JST).date()


def _streak_entries(state: AppState) -> int:
    return int(state.hub.rule_set().parameters_at(_today())["kokoro_streak_entries"])


def _pdf(content: bytes, name: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/kokoro")
def classes(request: Request, state: State, subject: CurrentSubject) -> Response:
    return _classes(request, state, subject, NO_FORM)


def _classes(request: Request, state: AppState, subject: Subject, form: FormState) -> Response:
    with state.reading() as session:
        found = kokoro.visible_classes(session, subject, key=state.key)
    may_issue = subject.role in ("teacher", "school_manager") and state.hub.policy.allows(
        subject, "kokoro.codes", kokoro.PURPOSE, relationship="assigned_case" if subject.role == "teacher"
        else "same_school", sensitivity=2)
    may_export = state.hub.policy.allows(subject, "kokoro.export", kokoro.PURPOSE, relationship="same_school", sensitivity=2)
    return render(request, state, "kokoro_classes.html", classes=found, may_issue=may_issue, may_export=may_export,
                  is_teacher=subject.role == "teacher", today=_today(), since=_today() - timedelta(days=27), form=form)


@refills("/kokoro/codes")
def _classes_again(request: Request, form: FormState) -> Response:
    return _classes(request, request.app.state.tsunagu, request.state.account.subject, form)


@router.post("/kokoro/codes", dependencies=[CsrfForm])
def issue(state: State, subject: CurrentSubject, label: Annotated[str, Form()] = "",
          pupils: Annotated[str, Form()] = "", teacher: Annotated[str, Form()] = "") -> Response:
    numbers = kokoro.parse_pupils(pupils)
    with state.unit() as session:
        klass, issued = kokoro.issue_codes(session, subject, label=label, pupils=numbers, teacher_user_id=teacher,
                                           code_key=code_key(state.settings.home), key=state.key)
        class_label = klass.label
    today = _today()
    content = pdf.slips(state.settings.municipality_name or "", class_label,
                        [(c.pupil_no, c.code) for c in issued], today,
                        today + timedelta(days=voice_settings().pupil_code_days))
    return _pdf(content, "kodomo-cards.pdf")


@router.get("/kokoro/classes/{class_id}")
def board(request: Request, state: State, subject: CurrentSubject, class_id: RowId, saved: str = "") -> Response:
    return _board(request, state, subject, class_id, saved, NO_FORM)


def _board(request: Request, state: AppState, subject: Subject, class_id: int, saved: str,
           form: FormState) -> Response:
    with state.unit() as session:  # opening it acknowledges this user's streak alerts about the class
        view = kokoro.board(session, subject, class_id, today=_today(), cipher=state.cipher,
                            streak_entries=_streak_entries(state), key=state.key)
    may_opt_out = state.hub.policy.allows(subject, "kokoro.optout", kokoro.PURPOSE,
                         relationship=kokoro.relationship_to_class(subject, view.klass), sensitivity=2)
    return render(request, state, "kokoro_board.html", view=view, labels=WEATHER_LABELS, may_opt_out=may_opt_out,
                  message=SAVED.get(saved, ""), form=form)


@refills("/kokoro/classes/{class_id}/opt-out", "/kokoro/classes/{class_id}/opt-in")
def _board_again(request: Request, form: FormState) -> Response:
    return _board(request, request.app.state.tsunagu, request.state.account.subject,
                  _row_id(int(request.path_params["class_id"])), "", form)


@router.post("/kokoro/classes/{class_id}/opt-out", dependencies=[CsrfForm])
def opt_out(state: State, subject: CurrentSubject, class_id: RowId, pupil_no: Annotated[str, Form()] = "",
            received_on: Annotated[str, Form()] = "") -> Response:
    try:
        received = date.fromisoformat(received_on) if received_on else _today()
    except ValueError as exc:
        raise Invalid("申出の日を YYYY-MM-DD の形で入力してください。", field="received_on") from exc
    with state.unit() as session:
        kokoro.record_opt_out(session, subject, class_id, pupil_no, received, key=state.key)
    return RedirectResponse(f"/kokoro/classes/{class_id}?saved=optout", status_code=303)


@router.post("/kokoro/classes/{class_id}/opt-in", dependencies=[CsrfForm])
def opt_in(state: State, subject: CurrentSubject, class_id: RowId, pupil_no: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        kokoro.withdraw_opt_out(session, subject, class_id, pupil_no, key=state.key)
    return RedirectResponse(f"/kokoro/classes/{class_id}?saved=optin", status_code=303)


@router.get("/kokoro/notice.pdf")
def notice(state: State, subject: CurrentSubject) -> Response:
    with state.reading() as session:
        kokoro.visible_classes(session, subject, key=state.key)  # the same permission as the class list
    return _pdf(pdf.notice(state.settings.municipality_name or "", _today()), "kokoro-notice.pdf")


@router.get("/kokoro/export.csv")
def export(state: State, subject: CurrentSubject, since: str = "", until: str = "") -> Response:
    try:
        start = date.fromisoformat(since) if since else _today() - timedelta(days=27)
        end = date.fromisoformat(until) if until else _today()
    except ValueError as exc:
        raise Invalid("期間を YYYY-MM-DD の形で入力してください。") from exc
    with state.reading() as session:
        text = kokoro.export_csv(session, subject, start, end, key=state.key)
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="kokoro_tenki_{end.strftime("%Y%m%d")}.csv"'})

"""子どもからの相談 (staff): the inbox with urgent threads first, a thread with replies and triage,
linking to the child's record with the writer's consent, and the on-duty roster. A refused form
comes back on its page with what was typed (``web/forms.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, _row_id, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.voice import alerts, threads
from tsunagu.work.voice.config import voice_settings

router = APIRouter(include_in_schema=False)
SAVED = {"reply": "返信を送りました。", "triage": "振り分けを記録しました。", "link": "子どもの記録に結び付けました。",
         "duty": "当番を更新しました。"}
WRITERS = {"child_code": "カードのコードで入った児童生徒", "anonymous": "名前を言わない相談", "guardian": "保護者から"}


@router.get("/voice")
def inbox(request: Request, state: State, subject: CurrentSubject, status: str = "open", saved: str = "") -> Response:
    with state.reading() as session:
        rows = threads.inbox(session, subject, cipher=state.cipher, status=status, key=state.key)
        duty = alerts.on_duty(session)
        staff = dict(alerts.duty_candidates(session))
    settings = voice_settings()
    return render(request, state, "voice_inbox.html", rows=rows, status=status, statuses=threads.STATUSES,
                  duty=[staff.get(u, "（無効なアカウント）") for u in duty], on_duty=subject.user_id in duty, staff_names=staff,
                  categories=settings.categories, priorities=settings.priorities, writers=WRITERS,
                  message=SAVED.get(saved, ""))


@router.get("/voice/threads/{thread_id}")
def thread_page(request: Request, state: State, subject: CurrentSubject, thread_id: RowId, saved: str = "") -> Response:
    return _thread_page(request, state, subject, thread_id, saved, NO_FORM)


def _thread_page(request: Request, state: AppState, subject: Subject, thread_id: int, saved: str,
                 form: FormState) -> Response:
    with state.unit() as session:  # opening it acknowledges this user's alerts about it
        view = threads.read_thread(session, subject, thread_id, cipher=state.cipher, key=state.key)
        staff = alerts.duty_candidates(session)
        linkable = threads.suggested_person(session, view.thread) is not None
    settings = voice_settings()
    return render(request, state, "voice_thread.html", view=view, staff=staff, categories=settings.categories,
                  priorities=settings.priorities, statuses=threads.STATUSES, writers=WRITERS, linkable=linkable,
                  message=SAVED.get(saved, ""), form=form)


@refills("/voice/threads/{thread_id}/reply", "/voice/threads/{thread_id}/triage", "/voice/threads/{thread_id}/link")
def _thread_again(request: Request, form: FormState) -> Response:
    return _thread_page(request, request.app.state.tsunagu, request.state.account.subject,
                        _row_id(int(request.path_params["thread_id"])), "", form)


def _back(thread_id: int, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/voice/threads/{thread_id}?saved={saved}", status_code=303)


@router.post("/voice/threads/{thread_id}/reply", dependencies=[CsrfForm])
def thread_reply(state: State, subject: CurrentSubject, thread_id: RowId, text: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        threads.reply(session, subject, thread_id, text, cipher=state.cipher, key=state.key)
    return _back(thread_id, "reply")


@router.post("/voice/threads/{thread_id}/triage", dependencies=[CsrfForm])
def thread_triage(state: State, subject: CurrentSubject, thread_id: RowId, priority: Annotated[str, Form()] = "",
                  category: Annotated[str, Form()] = "", status: Annotated[str, Form()] = "",
                  assigned_to: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        threads.triage(session, subject, thread_id, priority=priority, category=category, status=status,
                       assigned_to=assigned_to, key=state.key)
    return _back(thread_id, "triage")


@router.post("/voice/threads/{thread_id}/link", dependencies=[CsrfForm])
def thread_link(state: State, subject: CurrentSubject, thread_id: RowId) -> Response:
    with state.unit() as session:
        threads.link(session, subject, thread_id, key=state.key)
    return _back(thread_id, "link")


@router.get("/voice/duty")
def duty_page(request: Request, state: State, subject: CurrentSubject) -> Response:
    return _duty_page(request, state, subject, NO_FORM)


def _duty_page(request: Request, state: AppState, subject: Subject, form: FormState) -> Response:
    with state.reading() as session:
        staff, duty = alerts.duty_view(session, subject, key=state.key)
    return render(request, state, "voice_duty.html", staff=staff, duty=set(duty), form=form)


@refills("/voice/duty")
def _duty_again(request: Request, form: FormState) -> Response:
    return _duty_page(request, request.app.state.tsunagu, request.state.account.subject, form)


@router.post("/voice/duty", dependencies=[CsrfForm])
def duty_save(state: State, subject: CurrentSubject, on_duty: Annotated[list[str] | None, Form()] = None) -> Response:
    with state.unit() as session:
        alerts.set_duty(session, subject, on_duty or [], key=state.key)
    return RedirectResponse("/voice?saved=duty", status_code=303)

"""通告・相談受理: the intake form, the assessment (hard rules first, the estimate beside them), the
due list of safety checks, the intake record as PDF and the model card. Parse, call
``work.urgency`` (which authorises and records), render."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import PersonLink
from tsunagu.privacy import Subject, authorise
from tsunagu.web.deps import CsrfForm, CurrentSubject, RowId, State, _row_id, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.models import User
from tsunagu.work.rights.pdf import FontMissingError, register_font
from tsunagu.work.urgency import intake as svc
from tsunagu.work.urgency.estimate import REPORTER_KINDS
from tsunagu.work.urgency.items import UNKNOWN, default_items
from tsunagu.work.urgency.pdf import render_intake_pdf
from tsunagu.work.urgency.versions import in_force

router = APIRouter(include_in_schema=False)
JST = ZoneInfo("Asia/Tokyo")
SAVED = {"created": "受理を記録しました。安全確認の期限を確認してください。", "decision": "判断を記録しました。",
         "information": "新たな情報を記録し、再アセスメントしました。", "checked": "安全確認（目視）を記録しました。"}


def _refuse_unless(state: State, subject: Subject, action: str) -> None:
    """Pages that show no child (an empty form): a pure policy check, refused like any other."""
    decision = state.hub.policy.decide(subject, action, "assessment", relationship="own_agency", sensitivity=3)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def _when(text: str, label: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"{label}は 年-月-日 時:分 で入力してください。", field=field) from exc
    return moment.replace(tzinfo=JST) if moment.tzinfo is None else moment


def _grades(form: Any) -> dict[str, str]:
    return {it.id: str(form.get(f"g_{it.id}") or UNKNOWN) for it in default_items().items}


def _person(session: Session, aza: str) -> str | None:
    """宛名番号 → the person the hub's link index joined it to (None: a new, unlinked intake)."""
    text = aza.strip()
    if not text:
        return None
    found = session.scalars(select(PersonLink.person_id).where(PersonLink.source == "juki_jumin",
                                                               PersonLink.local_id == text)).first()
    if found is None:
        raise Invalid(f"宛名番号 {text} の子どもは見つかりません。番号を確かめるか、空欄にして氏名で受理してください。",
                      field="aza_number")
    return found


def _birth(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise Invalid("生年月日は 年-月-日 で入力してください。", field="child_birth") from exc


@refills("/intakes/record")
def _record_again(request: Request, form: FormState) -> Response:
    values = {k: v[0] for k, v in form.values.items() if v}
    return _form_page(request, request.app.state.tsunagu, request.state.account.subject, values,
                      next(iter(form.errors.values()), ""), status=422, form=form)


@refills("/intakes/{intake_id}/decision", "/intakes/{intake_id}/information", "/intakes/{intake_id}/safety-check",
         "/shared/open")
def _intake_again(request: Request, form: FormState) -> Response:
    params = request.path_params
    intake = params.get("intake_id") or form.value(form.action, "intake_id", "0")
    # Each message beside its field (or atop its own form), what was typed kept (``web/forms.py``).
    return _intake_page(request, request.app.state.tsunagu, request.state.account.subject,
                        _row_id(int(intake) if str(intake).isdigit() else 0), form=form)


def _supervisors(session: Session, subject: Subject) -> list[tuple[str, str]]:
    rows = session.execute(select(User.user_id, User.display_name).where(
        User.role == subject.role, User.disabled.is_(False), User.user_id != subject.user_id)).all()
    return [(r[0], r[1]) for r in rows]


def _form_page(request: Request, state: State, subject: Subject, values: dict[str, str], error: str = "",
               status: int = 200, form: FormState = NO_FORM) -> Response:
    with state.reading() as session:
        supervisors = _supervisors(session, subject)
    return render(request, state, "intake_form.html", status_code=status, items=default_items(), values=values,
                  error=error, reporters=REPORTER_KINDS, supervisors=supervisors, form=form,
                  now=datetime.now(JST).strftime("%Y-%m-%dT%H:%M"))


@router.get("/intakes")
def due_page(request: Request, state: State, subject: CurrentSubject, all: str = "", saved: str = "") -> Response:
    now = datetime.now(UTC)
    with state.unit() as session:
        svc.escalate_overdue(session, now)  # a recorded act, also run by `tsunagu urgency escalate`
        rows = svc.due_list(session, subject, now, cipher=state.cipher, include_checked=bool(all), key=state.key)
    return render(request, state, "intakes.html", rows=rows, include_checked=bool(all), message=SAVED.get(saved, ""),
                  may_record=state.hub.policy.allows(subject, "intake.write", "assessment", relationship="own_agency", sensitivity=3))


@router.get("/intakes/new")
def intake_form(request: Request, state: State, subject: CurrentSubject) -> Response:
    _refuse_unless(state, subject, "intake.write")
    return _form_page(request, state, subject, {})


@router.post("/intakes/record", dependencies=[CsrfForm])
async def intake_submit(request: Request, state: State, subject: CurrentSubject) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    # refused: the form comes back filled in through the shared mechanism (``_record_again``)
    with state.unit() as session:
        # the 宛名番号 is resolved first so that a refusal below is recorded against the child
        person = _person(session, values.get("aza_number", ""))
        birth = values.get("child_birth", "").strip()
        view = svc.record_intake(session, subject, svc.IntakeForm(
            received_at=_when(values.get("received_at", ""), "受理日時", "received_at"),
            reporter_kind=values.get("reporter_kind", ""), concern=values.get("concern", ""),
            grades=_grades(form), person_id=person, child_name=values.get("child_name", ""),
            child_birth=_birth(birth),
            reporter_note=values.get("reporter_note", ""), supervisor=values.get("supervisor") or None,
        ), cipher=state.cipher, hours=svc.safety_hours(state.settings.home), key=state.key)
    return RedirectResponse(f"/intakes/{view.id}?saved=created", status_code=303)


def _bars(estimate: dict[str, Any]) -> list[dict[str, Any]]:
    if not estimate.get("available"):
        return []
    knn, model = estimate["knn"], estimate["model"]
    return [
        {"label": f"似た過去事例{knn['k']}件のうち一時保護に至った割合", "share": knn["share"], "low": knn["low"],
         "high": knn["high"], "note": f"{knn['protected']}/{knn['k']}件（95%区間）"},
        {"label": "過去の判断を要約したモデル", "share": model["share"], "low": model["low"], "high": model["high"],
         "note": "90%区間（ブートストラップ）"},
    ]


@router.get("/intakes/{intake_id}")
def intake_page(request: Request, state: State, subject: CurrentSubject, intake_id: RowId, saved: str = "") -> Response:
    return _intake_page(request, state, subject, intake_id, message=SAVED.get(saved, ""))


def _intake_page(request: Request, state: State, subject: Subject, intake_id: int, *, message: str = "",
                 form: FormState = NO_FORM) -> Response:
    with state.reading() as session:
        view = svc.get_intake(session, subject, intake_id, cipher=state.cipher, key=state.key)
    latest = view.latest
    items = default_items()
    return render(request, state, "intake.html", view=view, latest=latest, items=items,
                  bars=_bars(latest.estimate) if latest else [], message=message, form=form,
                  status_code=422 if form.errors else 200,
                  now=datetime.now(UTC), levels=list(svc.DECISION_LEVELS),
                  decided=next((a for a in view.assessments if a.decision_level), None),
                  now_text=datetime.now(JST).strftime("%Y-%m-%dT%H:%M"))


def _back(intake_id: int, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/intakes/{intake_id}?saved={quote(saved)}", status_code=303)


@router.post("/intakes/{intake_id}/decision", dependencies=[CsrfForm])
def decision_submit(request: Request, state: State, subject: CurrentSubject, intake_id: RowId,
                    level: Annotated[str, Form()] = "", protect: Annotated[str, Form()] = "",
                    reason: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:  # refused: the page comes back with what was typed (``_intake_again``)
        svc.decide(session, subject, intake_id, level=level, protect=protect == "yes", reason=reason,
                   cipher=state.cipher, key=state.key)
    return _back(intake_id, "decision")


@router.post("/intakes/{intake_id}/information", dependencies=[CsrfForm])
async def information_submit(request: Request, state: State, subject: CurrentSubject, intake_id: RowId) -> Response:
    form = await request.form()
    changed = {it.id: str(form[f"g_{it.id}"]) for it in default_items().items if str(form.get(f"g_{it.id}") or "")}
    with state.unit() as session:
        svc.add_information(session, subject, intake_id, grades=changed, note=str(form.get("note") or ""),
                            cipher=state.cipher, key=state.key)
    return _back(intake_id, "information")


@router.post("/intakes/{intake_id}/safety-check", dependencies=[CsrfForm])
def safety_submit(state: State, subject: CurrentSubject, intake_id: RowId, seen_at: Annotated[str, Form()] = "",
                  note: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        svc.record_safety_check(session, subject, intake_id, seen_at=_when(seen_at, "確認日時", "seen_at"), note=note,
                                cipher=state.cipher, key=state.key)
    return _back(intake_id, "checked")


@router.get("/intakes/{intake_id}/record.pdf")
def intake_pdf(state: State, subject: CurrentSubject, intake_id: RowId) -> Response:
    try:
        register_font()  # before the read: a record that cannot be rendered is not recorded as issued
    except FontMissingError as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from exc
    with state.reading() as session:
        view = svc.get_intake(session, subject, intake_id, cipher=state.cipher, key=state.key)
    return Response(render_intake_pdf(view, default_items()), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="intake-{intake_id}.pdf"'})


@router.get("/urgency/model")
def model_card_page(request: Request, state: State, subject: CurrentSubject) -> Response:
    purpose = "assessment" if state.hub.policy.allows(subject, "urgency.card", "assessment") else "administration"
    with state.unit() as session:
        decision = authorise(session, subject, "urgency.card", purpose, key=state.key)
        if not decision.allowed:
            raise Refused(decision.reason, decision)
        row = in_force(session)
        card = json.loads(row.card_json) if row is not None else None
    return render(request, state, "model_card.html", card=card)

"""ケース管理: a child's case page (status, owner, contacts, meetings, 要対協 ledger), the worklists,
the progress ledger and the printable summaries. A refused form comes back on the case page with
what was typed and the message beside its field (``web/forms.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tsunagu.privacy import Subject
from tsunagu.web.deps import CsrfForm, CurrentSubject, State, check_purpose, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.access import relationship
from tsunagu.work.cases import ledger as ledger_svc
from tsunagu.work.cases import records, status, worklists
from tsunagu.work.cases.names import NAME_ITEM, identities
from tsunagu.work.cases.pdf import render_agenda, render_case_summary
from tsunagu.work.cases.summary import agenda, case_summary
from tsunagu.work.child import summary
from tsunagu.work.errors import Invalid
from tsunagu.work.rights.pdf import FontMissingError, register_font

router = APIRouter(include_in_schema=False)
SUPPORT = "support_coordination"
CASE_PURPOSES = ("assessment", "support_coordination")
ATTENDEE_ROWS = 6
# The 実務者会議 list defaults to four weeks ahead (many councils meet monthly); the page lets staff
# choose the meeting's date.
AGENDA_DEFAULT_DAYS = 28
SAVED = {"status": "状況を変更しました。", "owner": "担当者を記録しました。", "contact": "連絡記録を追加しました。",
         "meeting": "個別ケース検討会議を記録しました。", "ledger": "進行管理台帳に登録しました。",
         "review": "進行管理の確認を記録しました。"}


def _date(text: str, label: str, field: str, *, required: bool = False) -> date | None:
    if not text.strip():
        if required:
            raise Invalid(f"{label}を入力してください。", field=field)
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"{label}は YYYY-MM-DD の形で入力してください。", field=field) from exc


def _required(text: str, label: str, field: str) -> date:
    day = _date(text, label, field, required=True)
    assert day is not None
    return day


def _back(person_id: str, purpose: str, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/children/{quote(person_id)}/case?purpose={quote(purpose)}&saved={saved}#{saved}",
                            status_code=303)


def _page(request: Request, state: AppState, subject: Subject, person_id: str, purpose: str, *,
          saved: str = "", form: FormState = NO_FORM) -> Response:
    with state.reading() as session:
        view = summary(session, subject, purpose, person_id, cipher=state.cipher, key=state.key)
        case = status.read_case(session, subject, purpose, person_id, cipher=state.cipher, key=state.key,
                                items=(NAME_ITEM,))
        child = identities(session, subject, purpose, [person_id], state.nodes()).get(person_id)
        rel = relationship(session, subject, person_id)
        may_records = state.hub.policy.allows(subject, "case.read", purpose, relationship=rel, sensitivity=3)
        contacts, meetings = records.read_records(session, subject, purpose, person_id, cipher=state.cipher,
                                                  key=state.key) if may_records else ([], [])
        entry = ledger_svc.read_entry(session, subject, purpose, person_id, key=state.key) if may_records else None
        handlers = status.case_handlers(session)
    return render(
        request, state, "case.html", view=view, case=case, child=child, contacts=contacts,
        meetings=meetings, entry=entry, handlers=handlers, people=handlers, statuses=status.STATUSES,
        contact_kinds=records.CONTACT_KINDS, categories=ledger_svc.CATEGORIES, may_records=may_records,
        may_write=state.hub.policy.allows(subject, "case.write", purpose, relationship=rel, sensitivity=3),
        may_print=state.hub.policy.allows(subject, "case.print", purpose, relationship=rel, sensitivity=3),
        purpose=purpose, saved_message=SAVED.get(saved, ""), form=form, attendees=records.ATTENDEES,
        attendee_rows=range(1, ATTENDEE_ROWS + 1), today=datetime.now(UTC).date().isoformat(),
        limit=ledger_svc.latest_review_date(datetime.now(UTC).date()).isoformat(),
    )


def _purpose(state: AppState, purpose: str) -> str:
    check_purpose(state, purpose)
    if purpose not in CASE_PURPOSES:
        raise Invalid("ケースの記録は「アセスメント」か「支援の調整」の目的で開いてください。")
    return purpose


@router.get("/children/{person_id}/case")
def case_page(request: Request, state: State, subject: CurrentSubject, person_id: str, purpose: str = SUPPORT,
              saved: str = "") -> Response:
    return _page(request, state, subject, person_id, _purpose(state, purpose), saved=saved)


@refills("/children/{person_id}/case/status", "/children/{person_id}/case/owner", "/children/{person_id}/contacts",
         "/children/{person_id}/meetings", "/children/{person_id}/ledger", "/children/{person_id}/ledger/review")
def _case_again(request: Request, form: FormState) -> Response:
    purpose = form.value(form.action, "purpose", SUPPORT)
    return _page(request, request.app.state.tsunagu, request.state.account.subject, request.path_params["person_id"],
                 purpose if purpose in CASE_PURPOSES else SUPPORT, form=form)


@router.post("/children/{person_id}/case/status", dependencies=[CsrfForm])
def case_status(state: State, subject: CurrentSubject, person_id: str,
                status_to: Annotated[str, Form(alias="status")], reason: Annotated[str, Form()] = "",
                purpose: Annotated[str, Form()] = SUPPORT) -> Response:
    purpose = _purpose(state, purpose)
    with state.unit() as session:
        status.change_status(session, subject, purpose, person_id, status=status_to, reason=reason,
                             cipher=state.cipher, key=state.key)
    return _back(person_id, purpose, "status")


@router.post("/children/{person_id}/case/owner", dependencies=[CsrfForm])
def case_owner(state: State, subject: CurrentSubject, person_id: str,
               owner: Annotated[str, Form()] = "", team: Annotated[str, Form()] = "",
               reason: Annotated[str, Form()] = "", purpose: Annotated[str, Form()] = SUPPORT) -> Response:
    purpose = _purpose(state, purpose)
    with state.unit() as session:
        status.assign_owner(session, subject, purpose, person_id, owner=owner, team=team, reason=reason,
                            cipher=state.cipher, key=state.key)
    return _back(person_id, purpose, "owner")


@router.post("/children/{person_id}/contacts", dependencies=[CsrfForm])
def contact_add(state: State, subject: CurrentSubject, person_id: str,
                contact_on: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
                staff: Annotated[str, Form()] = "", counterpart: Annotated[str, Form()] = "",
                summary_text: Annotated[str, Form(alias="summary")] = "",
                purpose: Annotated[str, Form()] = SUPPORT) -> Response:
    purpose = _purpose(state, purpose)
    on = _required(contact_on, "連絡日", "contact_on")
    with state.unit() as session:
        records.record_contact(session, subject, purpose, person_id, contact_on=on, kind=kind,
                               staff=staff or subject.user_id, counterpart=counterpart, summary=summary_text,
                               cipher=state.cipher, key=state.key)
    return _back(person_id, purpose, "contact")


@router.post("/children/{person_id}/meetings", dependencies=[CsrfForm])
async def meeting_add(request: Request, state: State, subject: CurrentSubject, person_id: str) -> Response:
    # The attendee rows are numbered fields, read from the form as a whole; the work itself runs in the
    # thread pool like every other (synchronous) route, not on the event loop.
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    return await run_in_threadpool(_meeting_add, state, subject, person_id, values)


def _meeting_add(state: AppState, subject: Subject, person_id: str, values: dict[str, str]) -> Response:
    purpose = _purpose(state, values.get("purpose", SUPPORT))
    lines = [(values.get(f"agency_{i}", ""), values.get(f"people_{i}", ""), values.get(f"role_{i}", ""))
             for i in range(1, ATTENDEE_ROWS + 1)]
    attendees = records.parse_attendees(lines)
    held = _required(values.get("held_on", ""), "開催日", "held_on")
    following = _date(values.get("next_review_on", ""), "次回の見直し日", "next_review_on")
    with state.unit() as session:
        records.record_meeting(session, subject, purpose, person_id, held_on=held, attendees=attendees,
                               decisions=values.get("decisions", ""), next_review_on=following,
                               cipher=state.cipher, key=state.key)
    return _back(person_id, purpose, "meeting")


# The ledger's two forms, registering and each review: the day each asks for (field, label).
LEDGER_DAYS = {"ledger": ("registered_on", "登録日"), "review": ("reviewed_on", "確認した日")}


# Decorators apply from the bottom: /ledger is registered first, as the forms are used.
@router.post("/children/{person_id}/ledger/review", dependencies=[CsrfForm])
@router.post("/children/{person_id}/ledger", dependencies=[CsrfForm])
def ledger_record(request: Request, state: State, subject: CurrentSubject, person_id: str,
                  category: Annotated[str, Form()] = "", lead_agency: Annotated[str, Form()] = "",
                  registered_on: Annotated[str, Form()] = "", reviewed_on: Annotated[str, Form()] = "",
                  next_review_on: Annotated[str, Form()] = "", close: Annotated[str, Form()] = "",
                  purpose: Annotated[str, Form()] = SUPPORT) -> Response:
    """The 要対協 進行管理台帳: registering the child (``/ledger``) or recording a review, closing
    included (``/ledger/review``); each refusal comes back beside its field."""
    purpose = _purpose(state, purpose)
    saved = "review" if request.url.path.endswith("/review") else "ledger"
    field, label = LEDGER_DAYS[saved]
    day = _required(reviewed_on if saved == "review" else registered_on, label, field)
    following = _date(next_review_on, "次回の確認日", "next_review_on")
    with state.unit() as session:
        if saved == "review":
            ledger_svc.review(session, subject, purpose, person_id, reviewed_on=day, next_review_on=following,
                              lead_agency=lead_agency, close=close == "yes", cipher=state.cipher, key=state.key)
        else:
            ledger_svc.register(session, subject, purpose, person_id, category=category, lead_agency=lead_agency,
                                registered_on=day, next_review_on=following, cipher=state.cipher, key=state.key)
    return _back(person_id, purpose, saved)


def _font() -> None:
    try:
        register_font()  # before the read: a summary that cannot be rendered is not recorded as printed
    except FontMissingError as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from exc


@router.get("/children/{person_id}/case-summary.pdf")
def case_summary_pdf(state: State, subject: CurrentSubject, person_id: str, purpose: str = SUPPORT) -> Response:
    purpose = _purpose(state, purpose)
    _font()
    with state.reading() as session:
        data = case_summary(session, subject, purpose, person_id, nodes=state.nodes(), cipher=state.cipher,
                            key=state.key)
    return Response(render_case_summary(data), media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="case-summary.pdf"'})


def _worklist(request: Request, state: State, subject: CurrentSubject, kind: str, purpose: str, page: int) -> Response:
    purpose = _purpose(state, purpose)
    with state.reading() as session:
        found = worklists.worklist(session, subject, kind, purpose, key=state.key, nodes=state.nodes(), page=page)
    return render(request, state, "worklist.html", work=found, rows=found.rows, kind=kind, kinds=worklists.KINDS,
                  purpose=purpose)


Page = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/cases/mine")
def cases_mine(request: Request, state: State, subject: CurrentSubject, purpose: str = SUPPORT,
               page: Page = 1) -> Response:
    return _worklist(request, state, subject, "mine", purpose, page)


@router.get("/cases/unassigned")
def cases_unassigned(request: Request, state: State, subject: CurrentSubject, purpose: str = SUPPORT,
               page: Page = 1) -> Response:
    return _worklist(request, state, subject, "unassigned", purpose, page)


@router.get("/cases/overdue")
def cases_overdue(request: Request, state: State, subject: CurrentSubject, purpose: str = SUPPORT,
               page: Page = 1) -> Response:
    return _worklist(request, state, subject, "overdue", purpose, page)


def _meeting_day(meeting_on: str) -> date:
    return _date(meeting_on, "実務者会議の開催日", "meeting_on") or datetime.now(UTC).date() + timedelta(days=AGENDA_DEFAULT_DAYS)


@router.get("/ledger")
def ledger_page(request: Request, state: State, subject: CurrentSubject, meeting_on: str = "",
                closed: bool = False, purpose: str = SUPPORT) -> Response:
    purpose = _purpose(state, purpose)
    day = _meeting_day(meeting_on)
    with state.reading() as session:
        rows = ledger_svc.ledger(session, subject, purpose, include_closed=closed, key=state.key, nodes=state.nodes())
    due = [r for r in rows if r.closed_on is None and r.next_review_on <= day]
    return render(request, state, "ledger.html", rows=rows, due=due, meeting_on=day.isoformat(), closed=closed,
                  overdue=sum(r.overdue for r in rows), purpose=purpose)


@router.get("/ledger/agenda.pdf")
def ledger_agenda(state: State, subject: CurrentSubject, meeting_on: str = "", purpose: str = SUPPORT) -> Response:
    purpose = _purpose(state, purpose)
    day = _meeting_day(meeting_on)
    _font()
    with state.reading() as session:
        rows = agenda(session, subject, purpose, day, nodes=state.nodes(), key=state.key)
    pdf = render_agenda(rows, day, state.settings.municipality_name or "", datetime.now(UTC))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="agenda-{day.isoformat()}.pdf"'})

"""個人情報保護: audit search, a person's access history, verification, suspensions of use."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from tsunagu.privacy import Subject
from tsunagu.privacy.audit import EVENT_LABELS, OUTCOME_LABELS
from tsunagu.privacy.policy import JST
from tsunagu.web.deps import CsrfForm, CurrentSubject, State, render
from tsunagu.web.forms import NO_FORM, FormState, refills
from tsunagu.web.state import AppState
from tsunagu.work.errors import Invalid
from tsunagu.work.models import User
from tsunagu.work.oversight import history, search_page, verify_log
from tsunagu.work.suspensions import lift, list_suspensions, suspend

router = APIRouter(include_in_schema=False)
PER_PAGE = 20  # a page a person reads, not a dump: about three screens


def _day(text: str, field: str, next_day: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("日付は YYYY-MM-DD で入力してください。", field=field) from exc
    start = datetime(day.year, day.month, day.day, tzinfo=JST)
    return start + timedelta(days=1) if next_day else start  # "until" includes its whole day


def _page(request: Request, state: AppState, subject: Subject, *, person: str = "", actor: str = "",
          action: str = "", since: str = "", until: str = "", page: int = 1, limit: int = PER_PAGE,
          report: object = None, saved: str = "", form: FormState = NO_FORM) -> Response:
    with state.unit() as session:
        log = search_page(session, subject, person_id=person or None, actor=actor or None, action=action or None,
                          since=_day(since, "since"), until=_day(until, "until", next_day=True), page=page,
                          per_page=min(max(limit, 10), 200), key=state.key)
        suspensions = list_suspensions(session, subject, key=state.key) \
            if state.hub.policy.allows(subject, "requests.handle", "disclosure_handling", relationship="municipality") else None
        people = {uid: name for uid, name in session.execute(select(User.user_id, User.display_name))}
    policy = state.hub.policy
    action_labels = {**{k: a.label for k, a in policy.actions.items()}, **EVENT_LABELS}
    query = {"person": person, "actor": actor, "action": action, "since": since, "until": until}
    return render(request, state, "privacy.html", log=log, entries=log.entries, suspensions=suspensions,
                  report=report, person=person, actor=actor, action=action, since=since, until=until, saved=saved,
                  action_labels=action_labels, people=people, query={k: v for k, v in query.items() if v},
                  role_labels={k: r.label for k, r in policy.roles.items()}, purpose_labels_all=policy.purposes,
                  outcome_labels=OUTCOME_LABELS, form=form)


@router.get("/privacy")
def privacy_page(request: Request, state: State, subject: CurrentSubject, person: str = "", actor: str = "",
                 action: str = "", since: str = "", until: str = "", page: int = 1, limit: int = PER_PAGE,
                 saved: str = "") -> Response:
    return _page(request, state, subject, person=person, actor=actor, action=action, since=since, until=until,
                 page=page, limit=limit, saved=saved)


@router.post("/privacy/verify", dependencies=[CsrfForm])
def privacy_verify(request: Request, state: State, subject: CurrentSubject) -> Response:
    with state.unit() as session:
        report = verify_log(session, subject, key=state.key)
    return _page(request, state, subject, report=report)


@router.get("/privacy/history/{person_id}")
def access_history_page(request: Request, state: State, subject: CurrentSubject, person_id: str) -> Response:
    with state.unit() as session:
        records = history(session, subject, person_id, key=state.key)
    return render(request, state, "access_history.html", person_id=person_id, records=records)


@refills("/privacy/suspensions")
def _suspension_again(request: Request, form: FormState) -> Response:
    return _page(request, request.app.state.tsunagu, request.state.account.subject, form=form)


@router.post("/privacy/suspensions", dependencies=[CsrfForm])
def suspension_add(state: State, subject: CurrentSubject, person_id: Annotated[str, Form()] = "",
                   reason: Annotated[str, Form()] = "") -> Response:
    with state.unit() as session:
        suspend(session, subject, person_id.strip(), reason, key=state.key)
    return RedirectResponse("/privacy?saved=suspended", status_code=303)


@router.post("/privacy/suspensions/{person_id}/lift", dependencies=[CsrfForm])
def suspension_lift(state: State, subject: CurrentSubject, person_id: str) -> Response:
    with state.unit() as session:
        lift(session, subject, person_id, key=state.key)
    return RedirectResponse(f"/privacy?saved=lifted&person={quote(person_id)}", status_code=303)

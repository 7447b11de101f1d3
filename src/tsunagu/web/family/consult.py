"""相談する: a guardian's consultation threads with the family centre, inside the portal.

The services are the channel's own (``work.voice.guardian`` over ``work.voice.threads``). Each
request asks the register again who the guardian's children are (``children_of``), so the list of
children a thread can be about, and the consent to link it, always follow the household today.
A thread id in the address that is not the guardian's own thread is refused and recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.web.deps import RowId
from tsunagu.web.family.deps import Csrf, FState, SignedIn, page
from tsunagu.web.family.routes import children_now
from tsunagu.web.family.session import PREFIX
from tsunagu.work.errors import Invalid
from tsunagu.work.family.household import Child, relationship_to
from tsunagu.work.voice import guardian as consult
from tsunagu.work.voice.config import in_office_hours, voice_settings

router = APIRouter()
BASE = f"{PREFIX}/consult"


WEEKDAYS = "月火水木金土日"


def _days(days: list[int]) -> str:
    """The answering days from the settings, as a person reads them (月曜日〜金曜日, or 月・水・金曜日)."""
    ordered = sorted(set(days))
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAYS[ordered[0]]}曜日〜{WEEKDAYS[ordered[-1]]}曜日"
    return "・".join(WEEKDAYS[d] for d in ordered) + "曜日"


def _hours() -> dict[str, object]:
    settings = voice_settings()
    return {"open_now": in_office_hours(settings, datetime.now(UTC)), "hours": settings.office_hours,
            "hotlines": settings.hotlines, "days": _days(settings.office_hours.days)}


def _names(children: list[Child]) -> dict[str, str]:
    return {c.person_id: c.name for c in children}


def _list_page(request: Request, fstate: FState, guardian: SignedIn, *, status: int = 200, text: str = "",
               about: str = "", error: str = "") -> Response:
    with fstate.app.unit() as session:
        children = children_now(session, fstate, guardian)
        mine = consult.my_threads(session, guardian.subject, key=fstate.app.hub.signing_key)
    return page(request, "family/consult.html", status, threads=mine, children=children, names=_names(children),
                typed_text=text, about=about, error=error, **_hours())


@router.get("/consult")
def consult_list(request: Request, fstate: FState, guardian: SignedIn) -> Response:
    return _list_page(request, fstate, guardian)


@router.post("/consult", dependencies=[Csrf])
def consult_start(request: Request, fstate: FState, guardian: SignedIn,
                  text: Annotated[str, Form(max_length=4000)] = "",
                  about: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        with fstate.app.unit() as session:
            children = children_now(session, fstate, guardian)
            thread = consult.start(session, guardian.subject, text, cipher=fstate.app.cipher, about=about or None,
                                   about_relationship=relationship_to(children, about),
                                   key=fstate.app.hub.signing_key)
            thread_id = thread.id
    except Invalid as exc:
        return _list_page(request, fstate, guardian, status=exc.status, text=text, about=about, error=exc.message)
    return RedirectResponse(f"{BASE}/{thread_id}?sent=1", status_code=303)


def _thread_page(request: Request, fstate: FState, guardian: SignedIn, thread_id: int, *, status: int = 200,
                 text: str = "", error: str = "") -> Response:
    with fstate.app.unit() as session:
        children = children_now(session, fstate, guardian)
        thread, lines = consult.read(session, guardian.subject, thread_id, cipher=fstate.app.cipher,
                                     key=fstate.app.hub.signing_key)
        about = thread.about_person_id
        consented, linked, closed = thread.consent_at is not None, thread.linked_person_id is not None, \
            thread.status == "closed"
        urgent = thread.urgent
    names = _names(children)
    return page(request, "family/consult_thread.html", status, thread_id=thread_id, lines=lines,
                about_name=names.get(about) if about else None, has_about=about is not None,
                consented=consented, linked=linked, closed=closed, urgent=urgent, typed_text=text, error=error,
                sent=request.query_params.get("sent") == "1", **_hours())


@router.get("/consult/{thread_id}")
def consult_thread(request: Request, fstate: FState, guardian: SignedIn, thread_id: RowId) -> Response:
    return _thread_page(request, fstate, guardian, thread_id)


@router.post("/consult/{thread_id}", dependencies=[Csrf])
def consult_write(request: Request, fstate: FState, guardian: SignedIn, thread_id: RowId,
                  text: Annotated[str, Form(max_length=4000)] = "") -> Response:
    try:
        with fstate.app.unit() as session:
            consult.write(session, guardian.subject, thread_id, text, cipher=fstate.app.cipher,
                          key=fstate.app.hub.signing_key)
    except Invalid as exc:
        return _thread_page(request, fstate, guardian, thread_id, status=exc.status, text=text, error=exc.message)
    return RedirectResponse(f"{BASE}/{thread_id}?sent=1", status_code=303)


@router.post("/consult/{thread_id}/consent", dependencies=[Csrf])
def consult_consent(request: Request, fstate: FState, guardian: SignedIn, thread_id: RowId) -> Response:
    try:
        with fstate.app.unit() as session:
            children = children_now(session, fstate, guardian)
            consult.consent(session, guardian.subject, thread_id, own_children={c.person_id for c in children},
                            key=fstate.app.hub.signing_key)
    except Invalid as exc:
        return _thread_page(request, fstate, guardian, thread_id, status=exc.status, error=exc.message)
    return RedirectResponse(f"{BASE}/{thread_id}", status_code=303)

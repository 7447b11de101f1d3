"""The portal's pages: sign-in, enrolment, the children, health records, access history, requests.

Every page about a child first asks the register who the guardian's children are now
(``children_of``), then decides and records the read with ``own_child`` only for those — so a
child id typed into the address bar that is not the guardian's is refused, and the refusal is on
record like a staff refusal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tsunagu.privacy.policy import JST
from tsunagu.web.family.deps import CHILD_MENU, Csrf, FState, SignedIn, page
from tsunagu.web.family.session import PRE_COOKIE, PREFIX, FamilySession
from tsunagu.web.security import client_address, new_token, same_token
from tsunagu.work.errors import Invalid, WorkError
from tsunagu.work.family import accounts
from tsunagu.work.family.accounts import FamilySignInFailed, Guardian
from tsunagu.work.family.health import HealthView, health_records
from tsunagu.work.family.history import WITHHELD_EASY, child_history
from tsunagu.work.family.household import Child, children_of, relationship_to
from tsunagu.work.family.requests import KIND_EASY, ONLINE_KINDS, file_request, filed_requests
from tsunagu.work.rights.corrections import CorrectionClaim
from tsunagu.work.rights.deadlines import default_periods

router = APIRouter()


def _ip(request: Request, fstate: FState) -> str:
    return client_address(request.client.host if request.client else None, request.headers.get("x-forwarded-for"),
                          fstate.app.proxies)


def _safe_next(target: str | None) -> str:
    # Only a portal page: never a staff page, never another site.
    if target and target.startswith(PREFIX + "/") and "//" not in target and "\\" not in target:
        return target
    return f"{PREFIX}/"


def _form_page(request: Request, fstate: FState, template: str, status: int = 200, **context: object) -> Response:
    token = new_token()
    response = page(request, template, status, form_csrf=token, **context)
    response.set_cookie(PRE_COOKIE, fstate.signer.pre_cookie(token), httponly=True, samesite="strict",
                        secure=fstate.app.secure_cookies, path=PREFIX)
    return response


def _pre_ok(request: Request, fstate: FState, token: str) -> bool:
    return same_token(token, fstate.signer.read_pre(request.cookies.get(PRE_COOKIE)))


def _start(request: Request, guardian: Guardian, target: str) -> Response:
    request.state.family_new = FamilySession(guardian.account_id, guardian.session_epoch, new_token())
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(PRE_COOKIE, path=PREFIX)
    return response


@router.get("/login")
def login_page(request: Request, fstate: FState, next: str | None = None) -> Response:
    return _form_page(request, fstate, "family/login.html", next_path=_safe_next(next), login_id="", message="")


@router.post("/login")
def login(request: Request, fstate: FState, login_id: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=256)] = "", csrf_token: Annotated[str, Form()] = "",
          next_path: Annotated[str, Form()] = "") -> Response:
    login_id = login_id.strip().upper()
    if not _pre_ok(request, fstate, csrf_token):
        return _form_page(request, fstate, "family/login.html", 403, next_path=_safe_next(next_path),
                          login_id=login_id, message="画面を開いてから時間がたちました。もう一度入れてください。")
    ip = _ip(request, fstate)
    try:
        with fstate.app.read_factory() as reading:
            password_hash = accounts.read_hash(reading, login_id, ip)
        ok = accounts.check_hash(password_hash, password)  # argon2 outside any transaction
        with fstate.app.unit() as session:  # committed on failure too: the attempt counts toward the lock
            guardian = accounts.record_sign_in(session, login_id, password_hash, ok, ip)
    except FamilySignInFailed as exc:
        return _form_page(request, fstate, "family/login.html", exc.status, next_path=_safe_next(next_path),
                          login_id=login_id, message=exc.message)
    return _start(request, guardian, _safe_next(next_path))


@router.get("/enrol")
def enrol_page(request: Request, fstate: FState) -> Response:
    return _form_page(request, fstate, "family/enrol.html", login_id="", errors={})


@router.post("/enrol")
def enrol(request: Request, fstate: FState, login_id: Annotated[str, Form(max_length=64)] = "",
          code: Annotated[str, Form(max_length=64)] = "", password: Annotated[str, Form(max_length=256)] = "",
          password_again: Annotated[str, Form(max_length=256)] = "",
          csrf_token: Annotated[str, Form()] = "") -> Response:
    login_id = login_id.strip().upper()
    if not _pre_ok(request, fstate, csrf_token):
        return _form_page(request, fstate, "family/enrol.html", 403, login_id=login_id,
                          errors={"form": "画面を開いてから時間がたちました。もう一度入れてください。"})
    try:
        with fstate.app.unit() as session:  # a failed code is committed: it counts toward the lock
            guardian = accounts.enrol(session, login_id, code, password, password_again, _ip(request, fstate))
    except Invalid as exc:
        return _form_page(request, fstate, "family/enrol.html", exc.status, login_id=login_id,
                          errors={"password": exc.message})
    except FamilySignInFailed as exc:
        return _form_page(request, fstate, "family/enrol.html", exc.status, login_id=login_id,
                          errors={"code": exc.message})
    return _start(request, guardian, f"{PREFIX}/?welcome=1")


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, fstate: FState, guardian: SignedIn) -> Response:
    with fstate.app.unit() as session:
        accounts.end_sessions(session, guardian.account_id)
    request.state.family_end = True
    return RedirectResponse(f"{PREFIX}/login", status_code=303)


def _today() -> datetime:
    return datetime.now(UTC)


def _children(session: Session, fstate: FState, guardian: Guardian) -> list[Child]:
    hub = fstate.app.hub
    return children_of(session, guardian.subject, guardian.register_id, nodes=hub.nodes(), manifests=hub.manifests,
                       today=_today().astimezone(JST).date(), key=hub.signing_key)


# The consultation pages (``consult.py``) ask the register the same way.
children_now = _children


def _child(children: list[Child], person_id: str) -> Child:
    """The child if the register shows it as the guardian's; else a stand-in the policy will refuse."""
    for child in children:
        if child.person_id == person_id:
            return child
    return Child(person_id, "", None, None, "")


@router.get("/")
def home(request: Request, fstate: FState, guardian: SignedIn, welcome: int = 0) -> Response:
    with fstate.app.unit() as session:
        children = _children(session, fstate, guardian)
    return page(request, "family/home.html", children=children, welcome=bool(welcome), login_id=guardian.login_id)


def _tabs(person_id: str) -> list[tuple[str, str]]:
    return [(f"{PREFIX}/children/{person_id}{entry.path}", entry.label) for entry in CHILD_MENU]


@router.get("/children/{person_id}")
def health_page(request: Request, fstate: FState, guardian: SignedIn, person_id: str) -> Response:
    hub = fstate.app.hub
    with fstate.app.unit() as session:
        children = _children(session, fstate, guardian)
        view = health_records(session, guardian.subject, _child(children, person_id),
                              relationship=relationship_to(children, person_id), nodes=hub.nodes(),
                              manifests=hub.manifests, today=_today().astimezone(JST).date(), key=hub.signing_key)
    return page(request, "family/health.html", view=view, child=view.child, tabs=_tabs(person_id))


@router.get("/children/{person_id}/history")
def history_page(request: Request, fstate: FState, guardian: SignedIn, person_id: str) -> Response:
    hub = fstate.app.hub
    with fstate.app.unit() as session:
        children = _children(session, fstate, guardian)
        view = child_history(session, guardian.subject, person_id, relationship=relationship_to(children, person_id),
                             manifests=hub.manifests, key=hub.signing_key)
    return page(request, "family/history.html", view=view, child=_child(children, person_id), tabs=_tabs(person_id),
                withheld_easy=WITHHELD_EASY)


def _requests_page(request: Request, fstate: FState, guardian: SignedIn, person_id: str, *, status: int = 200,
                   form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                   filed: int | None = None) -> Response:
    hub = fstate.app.hub
    with fstate.app.unit() as session:
        children = _children(session, fstate, guardian)
        rel = relationship_to(children, person_id)
        mine = filed_requests(session, guardian.subject, person_id, relationship=rel, key=hub.signing_key)
        health: HealthView = health_records(session, guardian.subject, _child(children, person_id), relationship=rel,
                                            nodes=hub.nodes(), manifests=hub.manifests,
                                            today=_today().astimezone(JST).date(), key=hub.signing_key)
    periods = {k: default_periods().of(k) for k in ONLINE_KINDS}
    return page(request, "family/requests.html", status, child=health.child, tabs=_tabs(person_id), requests=mine,
                records=health.records, kinds=ONLINE_KINDS, periods=periods, kind_easy=KIND_EASY,
                form=form or {}, errors=errors or {}, filed=filed)


@router.get("/children/{person_id}/requests")
def requests_page(request: Request, fstate: FState, guardian: SignedIn, person_id: str, filed: int | None = None,
                  ) -> Response:
    return _requests_page(request, fstate, guardian, person_id, filed=filed)


@router.post("/children/{person_id}/requests", dependencies=[Csrf])
def file_page(request: Request, fstate: FState, guardian: SignedIn, person_id: str,
              kind: Annotated[str, Form(max_length=20)] = "", record: Annotated[str, Form(max_length=300)] = "",
              claimed_value: Annotated[str, Form(max_length=600)] = "",
              note: Annotated[str, Form(max_length=600)] = "") -> Response:
    hub = fstate.app.hub
    form = {"kind": kind, "record": record, "claimed_value": claimed_value, "note": note}
    claim = None
    if kind == "correction":
        source, _, rest = record.partition("|")
        local_id, _, item = rest.partition("|")
        if not (source and local_id and item):
            return _requests_page(request, fstate, guardian, person_id, status=422, form=form,
                                  errors={"record": "なおしてほしい記録を選んでください。"})
        if not claimed_value.strip():
            return _requests_page(request, fstate, guardian, person_id, status=422, form=form,
                                  errors={"claimed_value": "正しい内容を書いてください。"})
        claim = CorrectionClaim(source, local_id, item, claimed_value)
    try:
        with fstate.app.unit() as session:
            children = _children(session, fstate, guardian)
            filed = file_request(session, guardian.subject, person_id, kind,
                                 relationship=relationship_to(children, person_id), note=note, claim=claim,
                                 manifests=hub.manifests, key=hub.signing_key)
    except WorkError as exc:
        if exc.status == 403:
            raise
        field = "note" if "ひとこと" in exc.message else ("record" if kind == "correction" else "kind")
        return _requests_page(request, fstate, guardian, person_id, status=exc.status, form=form,
                              errors={field: exc.message})
    return RedirectResponse(f"{PREFIX}/children/{person_id}/requests?filed={filed.number}", status_code=303)

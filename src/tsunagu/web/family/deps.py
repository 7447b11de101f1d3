"""The portal's request dependencies: its state, the signed-in guardian, CSRF, the menu, rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse

from tsunagu.errors import TsunaguError
from tsunagu.web.family.session import PREFIX, FamilySession, FamilySigner
from tsunagu.web.security import same_token
from tsunagu.web.state import AppState
from tsunagu.work.family.accounts import Guardian, get_guardian


@dataclass(frozen=True)
class MenuEntry:
    path: str
    label: str


# The portal's menu: one list. A new part of the portal (e.g. the consultation channel) adds its
# entry here and its router in ``routes.py``; every page shows the same menu.
MENU: list[MenuEntry] = [
    MenuEntry(f"{PREFIX}/", "お子さん（ホーム）"),
    MenuEntry(f"{PREFIX}/consult", "相談する"),
]
# The pages of one child, shown as tabs on each of them: (path after /family/children/<id>, label).
CHILD_MENU: list[MenuEntry] = [
    MenuEntry("", "健診・予防接種"),
    MenuEntry("/history", "だれが見たか"),
    MenuEntry("/requests", "請求（開示・訂正・利用停止）"),
]


class FamilyAuthRequired(TsunaguError):
    """No valid guardian session: the page goes to the portal's own sign-in."""

    code = "family_unauthenticated"
    status = 401


class FamilyCsrfFailed(TsunaguError):
    code = "family_csrf"
    status = 403


@dataclass
class FamilyState:
    app: AppState
    signer: FamilySigner


def family_state(request: Request) -> FamilyState:
    found: FamilyState = request.app.state.family
    return found


FState = Annotated[FamilyState, Depends(family_state)]


def family_session(request: Request) -> FamilySession | None:
    found: FamilySession | None = getattr(request.state, "family_session", None)
    return found


def current_guardian(request: Request, fstate: FState) -> Guardian:
    session = family_session(request)
    if session is None:
        raise FamilyAuthRequired()
    with fstate.app.read_factory() as db:
        guardian = get_guardian(db, session.account_id)
    if guardian is None or guardian.session_epoch != session.epoch:
        raise FamilyAuthRequired()
    request.state.guardian = guardian
    return guardian


SignedIn = Annotated[Guardian, Depends(current_guardian)]


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    session = family_session(request)
    if session is None or not same_token(csrf_token, session.csrf):
        raise FamilyCsrfFailed()


Csrf = Depends(check_csrf)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    fstate: FamilyState = request.app.state.family
    session = family_session(request)
    guardian = getattr(request.state, "guardian", None)
    base = fstate.app.render_context(
        signed_in=guardian is not None, csrf_token=session.csrf if session is not None else "",
        menu=MENU if guardian is not None else [], current_path=request.url.path, prefix=PREFIX,
    )
    return fstate.app.templates.TemplateResponse(request, template, {**base, **context}, status_code=status)

"""Sign-in at ``/`` (argon2, throttled), sign-out. The only pages open without a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.web.deps import AuthRequired, CsrfForm, State, User, current_user, render
from tsunagu.web.security import PRE_SESSION_COOKIE, WebSession, client_address, new_token, same_token
from tsunagu.work.users import (
    Account,
    LoginFailed,
    LoginLocked,
    check_password_hash,
    end_sessions,
    read_credentials,
    record_sign_in,
)

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an open redirect would turn the sign-in page into a phishing aid.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


def _login_page(request: Request, state: State, next_path: str, message: str = "", status: int = 200) -> Response:
    token = new_token()
    response = render(request, state, "login.html", status_code=status, next_path=next_path, message=message,
                      login_csrf=token)
    response.set_cookie(PRE_SESSION_COOKIE, state.signer.pre_session_cookie(token), httponly=True,
                        samesite="strict", secure=state.secure_cookies, path="/")
    return response


@router.get("/")
def sign_in_page(request: Request, state: State, next: str | None = None) -> Response:
    try:
        current_user(request, state)
        return RedirectResponse(_safe_next(next), status_code=303)
    except AuthRequired:  # not signed in (or the session ended): show the form
        return _login_page(request, state, _safe_next(next))


@router.post("/login")
def sign_in(
    request: Request, state: State, user_id: Annotated[str, Form()], password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "", next_path: Annotated[str, Form()] = "/dashboard",
) -> Response:
    expected = state.signer.read_pre_session(request.cookies.get(PRE_SESSION_COOKIE))
    if not same_token(csrf_token, expected):
        return _login_page(request, state, _safe_next(next_path),
                           "フォームの有効期限が切れました。もう一度サインインしてください。", 403)
    ip = client_address(request.client.host if request.client else None, request.headers.get("x-forwarded-for"),
                        state.proxies)
    failure: LoginFailed | None = None
    account: Account | None = None
    user_id = user_id.strip()
    try:
        with state.read_factory() as reading:
            password_hash = read_credentials(reading, user_id, ip)
    except LoginLocked as exc:
        failure = exc
    else:
        # argon2 outside any transaction: a sign-in must not hold every other request's audit entries up
        check = check_password_hash(user_id, password_hash, password)
        with state.unit() as session:  # committed on failure too: the attempt counts toward the lock
            try:
                account = record_sign_in(session, check, ip)
            except LoginFailed as exc:
                failure = exc
    if failure is not None or account is None:
        failure = failure or LoginFailed()
        status = 429 if isinstance(failure, LoginLocked) else 401
        return _login_page(request, state, _safe_next(next_path), failure.message, status)
    request.state.new_session = WebSession(account.user_id, account.session_epoch, new_token())
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/logout", dependencies=[CsrfForm])
def sign_out(request: Request, state: State, account: User) -> Response:
    with state.unit() as session:
        end_sessions(session, account.user_id)  # every cookie of this account ends, not only this one
    request.state.end_session = True
    return RedirectResponse("/", status_code=303)

"""One error shape for the API, ``{"error": {"code", "message"}}``, and Japanese error pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from tsunagu.errors import TsunaguError
from tsunagu.privacy.policy import DENY_RELATIONSHIP
from tsunagu.web.boundary import ControlCharacterError, refill_values
from tsunagu.web.deps import (
    FIELD_LABELS,
    AuthRequired,
    CsrfFailed,
    check_csrf_form,
    current_user,
    render,
    validation_message,
)
from tsunagu.web.forms import CSRF_FIELD, refill_page, state_for
from tsunagu.web.state import AppState
from tsunagu.work.errors import NotFound, Refused, WorkError

HTTP_MESSAGES = {
    400: "リクエストが正しくありません。", 401: "サインインしてください。", 403: "この操作は許可されていません。",
    404: "ページが見つかりません。", 405: "この方法では使えません。", 422: "入力が正しくありません。",
}
INTERNAL_MESSAGE = "エラーが発生しました。"


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_json(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _page(request: Request, status: int, title: str, message: str, refused: Refused | None = None) -> Response:
    state: AppState = request.app.state.tsunagu
    if request.url.path.startswith("/kodomo"):  # a child's page: their own plain page, nothing of the staff app
        return state.templates.TemplateResponse(request, "kodomo/error.html", {
            "municipality": state.settings.municipality_name or "", "child": None}, status_code=status)
    account = getattr(request.state, "account", None)
    # Offer break-glass only where it could work: a child's page, refused for the relationship
    # alone, to a role the policy lets break the glass.
    may_break_glass = (
        refused is not None and refused.decision is not None and refused.decision.rule == DENY_RELATIONSHIP
        and account is not None and state.hub.policy.role(account.role).break_glass
        and request.method == "GET" and "person_id" in request.path_params and not is_api(request)
    )
    return render(request, state, "error.html", status_code=status, title=title, message=message, refused=refused,
                  may_break_glass=may_break_glass)


def _refill(request: Request, message: str, field: str | None = None,
            field_errors: dict[str, str] | None = None, refused: bool = False) -> Response | None:
    """The form's own page again, filled in, the message beside the field (``web/forms.py``); None
    when the request is no form with a page to come back to, or the page itself cannot be shown."""
    page = refill_page(request, refused)
    if page is None or getattr(request.state, "account", None) is None:
        return None
    try:
        response = page(request, state_for(request, message, field, field_errors))
    except (TsunaguError, ValueError, LookupError):
        return None  # e.g. the page's own read is refused now, or its path names nothing: the error page says why
    response.status_code = 403 if refused else 422
    return response


async def _checked_before_refill(request: Request) -> bool:
    """The boundary's rule (``web/boundary.py``) refuses before the route's own dependencies run: the
    sign-in and the form's CSRF token are checked here as the route would have, before the page comes
    back filled in — without the refused characters."""
    if refill_page(request) is None:
        return False
    try:
        current_user(request, request.app.state.tsunagu)
        token = (await request.form()).get(CSRF_FIELD)
        await check_csrf_form(request, token if isinstance(token, str) else "")
    except TsunaguError:
        return False
    request.state.form_values = refill_values(request.state.form_values)
    return True


def install(app: FastAPI) -> None:
    @app.exception_handler(AuthRequired)
    async def _auth(request: Request, _exc: AuthRequired) -> Response:
        if is_api(request):
            return error_json(401, "unauthenticated", "サインインしてください（セッションが切れた可能性があります）。")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        message = "フォームの有効期限が切れたか、不正な送信です。画面を開き直してからやり直してください。"
        if is_api(request):
            return error_json(403, "csrf", message)
        return _page(request, 403, "送信できませんでした", message)

    @app.exception_handler(WorkError)
    async def _work(request: Request, exc: WorkError) -> Response:
        if is_api(request):
            return error_json(exc.status, exc.code, exc.message)
        refused = exc if isinstance(exc, Refused) else None
        if not isinstance(exc, NotFound):
            again = _refill(request, exc.message, getattr(exc, "field", None), refused=refused is not None)
            if again is not None:
                return again
        title = "許可されていません" if refused is not None else "処理できませんでした"
        return _page(request, exc.status, title, exc.message, refused)

    @app.exception_handler(TsunaguError)
    async def _tsunagu(request: Request, exc: TsunaguError) -> Response:
        # Any other error of ours: its code and status; its Japanese message unless it is our fault
        # (a 5xx), whose details belong in the log, not on a page.
        message = exc.message_ja if exc.status < 500 else INTERNAL_MESSAGE
        if is_api(request):
            return error_json(exc.status, exc.code, message)
        if exc.status < 500 and not isinstance(exc, AuthRequired | CsrfFailed) and (
                not isinstance(exc, ControlCharacterError) or await _checked_before_refill(request)):
            again = _refill(request, message, getattr(exc, "field", None))
            if again is not None:
                return again
        return _page(request, exc.status, "処理できませんでした", message)

    async def _validation(request: Request, exc: Exception) -> Response:
        # One handler for the request's own validation and for a model a route builds from it
        # (pydantic.ValidationError): a 422 page or the API's error shape, never a traceback.
        errors = exc.errors() if isinstance(exc, RequestValidationError | ValidationError) else []
        message = validation_message(errors)
        if is_api(request):
            return error_json(422, "invalid", message)
        fields = {_field(e): _field_message(e) for e in errors if _field(e)}
        # only a form's own fields come back filled in; a bad path or query names no page to refill
        in_form = not isinstance(exc, RequestValidationError) or all(
            str((e.get("loc") or ("",))[0]) in ("body", "form") for e in errors)  # a model built from the form: its fields
        again = _refill(request, message, field_errors=fields or None) if in_form else None
        return again if again is not None else _page(request, 422, "入力が正しくありません", message)

    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ValidationError, _validation)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code, INTERNAL_MESSAGE)
        if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii():
            message = exc.detail  # our own Japanese details
        # The exception's headers go with the answer: a 405 names the methods that would do (Allow).
        response = error_json(exc.status_code, f"http_{exc.status_code}", message) if is_api(request) \
            else _page(request, exc.status_code, message, message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response


def _field(error: Any) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
    return loc[-1] if loc else ""


def _field_message(error: Any) -> str:
    label = FIELD_LABELS.get(_field(error), "この欄")
    if error.get("type") == "missing":
        return f"{label}を入力してください。"
    return f"{label}の形が正しくありません。"


# Documented in OpenAPI for every API route: the one error shape.
_ERROR_SCHEMA = {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}, "required": ["code", "message"]}},
    "required": ["error"]}}}
API_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "リクエストの形が正しくない（読めない本文など）", "content": _ERROR_SCHEMA},
    401: {"description": "サインインしていない", "content": _ERROR_SCHEMA},
    403: {"description": "アクセス方針により拒否（拒否も記録されます）", "content": _ERROR_SCHEMA},
    404: {"description": "見つからない", "content": _ERROR_SCHEMA},
    422: {"description": "入力が正しくない", "content": _ERROR_SCHEMA},
}

"""The family portal as an app of its own, mounted at ``/family`` by the staff app.

Its own middleware reads only its own cookie; its error handlers send a signed-out guardian to
``/family/login`` (never to the staff sign-in) and show refusals in words a family reads, without
the policy's rule ids. The staff routes never see a guardian session, and these routes never see
a staff one: ``tests/web/test_family_meta.py`` checks both over every route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from tsunagu.errors import TsunaguError
from tsunagu.web.boundary import BOUNDARY
from tsunagu.web.errors import HTTP_MESSAGES, INTERNAL_MESSAGE
from tsunagu.web.family import consult, routes
from tsunagu.web.family.deps import FamilyAuthRequired, FamilyCsrfFailed, FamilyState, page
from tsunagu.web.family.session import COOKIE, PREFIX, FamilySigner
from tsunagu.web.security import load_or_create_secret
from tsunagu.web.state import AppState
from tsunagu.work.errors import Refused, WorkError

REFUSED_MESSAGE = ("このページは表示できません。住民票で、あなたと同じ世帯にいるお子さんの情報だけを見ることができます。"
                   "世帯が変わったときは、市の窓口にご相談ください。")


def create_family_app(state: AppState) -> FastAPI:
    family = FamilyState(state, FamilySigner(load_or_create_secret(state.settings.home)))
    app = FastAPI(title="つなぐ 家族向けページ", openapi_url=None, docs_url=None, redoc_url=None,
                  dependencies=[BOUNDARY])  # the staff app's rule: no control characters in a request string
    app.state.family = family
    app.include_router(routes.router)
    app.include_router(consult.router)

    @app.middleware("http")
    async def family_cookie(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.family_session = family.signer.read_session(request.cookies.get(COOKIE))
        request.state.family_new = None
        request.state.family_end = False
        response = await call_next(request)
        new = request.state.family_new or (None if request.state.family_end else request.state.family_session)
        if request.state.family_end and request.state.family_new is None:
            response.delete_cookie(COOKIE, path=PREFIX)
        elif new is not None:
            response.set_cookie(COOKIE, family.signer.session_cookie(new), httponly=True, samesite="strict",
                                secure=state.secure_cookies, path=PREFIX)
        return response

    @app.exception_handler(FamilyAuthRequired)
    async def _auth(request: Request, _exc: FamilyAuthRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(FamilyCsrfFailed)
    async def _csrf(request: Request, _exc: FamilyCsrfFailed) -> Response:
        return page(request, "family/error.html", 403, title="送信できませんでした",
                    message="画面を開いてから時間がたったか、正しくない送信です。画面を開き直してから、もう一度やってください。")

    @app.exception_handler(WorkError)
    async def _work(request: Request, exc: WorkError) -> Response:
        if isinstance(exc, Refused):
            return page(request, "family/error.html", exc.status, title="表示できません", message=REFUSED_MESSAGE)
        return page(request, "family/error.html", exc.status, title="できませんでした", message=exc.message)

    @app.exception_handler(TsunaguError)
    async def _tsunagu(request: Request, exc: TsunaguError) -> Response:
        message = exc.message_ja if exc.status < 500 else INTERNAL_MESSAGE
        return page(request, "family/error.html", exc.status, title="できませんでした", message=message)

    async def _validation(request: Request, _exc: Exception) -> Response:
        return page(request, "family/error.html", 422, title="入力を確かめてください",
                    message="入っていない欄や、長すぎる入力があります。前の画面に戻って確かめてください。")

    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ValidationError, _validation)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        message = HTTP_MESSAGES.get(exc.status_code, INTERNAL_MESSAGE)
        response = page(request, "family/error.html", exc.status_code, title=message, message=message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    return app

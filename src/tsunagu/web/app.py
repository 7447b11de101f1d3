"""The staff web app: ``create_app(settings)``.

Routers are thin: they parse the request, call a ``tsunagu.work`` service (which decides and
records through the privacy core) and render. Pages are server-rendered Japanese HTML; the JSON
API under ``/api`` shares the sign-in and the permissions.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from tsunagu.config import Settings
from tsunagu.handover.api import MOUNT as HANDOVER_MOUNT
from tsunagu.handover.api import create_api as handover_api
from tsunagu.hub import Hub
from tsunagu.store.files import loose_files, loose_files_message
from tsunagu.web import errors
from tsunagu.web.api import candidates as api_candidates
from tsunagu.web.api import children as api_children
from tsunagu.web.api import resources as api_resources
from tsunagu.web.api import reviews as api_reviews
from tsunagu.web.api import search as api_search
from tsunagu.web.boundary import BOUNDARY
from tsunagu.web.family.app import create_family_app
from tsunagu.web.family.session import PREFIX as FAMILY_PREFIX
from tsunagu.web.kodomo import ChildSigner
from tsunagu.web.routes import (
    admin,
    apidocs,
    auth,
    candidates,
    children,
    dashboard,
    linkreview,
    plans,
    privacy,
    public,
    reviews,
)
from tsunagu.web.routes import cases as case_pages
from tsunagu.web.routes import handover as handover_pages
from tsunagu.web.routes import intakes as intake_pages
from tsunagu.web.routes import kodomo as kodomo_pages
from tsunagu.web.routes import kokoro_board as kokoro_pages
from tsunagu.web.routes import outreach as outreach_pages
from tsunagu.web.routes import ranking as ranking_pages
from tsunagu.web.routes import requests as request_pages
from tsunagu.web.routes import resources as resource_pages
from tsunagu.web.routes import search as search_pages
from tsunagu.web.routes import shared as shared_pages
from tsunagu.web.routes import statistics as statistics_pages
from tsunagu.web.routes import voice as voice_pages
from tsunagu.web.security import SESSION_COOKIE, CookieSigner, load_or_create_secret, parse_proxies
from tsunagu.web.state import AppState, make_templates
from tsunagu.work.users import prepare_sign_in

# Everything is served from this origin: no CDN, no web fonts, no inline scripts.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def open_nodes_at_start(hub: Hub) -> None:
    """The departments' nodes opened before the first request rather than by it: opening a vault made
    by an older tsunagu builds the indexes added since (``vault.store``), which at 500,000 children kept
    the first child page after an upgrade waiting about 35 s. A node that cannot be opened now is
    opened, and its error shown, by the first request that needs it, as before."""
    try:
        hub.nodes()
    except Exception:  # the app still serves the pages that need no node
        logging.getLogger("tsunagu.web").exception("部署のノードを起動時に開けませんでした（最初の要求で開き直します）")


def create_app(settings: Settings, *, secure_cookies: bool = False) -> FastAPI:
    files, folders = loose_files(settings.home, settings.hub_url)
    if files or folders:  # `tsunagu serve` refuses such files; an app made otherwise says so loudly
        logging.getLogger("tsunagu.web").warning(loose_files_message(files, folders))
    hub = Hub(settings)
    hub.load_keys()  # now, not at the first request
    state = AppState(
        hub=hub,
        signer=CookieSigner(load_or_create_secret(settings.home)),
        templates=make_templates(), secure_cookies=secure_cookies,
        proxies=parse_proxies(settings.trusted_proxies),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        prepare_sign_in()
        await run_in_threadpool(open_nodes_at_start, hub)
        yield
        state.close()

    app = FastAPI(
        title="tsunagu 職員用API", version="0.1.0", lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served by routes/apidocs.py: no outside scripts under the CSP
        dependencies=[BOUNDARY],  # before every route's own: no control characters in any request string
        description="つなぐ — 職員用ウェブアプリのAPI。サインイン（セッションCookie）と権限は画面と共通です。"
                    "子どもの情報を読む操作はすべてアクセス記録に残ります。",
    )
    app.state.tsunagu = state
    app.state.kodomo_signer = ChildSigner(load_or_create_secret(settings.home))  # the children's own sessions
    app.mount("/static", StaticFiles(packages=[("tsunagu.web", "static")]), name="static")
    for module in (auth, dashboard, candidates, children, reviews, plans, resource_pages, public, linkreview,
                   admin, privacy, request_pages, statistics_pages, api_candidates, api_children, api_reviews,
                   api_resources, handover_pages, intake_pages, shared_pages, outreach_pages, voice_pages,
                   kokoro_pages, kodomo_pages, case_pages, search_pages, api_search, apidocs, ranking_pages):
        app.include_router(module.router)
    errors.install(app)
    # Other municipalities' tsunagu: authenticated by their signatures, not by a staff session.
    app.mount(HANDOVER_MOUNT, handover_api(state.handover_identity, hub.sessions, hub.nodes, key=hub.signing_key))
    # Guardians: an app of its own with its own sessions (tsunagu.web.family), sharing no staff state.
    app.mount(FAMILY_PREFIX, create_family_app(state))
    app.router.add_route(FAMILY_PREFIX, lambda _request: RedirectResponse(FAMILY_PREFIX + "/", status_code=308),
                         include_in_schema=False)

    @app.middleware("http")
    async def session_cookie(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Under /family and /kodomo a staff cookie is not read (nor renewed): staff sessions grant
        # nothing on the families' and the children's pages, which have sessions of their own.
        apart = any(request.url.path == prefix or request.url.path.startswith(prefix + "/")
                    for prefix in (FAMILY_PREFIX, "/kodomo"))
        request.state.web_session = None if apart else state.signer.read_session(request.cookies.get(SESSION_COOKIE))
        request.state.new_session = None
        request.state.end_session = False
        response = await call_next(request)
        new = request.state.new_session or (None if request.state.end_session else request.state.web_session)
        if request.state.end_session and request.state.new_session is None:
            response.delete_cookie(SESSION_COOKIE, path="/")
        elif new is not None and not request.url.path.startswith("/static/"):
            # Re-signed on every request: the signature's age is the idle time.
            response.set_cookie(SESSION_COOKIE, state.signer.session_cookie(new), httponly=True, samesite="strict",
                                secure=state.secure_cookies, path="/")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # pages hold children's data
        return response

    return app

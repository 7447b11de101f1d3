"""子どものページ (``/kodomo``): a pupil's 心の天気 and a child's consultation, in やさしい日本語.

Its own session (``tsunagu.web.kodomo``), never a staff account: nothing here reads the staff
cookie, and every page that shows a thread finds it from the child's own session only (the code
they signed in with, or the key of their anonymous thread), so no id in a URL can open another's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tsunagu.errors import TsunaguError
from tsunagu.privacy.policy import JST
from tsunagu.screen.ruleset import RuleSet
from tsunagu.web.deps import State
from tsunagu.web.kodomo import ChildSession, ChildSigner, new_session
from tsunagu.web.security import client_address, new_token, same_token
from tsunagu.web.state import AppState
from tsunagu.work.voice import kokoro, threads
from tsunagu.work.voice.codes import code_key
from tsunagu.work.voice.config import in_office_hours, voice_settings
from tsunagu.work.voice.models import PupilCode, VoiceThread

router = APIRouter(prefix="/kodomo", include_in_schema=False)
WEATHER_CHOICES = (("晴れ", "はれ", "sunny"), ("くもり", "くもり", "cloudy"), ("雨", "あめ", "rainy"),
                   ("雷", "かみなり", "thunder"))
EXPIRED = "じかんが たったので、もういちど はじめから ためしてください。"


def _signer(request: Request) -> ChildSigner:
    signer: ChildSigner = request.app.state.kodomo_signer
    return signer


def _ip(request: Request, state: AppState) -> str:
    return client_address(request.client.host if request.client else None, request.headers.get("x-forwarded-for"),
                          state.proxies)


def _page(request: Request, state: AppState, template: str, status_code: int = 200, *,
          child: ChildSession | None = None, **context: Any) -> Response:
    now = datetime.now(UTC)
    settings = voice_settings()
    pre = new_token() if child is None else ""
    response = state.templates.TemplateResponse(request, f"kodomo/{template}", {
        "municipality": state.settings.municipality_name or "", "child": child,
        "csrf_token": child.csrf if child is not None else pre, "open_now": in_office_hours(settings, now),
        "hours": settings.office_hours, "hotlines": settings.hotlines, **context}, status_code=status_code)
    if child is None:
        _signer(request).set_pre(response, pre, secure=state.secure_cookies)
    return response


def _child(request: Request) -> ChildSession | None:
    return _signer(request).read(request)


def _refresh(request: Request, state: AppState, response: Response, child: ChildSession) -> Response:
    _signer(request).write(response, child, secure=state.secure_cookies)  # re-signed: the idle limit restarts
    return response


def _pupil(session: Any, child: ChildSession | None) -> PupilCode | None:
    if child is None or child.kind != "pupil" or not child.ref.isdigit():
        return None
    return kokoro.active_code(session, int(child.ref), datetime.now(JST).date())


def _thread(session: Any, state: AppState, child: ChildSession | None) -> tuple[VoiceThread | None, PupilCode | None]:
    if child is None:
        return None, None
    if child.kind == "anon":
        return threads.thread_by_key(session, child.ref, code_key=code_key(state.settings.home)), None
    code = _pupil(session, child)
    return (threads.thread_of_code(session, code) if code is not None else None), code


@router.get("/")
def start(request: Request, state: State) -> Response:
    child = _child(request)
    if child is not None:
        return RedirectResponse("/kodomo/home", status_code=303)
    return _page(request, state, "start.html")


@router.get("/about")
def about(request: Request, state: State) -> Response:
    return _page(request, state, "about.html", child=_child(request))


def _form_ok(request: Request, token: str) -> bool:
    return same_token(token, _signer(request).pre_token(request))


@router.post("/signin")
def sign_in(request: Request, state: State, code: Annotated[str, Form()] = "",
            csrf_token: Annotated[str, Form()] = "") -> Response:
    if not _form_ok(request, csrf_token):
        return _page(request, state, "start.html", 403, message=EXPIRED, typed_code=code)
    try:
        with state.unit() as session:  # committed on failure too: the attempt counts toward the lock
            row = kokoro.sign_in(session, code, code_key=code_key(state.settings.home), ip=_ip(request, state))
            code_id = row.id
    except TsunaguError as exc:
        return _page(request, state, "start.html", exc.status, message=exc.message_ja, typed_code=code,
                     field="code")
    response = RedirectResponse("/kodomo/home", status_code=303)
    return _refresh(request, state, response, new_session("pupil", str(code_id)))


@router.post("/anonymous")
def anonymous(request: Request, state: State, csrf_token: Annotated[str, Form()] = "") -> Response:
    if not _form_ok(request, csrf_token):
        return _page(request, state, "start.html", 403, message=EXPIRED)
    with state.unit() as session:
        _thread_row, key, word = threads.start_anonymous(session, code_key=code_key(state.settings.home))
    child = new_session("anon", key)
    # The word is shown on this page only: it is stored hashed and never shown again.
    return _refresh(request, state, _page(request, state, "word.html", child=child, word=word), child)


@router.post("/reentry")
def reentry(request: Request, state: State, word: Annotated[str, Form()] = "",
            csrf_token: Annotated[str, Form()] = "") -> Response:
    if not _form_ok(request, csrf_token):
        return _page(request, state, "start.html", 403, message=EXPIRED, typed_word=word)
    try:
        with state.unit() as session:
            _row, key = threads.reenter(session, word, code_key=code_key(state.settings.home), ip=_ip(request, state))
    except TsunaguError as exc:
        return _page(request, state, "start.html", exc.status, message=exc.message_ja, typed_word=word, field="word")
    return _refresh(request, state, RedirectResponse("/kodomo/soudan", status_code=303), new_session("anon", key))


@router.get("/home")
def home(request: Request, state: State) -> Response:
    child = _child(request)
    if child is None:
        return RedirectResponse("/kodomo/", status_code=303)
    if child.kind == "anon":
        return RedirectResponse("/kodomo/soudan", status_code=303)
    with state.read_factory() as session:
        if _pupil(session, child) is None:
            return _ended(request)
    return _refresh(request, state, _page(request, state, "home.html", child=child), child)


def _ended(request: Request) -> Response:
    response = RedirectResponse("/kodomo/", status_code=303)
    _signer(request).end(response)
    return response


def _streak_entries(state: AppState) -> int:
    rules: RuleSet = state.hub.rule_set()
    return int(rules.parameters_at(datetime.now(JST).date())["kokoro_streak_entries"])


@router.get("/tenki")
def tenki_page(request: Request, state: State) -> Response:
    child = _child(request)
    with state.read_factory() as session:
        code = _pupil(session, child)
        if child is None or code is None:
            return _ended(request)
        unavailable = kokoro.opted_out(session, code.school_code, code.pupil_no)
        entry = None if unavailable else kokoro.today_entry(session, code, datetime.now(JST).date())
    return _refresh(request, state, _page(request, state, "tenki.html", child=child, unavailable=unavailable,
                                          today=entry.weather if entry else "", choices=WEATHER_CHOICES), child)


@router.post("/tenki")
def tenki_save(request: Request, state: State, weather: Annotated[str, Form()] = "",
               word: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    child = _child(request)
    if child is None or not same_token(csrf_token, child.csrf):
        return _page(request, state, "start.html", 403, message=EXPIRED)
    try:
        with state.unit() as session:
            code = _pupil(session, child)
            if code is None:
                return _ended(request)
            kokoro.check_in(session, code, weather, word, cipher=state.cipher, streak_entries=_streak_entries(state))
    except kokoro.KokoroUnavailable:
        return _refresh(request, state, _page(request, state, "tenki.html", child=child, unavailable=True,
                                              choices=WEATHER_CHOICES), child)
    except TsunaguError as exc:
        return _refresh(request, state, _page(request, state, "tenki.html", exc.status, child=child, unavailable=False,
                                              today=weather, typed_word=word, message=exc.message_ja,
                                              choices=WEATHER_CHOICES), child)
    return _refresh(request, state, _page(request, state, "tenki_done.html", child=child, weather=weather), child)


@router.get("/soudan")
def soudan_page(request: Request, state: State) -> Response:
    child = _child(request)
    if child is None:
        return RedirectResponse("/kodomo/", status_code=303)
    with state.read_factory() as session:
        thread, code = _thread(session, state, child)
        if (child.kind == "anon" and thread is None) or (child.kind == "pupil" and code is None):
            return _ended(request)
        lines = threads.writer_lines(session, thread, state.cipher)
        consented = thread is not None and thread.consent_at is not None
    return _refresh(request, state, _page(request, state, "soudan.html", child=child, lines=lines,
                                          consented=consented, has_thread=thread is not None), child)


@router.post("/soudan")
def soudan_write(request: Request, state: State, text: Annotated[str, Form()] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    child = _child(request)
    if child is None or not same_token(csrf_token, child.csrf):
        return _page(request, state, "start.html", 403, message=EXPIRED)
    try:
        with state.unit() as session:
            thread, code = _thread(session, state, child)
            if (child.kind == "anon" and thread is None) or (child.kind == "pupil" and code is None):
                return _ended(request)
            threads.write(session, thread, text, cipher=state.cipher, code=code)
    except TsunaguError as exc:
        with state.read_factory() as session:
            thread, _code = _thread(session, state, child)
            lines = threads.writer_lines(session, thread, state.cipher)
        return _refresh(request, state, _page(request, state, "soudan.html", exc.status, child=child, lines=lines,
                                              message=exc.message_ja, typed_text=text, has_thread=thread is not None,
                                              consented=thread is not None and thread.consent_at is not None), child)
    return _refresh(request, state, RedirectResponse("/kodomo/soudan?sent=1", status_code=303), child)


@router.post("/soudan/consent")
def soudan_consent(request: Request, state: State, csrf_token: Annotated[str, Form()] = "") -> Response:
    child = _child(request)
    if child is None or not same_token(csrf_token, child.csrf):
        return _page(request, state, "start.html", 403, message=EXPIRED)
    with state.unit() as session:
        thread, _code = _thread(session, state, child)
        if thread is not None:
            threads.consent(session, thread)
    return _refresh(request, state, RedirectResponse("/kodomo/soudan", status_code=303), child)


@router.post("/signout")
def sign_out(request: Request, state: State, csrf_token: Annotated[str, Form()] = "") -> Response:
    child = _child(request)
    if child is None or not same_token(csrf_token, child.csrf):
        return _page(request, state, "start.html", 403, message=EXPIRED)
    return _ended(request)

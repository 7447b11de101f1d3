"""Meta-test over every route of the family portal (as tests/web/test_meta.py does for the staff app).

1. Signed out, every portal route but sign-in and enrolment is refused (the portal's sign-in, or a
   CSRF refusal for a form).
2. A staff session opens no portal page; a guardian's session opens no staff page.
3. A guardian who changes the child's id in the address reaches no other family's child: refused
   and recorded against that child. Their own child's pages succeed and are recorded.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from sqlalchemy import func, select

from family.builders import SATO
from family.web import enrol, issue, portal_routes
from tsunagu.privacy import AuditEntry, Subject
from tsunagu.web.app import create_app
from tsunagu.web.family.session import COOKIE
from tsunagu.work.voice import guardian, threads
from tsunagu.work.voice.codes import code_key
from web.conftest import Browser
from web.test_meta import OPEN as STAFF_OPEN
from web.test_meta import routes_of, url_of
from work.builders import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OPEN = {"/family/login", "/family/enrol"}
FORMS = {"/family/children/{person_id}/requests": {"kind": "disclosure", "note": "記録を見たい"},
         "/family/consult": {"text": "相談です"}, "/family/consult/{thread_id}": {"text": "続きです"}}


def _url(template: str, person: str, thread: int = 1) -> str:
    return re.sub(r"{thread_id}", str(thread), re.sub(r"{person_id}", person, template))


def _call(client: TestClient, method: str, template: str, person: str, csrf: str = "", thread: int = 1) -> Any:
    url = _url(template, person, thread)
    if method == "GET":
        return client.get(url, follow_redirects=False)
    return client.post(url, data={"csrf_token": csrf, **FORMS.get(template, {})}, follow_redirects=False)


def _refused_as_signed_out(response: Any, method: str, template: str) -> None:
    if method == "GET":
        assert response.status_code == 303, (method, template, response.status_code)
        assert response.headers["location"].startswith("/family/login?next="), template
    else:
        assert response.status_code == 403, (method, template, response.status_code)


def _audits(home: Home, person: str, outcome: str | None = None) -> int:
    with home.factory() as session:
        stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.person_id == person,
                                                                  AuditEntry.role == "guardian")
        if outcome is not None:
            stmt = stmt.where(AuditEntry.outcome == outcome)
        return int(session.scalar(stmt) or 0)


def test_the_portal_has_the_routes_the_checks_name(family_home: Home) -> None:
    routes = set(portal_routes(create_app(family_home.settings)))
    assert ("GET", "/family/login") in routes and ("GET", "/family/") in routes and len(routes) >= 10


def test_signed_out_every_portal_route_is_refused(family_home: Home) -> None:
    app = create_app(family_home.settings)
    checked = 0
    with TestClient(app) as client:
        for method, template in portal_routes(app):
            if template in OPEN:
                assert _call(client, method, template, "P0002").status_code in (200, 403), template
                continue
            _refused_as_signed_out(_call(client, method, template, "P0002"), method, template)
            checked += 1
    assert checked >= 6


def test_a_staff_session_opens_no_portal_page(family_home: Home) -> None:
    app = create_app(family_home.settings)
    for user in ("cw1", "po1"):
        with TestClient(app) as client:
            staff = Browser(client)
            assert staff.sign_in(user) == 303
            for method, template in portal_routes(app):
                if template in OPEN:
                    continue
                response = _call(client, method, template, "P0002", staff.csrf)
                _refused_as_signed_out(response, method, template)
                # nor is the staff session renewed from under /family
                assert not any(h.startswith("tsunagu_session=") for h in response.headers.get_list("set-cookie"))


def test_a_guardian_session_opens_no_staff_page(family_home: Home) -> None:
    app = create_app(family_home.settings)
    with TestClient(app) as client:
        enrol(client, issue(family_home, SATO))
        guardian_cookie = client.cookies.get(COOKIE)
        assert guardian_cookie
    checked = 0
    with TestClient(app) as client:
        # Sent to every staff route whatever its path (a browser would not even send it: path=/family).
        client.cookies.set(COOKIE, guardian_cookie)
        client.cookies.set("tsunagu_session", guardian_cookie)  # nor is it a staff cookie under the staff name
        for method, template in routes_of(family_home):
            if template in STAFF_OPEN:
                continue
            url = url_of(template)
            response = client.get(url, follow_redirects=False) if method == "GET" else \
                client.post(url, data={"csrf_token": ""}, follow_redirects=False)
            checked += 1
            if template.startswith("/api/"):
                assert response.status_code in (401, 403), (method, template, response.status_code)
            elif method == "POST":
                assert response.status_code == 403, (method, template, response.status_code)
            else:
                assert response.status_code == 303 and response.headers["location"].startswith("/?next="), template
    assert checked > 30


def test_a_guardian_reaches_only_their_own_children_whatever_the_id(family_home: Home) -> None:
    app = create_app(family_home.settings)
    child_routes = [(m, t) for m, t in portal_routes(app) if "{person_id}" in t]
    assert len(child_routes) >= 4
    with TestClient(app) as client:
        csrf = enrol(client, issue(family_home, SATO))
        for person in ("P0003", "P0001", "P0004"):  # other families' children
            for method, template in child_routes:
                before = _audits(family_home, person, "denied")
                response = _call(client, method, template, person, csrf)
                assert response.status_code == 403, (method, template, person, response.status_code)
                assert "表示できません" in response.text
                for name in ("鈴木", "髙橋", "田中"):
                    assert name not in response.text, (template, person)
                assert _audits(family_home, person, "denied") > before, (method, template, person)
        response = _call(client, "GET", "/family/children/{person_id}", "P9999")
        assert response.status_code == 403  # an id that names nobody: the same answer, nothing told
        for method, template in child_routes:
            before = _audits(family_home, "P0005", "allowed")
            response = _call(client, method, template, "P0005", csrf)
            assert response.status_code in (200, 303), (method, template, response.status_code, response.text[:300])
            assert _audits(family_home, "P0005", "allowed") > before, (method, template)


def test_the_guardian_cookie_is_scoped_to_the_portal(family_home: Home) -> None:
    app = create_app(family_home.settings)
    with TestClient(app) as client:
        form = client.get("/family/enrol")
        issued = issue(family_home, SATO)
        response = client.post("/family/enrol", data={
            "login_id": issued.login_id, "code": issued.code, "password": "a-long-family-password",
            "password_again": "a-long-family-password", "csrf_token": re.findall(r'name="csrf_token" value="([^"]*)"',
                                                                               form.text)[0]},
            follow_redirects=False)
        cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
        assert cookie and "Path=/family" in cookie[0] and "HttpOnly" in cookie[0] and "SameSite=strict" in cookie[0]
        assert not any(h.startswith("tsunagu_session=") for h in response.headers.get_list("set-cookie"))


def _thread_audits(home: Home, outcome: str) -> int:
    with home.factory() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.role == "guardian", AuditEntry.action.like("family.consult.%"),
            AuditEntry.outcome == outcome)) or 0)


def test_a_guardian_opens_only_their_own_consultation_threads_whatever_the_id(family_home: Home) -> None:
    """Every portal route with a thread id: another guardian's thread, a child's thread and an id that
    names none are refused (the same answer) and recorded; the guardian's own thread succeeds."""
    app = create_app(family_home.settings)
    thread_routes = [(m, t) for m, t in portal_routes(app) if "{thread_id}" in t]
    assert len(thread_routes) >= 3
    with TestClient(app) as client:
        csrf = enrol(client, issue(family_home, SATO))
        own = client.post("/family/consult", data={"csrf_token": csrf, "text": "自分の相談", "about": "P0005"},
                          follow_redirects=False)
        mine = int(own.headers["location"].split("/")[-1].split("?")[0])
        with family_home.factory.begin() as session:
            other = guardian.start(session, Subject("guardian:999", "guardian", "家族向けページ"), "鈴木家の相談",
                                   cipher=family_home.cipher).id
            child = threads.start_anonymous(session, code_key=code_key(family_home.settings.home))[0]
            threads.write(session, child, "こどもの ひみつの そうだん", cipher=family_home.cipher)
            child_id = child.id
        for thread in (other, child_id, 99999):
            for method, template in thread_routes:
                before = _thread_audits(family_home, "denied")
                response = _call(client, method, template, "", csrf, thread)
                assert response.status_code == 403, (method, template, thread, response.status_code)
                assert "表示できません" in response.text
                for text in ("鈴木家の相談", "ひみつ"):
                    assert text not in response.text, (template, thread)
                assert _thread_audits(family_home, "denied") > before, (method, template, thread)
        for method, template in thread_routes:
            before = _thread_audits(family_home, "allowed")
            response = _call(client, method, template, "", csrf, mine)
            assert response.status_code in (200, 303), (method, template, response.status_code, response.text[:300])
            assert _thread_audits(family_home, "allowed") > before, (method, template)

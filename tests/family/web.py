"""Test clients of the family portal: a guardian enrolled through the pages, the portal's routes."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount

from family.builders import OFFICER
from tsunagu.config import load_settings
from tsunagu.hub import Hub
from tsunagu.work.family.issue import IssuedCode, issue_code
from web.test_meta import flat_routes
from work.builders import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
PASSWORD = "a-long-family-password"


def issue(home: Home, aza: str, days: int = 30) -> IssuedCode:
    with Hub(load_settings(home.settings.home)) as hub, hub.unit() as session:
        return issue_code(session, OFFICER, aza, nodes=hub.nodes(), manifests=hub.manifests, days=days,
                          key=hub.signing_key)


def csrf_of(text: str) -> str:
    found = CSRF.search(text)
    assert found is not None
    return found.group(1)


def enrol(client: TestClient, issued: IssuedCode, password: str = PASSWORD) -> str:
    """Enrol through the pages; returns the session's CSRF token."""
    form = client.get("/family/enrol")
    response = client.post("/family/enrol", data={"login_id": issued.login_id, "code": issued.code,
                                                  "password": password, "password_again": password,
                                                  "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return csrf_of(client.get("/family/").text)


def portal_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) of the portal, from the mounted app itself (nothing listed by hand)."""
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/family":
            for inner in flat_routes(route.routes):
                if isinstance(inner, APIRoute):
                    for method in sorted(inner.methods or ()):
                        if method not in ("HEAD", "OPTIONS"):
                            yield method, "/family" + inner.path

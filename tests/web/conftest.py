"""A copy of the small home per test, the app over it, and signed-in test clients."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 in its test client; httpx is what we have
    from fastapi.testclient import TestClient

from tsunagu.web.app import create_app
from work.builders import PASSWORD, Home

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A TestClient with the session's CSRF token at hand."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def sign_in(self, user_id: str, password: str = PASSWORD) -> int:
        page = self.client.get("/")
        token = CSRF.search(page.text)
        assert token is not None
        response = self.client.post("/login", data={"user_id": user_id, "password": password,
                                                    "csrf_token": token.group(1)}, follow_redirects=False)
        if response.status_code == 303:
            dashboard = self.client.get("/dashboard")
            found = CSRF.search(dashboard.text)
            self.csrf = found.group(1) if found else ""
        return response.status_code

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False,
                                **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def browser(home: Home) -> Iterator[Callable[[str | None], Browser]]:
    app = create_app(home.settings)
    clients: list[TestClient] = []

    def make(user_id: str | None = None) -> Browser:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        b = Browser(client)
        if user_id is not None:
            assert b.sign_in(user_id) == 303
        return b

    yield make
    for client in clients:
        client.__exit__(None, None, None)

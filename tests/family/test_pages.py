"""The portal's pages over HTTP: lock-out, a used code, sign-out, a refused form that keeps its input."""

from __future__ import annotations

import warnings

from family.builders import SATO
from family.web import PASSWORD, csrf_of, enrol, issue
from tsunagu.web.app import create_app
from work.builders import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _sign_in(client: TestClient, login_id: str, password: str) -> int:
    form = client.get("/family/login")
    response = client.post("/family/login", data={"login_id": login_id, "password": password,
                                                  "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    return response.status_code


def test_sign_in_locks_after_five_failures_and_a_used_code_does_not_enrol_again(family_home: Home) -> None:
    app = create_app(family_home.settings)
    issued = issue(family_home, SATO)
    with TestClient(app) as client:
        csrf = enrol(client, issued)
        assert client.post("/family/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
        assert client.get("/family/", follow_redirects=False).status_code == 303  # signed out
        assert _sign_in(client, issued.login_id.lower(), PASSWORD) == 303  # the id typed loosely
        again = client.get("/family/enrol")
        refused = client.post("/family/enrol", data={"login_id": issued.login_id, "code": issued.code,
                                                     "password": PASSWORD, "password_again": PASSWORD,
                                                     "csrf_token": csrf_of(again.text)})
        assert refused.status_code == 401 and "登録コードが違う" in refused.text
        assert f'value="{issued.login_id}"' in refused.text  # what was typed is kept
    with TestClient(app) as client:
        for _ in range(5):
            assert _sign_in(client, issued.login_id, "not-the-password") == 401
        page = client.get("/family/login")
        response = client.post("/family/login", data={"login_id": issued.login_id, "password": PASSWORD,
                                                      "csrf_token": csrf_of(page.text)})
        assert response.status_code == 429 and "5分間" in response.text


def test_the_portal_root_without_a_slash_goes_to_the_portal(family_home: Home) -> None:
    with TestClient(create_app(family_home.settings)) as client:
        response = client.get("/family", follow_redirects=False)
        assert response.status_code == 308 and response.headers["location"] == "/family/"


def test_a_guardian_who_leaves_the_household_loses_access_at_the_next_request(family_home: Home) -> None:
    from family.builders import REGISTER, ingest_register

    app = create_app(family_home.settings)
    with TestClient(app) as client:
        enrol(client, issue(family_home, SATO))
        assert client.get("/family/children/P0005").status_code == 200
        moved = [r if r[0] != SATO else (SATO, "300099", *r[2:]) for r in REGISTER]  # a household of her own
        ingest_register(family_home.settings.home, moved, "20261201")
        response = client.get("/family/children/P0005")
        assert response.status_code == 403 and "陽太" not in response.text
        assert "佐藤　陽太" not in client.get("/family/").text

"""The boundary's one rule (``web/boundary.py``, issue 16): no control character in any request string —
path, query, form or JSON — through the one error shape; tab and line breaks kept in free text. NUL
reached PostgreSQL as a 500 before (its ``text`` cannot hold it); these run on both back-ends."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import pytest

from tsunagu.web.boundary import offending, refill_values
from web.conftest import Browser

CODE = "control_character"


def _api_refusal(response: httpx.Response) -> str:
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == CODE
    message: str = error["message"]
    assert "制御文字" in message and message.isascii() is False  # the Japanese message only
    return message


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1f", "\ud800"])
def test_a_json_value_with_a_control_character_is_refused_not_stored(browser: Callable[..., Browser],
                                                                        bad: str) -> None:
    b = browser("cw1")
    headers = {"X-CSRF-Token": b.csrf, "Content-Type": "application/json"}

    def post(body: dict[str, str]) -> httpx.Response:  # escaped as \u0000 / \ud800, as a client would send them
        response: httpx.Response = b.client.post("/api/reviews", content=json.dumps(body), headers=headers)
        return response

    assert "個人ID" in _api_refusal(post({"person_id": f"P000{bad}1", "decision": "support", "rationale": "x"}))
    _api_refusal(post({"person_id": "P0001", "decision": "support", "rationale": "x", f"extra{bad}": "x"}))


def test_free_text_keeps_its_tabs_and_line_breaks(browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    ok = b.client.post("/api/reviews", json={"person_id": "P0001", "decision": "support",
                                             "rationale": "一行目\r\n二行目\tタブ"}, headers={"X-CSRF-Token": b.csrf})
    assert ok.status_code == 201 and ok.json()["rationale"] == "一行目\r\n二行目\tタブ"
    # but not in an id, a query or a path: no field of theirs is free text
    assert offending("P0001\n", free_text=False) and not offending("P0001\n", free_text=True)


def test_a_query_or_path_with_a_control_character_is_refused_on_the_api(browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    _api_refusal(b.client.get("/api/children/P0001", params={"purpose": "assessment\x00"}))
    _api_refusal(b.client.get("/api/children/P00%0001", params={"purpose": "assessment"}))
    _api_refusal(b.client.get("/api/candidates?x%0A=1"))  # a name too, even one the route does not read


def test_a_page_with_a_control_character_in_its_query_or_path_shows_the_error_page(
        browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    for url in ("/children/P00%0001?purpose=assessment", "/candidates?purpose=screening%00"):
        page = b.client.get(url)
        assert page.status_code == 422 and "制御文字" in page.text and "ダッシュボードへ戻る" in page.text


def test_a_form_with_a_control_character_comes_back_filled_in_without_it(browser: Callable[..., Browser]) -> None:
    cw = browser("cw1")
    sent = cw.post("/children/P0001/reviews", {"decision": "support", "rationale": "面談\x00で確認した",
                                               "purpose": "assessment"})
    assert sent.status_code == 422 and "ダッシュボードへ戻る" not in sent.text  # the form's own page
    beside = re.search(r'id="rationale-error" role="alert">([^<]+)<', sent.text)
    assert beside is not None and "制御文字" in beside.group(1)
    assert ">面談で確認した</textarea>" in sent.text and "\x00" not in sent.text
    # the same form with line breaks only is recorded
    assert cw.post("/children/P0001/reviews", {"decision": "support", "rationale": "面談で\n確認した",
                                               "purpose": "assessment"}).status_code == 303


def test_a_form_refused_at_the_boundary_still_needs_its_csrf_token(browser: Callable[..., Browser]) -> None:
    cw = browser("cw1")
    forged = cw.client.post("/children/P0001/reviews", data={"decision": "support", "rationale": "\x00",
                                                             "purpose": "assessment", "csrf_token": "wrong"})
    assert forged.status_code == 422 and "ダッシュボードへ戻る" in forged.text  # the error page, no refilled form


def test_the_family_portal_refuses_them_too(browser: Callable[..., Browser]) -> None:
    page = browser().client.get("/family/login?next=%00")
    assert page.status_code == 422 and "制御文字" in page.text


def test_a_childs_page_is_held_to_it_too(browser: Callable[..., Browser]) -> None:
    child = browser().client.post("/kodomo/signin", data={"code": "AB\x00CD", "csrf_token": "x"})
    assert child.status_code == 422 and "はじめに もどる" in child.text  # the child's own plain error page


def test_refilled_values_lose_only_the_refused_characters() -> None:
    assert refill_values({"a\x00": ("x\x00y\n\tz", "\x07")}) == {"a": ("xy\n\tz", "")}

"""Findings of the security probe (issue 18) at the level of the staff app."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from tsunagu.privacy import AuditEntry
from web.conftest import Browser
from work.builders import PASSWORD, Home

HUGE = "99999999999999999999"  # above 2^63: SQLite's driver overflowed on it


def _entries(home: Home, actor: str, outcome: str | None = None) -> int:
    with home.factory() as session:
        stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == actor)
        if outcome is not None:
            stmt = stmt.where(AuditEntry.outcome == outcome)
        return int(session.scalar(stmt) or 0)


def test_an_id_beyond_the_database_is_refused_or_not_found_and_the_refusal_is_recorded(
    home: Home, browser: Callable[..., Browser],
) -> None:
    teacher = browser("teacher1")
    before = _entries(home, "teacher1", "denied")
    page = teacher.client.get(f"/privacy/requests/{HUGE}")
    assert page.status_code == 403 and "拒否" in page.text
    assert _entries(home, "teacher1", "denied") == before + 1
    worker = browser("cw1")
    for method, url, data in [
        ("GET", f"/resources/{HUGE}/edit", None), ("POST", f"/resources/{HUGE}", {"name": "x", "category": "学習支援"}),
        ("POST", f"/plans/{HUGE}/close", {"note": "x"}), ("POST", f"/follow-ups/{HUGE}/done", {"note": "x"}),
        ("POST", f"/referrals/{HUGE}", {"status": "closed", "outcome": "using"}),
        ("POST", f"/plans/{HUGE}/referrals", {"resource_id": HUGE, "purpose": "support_coordination"}),
        ("POST", f"/link-review/{HUGE}", {"decision": "match", "reason": "同じ人"}),
        ("GET", "/resources/-1/edit", None), ("GET", f"/candidates?page={HUGE}", None),
    ]:
        response = worker.client.get(url) if method == "GET" else worker.post(url, data)
        assert response.status_code in (403, 404, 422), (url, response.status_code)
        assert "Traceback" not in response.text and "OverflowError" not in response.text


def test_a_blank_resource_name_is_a_422_page_that_keeps_what_was_typed(browser: Callable[..., Browser]) -> None:
    worker = browser("cw1")
    page = worker.post("/resources", {"name": "  ", "category": "学習支援", "contact": "0120-123-456",
                                      "area": "北地区"})
    assert page.status_code == 422
    assert "名称" in page.text and 'value="0120-123-456"' in page.text and 'value="北地区"' in page.text
    api = worker.client.post("/api/resources", json={"name": "", "category": "学習支援"},
                             headers={"X-CSRF-Token": worker.csrf})
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid"


def test_one_attacked_account_does_not_lock_out_colleagues_at_the_same_address(
    browser: Callable[..., Browser],
) -> None:
    attacker = browser()
    for i in range(5):
        assert attacker.sign_in("ssw1", f"wrong-password-{i}") == 401
    assert attacker.sign_in("ssw1", PASSWORD) == 429
    assert browser().sign_in("cw1", PASSWORD) == 303  # the same client address as the attacker


def test_the_purpose_chooser_is_the_same_page_for_every_child(browser: Callable[..., Browser]) -> None:
    teacher = browser("teacher1")  # P0001 is in the class; P0003 is at another school
    own, other = (teacher.client.get(f"/children/{p}").text.replace(p, "P") for p in ("P0001", "P0003"))
    assert own == other


def test_api_notes_of_the_schema_probe(browser: Callable[..., Browser]) -> None:
    worker = browser("cw1")
    listing = worker.client.get("/api/candidates", params={"purpose": "screening"})
    assert listing.status_code == 200
    finished = listing.json()["run"]["finished_at"]
    assert finished.endswith(("Z", "+00:00")), finished  # a date-time with its offset
    for method, url in (("DELETE", "/api/resources"), ("GET", "/logout")):
        refused = worker.client.request(method, url)
        assert refused.status_code == 405 and "Allow" in refused.headers, (method, url)
    schema = worker.client.get("/openapi.json").json()
    assert "400" in schema["paths"]["/api/candidates"]["get"]["responses"]


def test_a_new_caseworker_signs_in_only_after_the_privacy_officer_approves(browser: Callable[..., Browser]) -> None:
    admin = browser("admin1")
    made = admin.post("/admin/users", {"user_id": "newcw", "display_name": "新任 職員", "role": "centre_caseworker",
                                       "organisation": "family_centre", "password": "a-long-enough-password"})
    assert made.status_code == 303 and "pending" in made.headers["location"]
    assert browser().sign_in("newcw", "a-long-enough-password") == 401
    assert admin.post("/admin/users/newcw/approve").status_code == 422  # not by the one who created it
    officer = browser("po1")
    page = officer.client.get("/admin")
    assert page.status_code == 200 and "newcw" in page.text and "承認する" in page.text
    assert 'action="/admin/users"' not in page.text  # the privacy officer approves; does not manage accounts
    assert officer.post("/admin/users/newcw/approve").status_code == 303
    assert browser().sign_in("newcw", "a-long-enough-password") == 303

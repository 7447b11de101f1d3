"""The web app's behaviour: sign-in and sessions, CSRF, refusals on record, CSV, the API's shape."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from tsunagu.privacy import AuditEntry, PrivacyNotification
from tsunagu.screen.runs.models import ScreeningResult
from tsunagu.web.security import SESSION_COOKIE
from web.conftest import CSRF, Browser
from work.builders import PASSWORD, Home


def audit(home: Home, **where: str) -> list[AuditEntry]:
    with home.factory() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        for column, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, column) == value)
        return list(session.scalars(stmt))


def test_sign_in_failures_lock_the_account(browser: Callable[..., Browser]) -> None:
    b = browser()
    assert b.sign_in("ssw1", "wrong-password-1") == 401
    for _ in range(4):
        b.sign_in("ssw1", "wrong-password-2")
    page = b.client.get("/")
    token = CSRF.search(page.text)
    assert token is not None
    locked = b.client.post("/login", data={"user_id": "ssw1", "password": PASSWORD, "csrf_token": token.group(1)})
    assert locked.status_code == 429 and "5分間" in locked.text
    assert b.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_sign_in_needs_the_form_token_and_next_stays_on_site(browser: Callable[..., Browser]) -> None:
    b = browser()
    refused = b.client.post("/login", data={"user_id": "cw1", "password": PASSWORD, "csrf_token": "forged"})
    assert refused.status_code == 403
    page = b.client.get("/?next=//evil.example/")
    token = CSRF.search(page.text)
    assert token is not None
    response = b.client.post("/login", data={"user_id": "cw1", "password": PASSWORD, "csrf_token": token.group(1),
                                             "next_path": "//evil.example/"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_forms_need_the_session_csrf_token(browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    missing = b.client.post("/children/P0002/plans", data={"goals": "x", "responsible_body": "x"})
    wrong = b.client.post("/children/P0002/plans", data={"goals": "x", "responsible_body": "x", "csrf_token": "x"})
    assert missing.status_code == wrong.status_code == 403
    api = b.client.post("/api/reviews", json={"person_id": "P0002", "decision": "support", "rationale": "x"})
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf"


def test_sessions_end_after_idle_time_and_on_sign_out(browser: Callable[..., Browser],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    b = browser("cw1")
    old_cookie = b.client.cookies.get(SESSION_COOKIE)
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 31 * 60)
    b2 = browser("cw1")  # a session whose cookie was last signed 31 minutes ago
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    assert b2.client.get("/dashboard", follow_redirects=False).headers["location"].startswith("/?next=")
    assert b.client.get("/dashboard").status_code == 200  # still in use: still signed in
    assert b.post("/logout").status_code == 303
    b.client.cookies.set(SESSION_COOKIE, old_cookie or "")  # a copied cookie dies with the sign-out too
    assert b.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_disabled_account_is_signed_out_at_once(browser: Callable[..., Browser]) -> None:
    teacher = browser("teacher2")
    admin = browser("admin1")
    assert admin.post("/admin/users/teacher2/disable").status_code == 303
    assert teacher.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_teacher_cannot_open_a_child_of_another_school(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser("teacher2")
    page = b.client.get("/children/P0001", params={"purpose": "assessment"})
    assert page.status_code == 403
    assert "拒否" in page.text and "この子どもとの関係" in page.text
    [entry] = audit(home, actor="teacher2", person_id="P0001")
    assert (entry.outcome, entry.action) == ("denied", "child.view")
    listing = b.client.get("/candidates")
    assert "P0001" not in listing.text  # nor in their lists
    own = browser("teacher1").client.get("/children/P0001", params={"purpose": "assessment"})
    assert own.status_code == 200 and "欠席日数" in own.text and "SSW・SCの関与" not in own.text


def test_the_purpose_chooser_shows_nothing_and_records_nothing(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    before = len(audit(home))
    page = b.client.get("/children/P0001")
    assert page.status_code == 200 and "利用目的を選んでください" in page.text
    assert "髙橋" not in page.text and "重点支援" not in page.text
    assert len(audit(home)) == before


def test_csv_export_escapes_formula_cells_and_records_each_row(home: Home, browser: Callable[..., Browser]) -> None:
    with home.factory.begin() as session:
        result = session.scalars(select(ScreeningResult).where(ScreeningResult.person_id == "P0002",
                                                               ScreeningResult.run_id == home.run_id)).one()
        reasons = json.loads(result.reasons)
        reasons[0]["label"] = '=HYPERLINK("http://evil.example","x")'
        result.reasons = json.dumps(reasons, ensure_ascii=False)
    b = browser("cw1")
    response = b.client.get("/candidates.csv", params={"tier": "予防的支援"})
    assert response.status_code == 200 and response.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][0] == "個人ID" and rows[1][0] == "P0002"
    assert rows[1][-1].startswith("'=HYPERLINK")
    assert [e.person_id for e in audit(home, actor="cw1", action="candidates.list") if e.person_id] == ["P0002"]


def test_api_errors_share_one_shape(browser: Callable[..., Browser]) -> None:
    anonymous = browser().client.get("/api/candidates")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"
    b = browser("cw1")
    no_purpose = b.client.get("/api/children/P0001")
    assert no_purpose.status_code == 422 and set(no_purpose.json()["error"]) == {"code", "message"}
    missing = b.client.get("/api/children/P9999", params={"purpose": "assessment"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = b.client.post("/api/reviews", json={"person_id": "P0001", "decision": "watch", "rationale": "x"},
                        headers={"X-CSRF-Token": b.csrf})
    assert bad.status_code == 422 and "理由" in bad.json()["error"]["message"]
    ok = b.client.post("/api/reviews", json={"person_id": "P0001", "decision": "support", "rationale": "根拠"},
                       headers={"X-CSRF-Token": b.csrf})
    assert ok.status_code == 201 and ok.json()["decision"] == "support"
    child = b.client.get("/api/children/P0001", params={"purpose": "assessment"}).json()
    assert child["tier"] == "重点支援" and child["reviews"][0]["rationale"] == "根拠"
    refused = browser("teacher2").client.get("/api/children/P0001", params={"purpose": "assessment"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    schema = b.client.get("/openapi.json").json()
    params = schema["paths"]["/api/children/{person_id}"]["get"]["parameters"]
    assert any(p["name"] == "purpose" and p["required"] for p in params)


def test_public_resources_need_no_sign_in_and_hide_staff_only_entries(home: Home,
                                                                      browser: Callable[..., Browser]) -> None:
    staff = browser("cw1")
    assert staff.post("/resources", {"name": "職員向け 連絡会", "category": "その他", "active": "on"}).status_code == 303
    page = browser().client.get("/public/resources")
    assert page.status_code == 200 and "こども食堂 ひだまり" in page.text and "職員向け 連絡会" not in page.text
    assert "職員向け 連絡会" in staff.client.get("/resources").text
    teacher = browser("teacher1")
    assert teacher.post("/resources", {"name": "x", "category": "その他"}).status_code == 403


def test_a_suspended_child_is_hidden_but_the_privacy_officer_still_handles_it(
    home: Home, browser: Callable[..., Browser],
) -> None:
    officer = browser("po1")
    assert officer.post("/privacy/suspensions", {"person_id": "P0004", "reason": "利用停止請求 第7号"}).status_code == 303
    cw = browser("cw1")
    assert "P0004" not in cw.client.get("/candidates").text
    refused = cw.client.get("/children/P0004", params={"purpose": "assessment"})
    assert refused.status_code == 403 and "利用停止" in refused.text
    shown = officer.client.get("/children/P0004", params={"purpose": "disclosure_handling"})
    assert shown.status_code == 200
    history = officer.client.get("/privacy/history/P0004")
    assert history.status_code == 200 and "こども家庭センター職員" in history.text and "拒否" in history.text


def test_break_glass_opens_a_refused_record_loudly(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser("ssw1")
    refused = b.client.get("/children/P0003", params={"purpose": "assessment"})
    assert refused.status_code == 403 and "緊急閲覧" in refused.text
    short = b.post("/children/P0003/break-glass", {"purpose": "assessment", "justification": "急ぎ"})
    assert short.status_code == 403  # too short a justification: refused and recorded
    opened = b.post("/children/P0003/break-glass", {"purpose": "assessment", "minutes": "15",
                                                    "justification": "警察から夜間の通告があり、本人の安全確認が必要なため"})
    assert opened.status_code == 303
    page = b.client.get("/children/P0003", params={"purpose": "assessment"})
    assert page.status_code == 200 and "緊急閲覧中" in page.text
    with home.factory() as session:
        notices = list(session.scalars(select(PrivacyNotification).where(PrivacyNotification.kind == "break_glass")))
    assert len(notices) == 1 and notices[0].person_id == "P0003"


def test_pages_send_protective_headers(browser: Callable[..., Browser]) -> None:
    response = browser("cw1").client.get("/dashboard")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store" and response.headers["x-frame-options"] == "DENY"
    assert "https://" not in response.text.replace("https://www.", "")  # no outside assets

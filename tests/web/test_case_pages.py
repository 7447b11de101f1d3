"""The case pages: the case page and its forms (input kept on refusal), the child page's case section and
no-mark wording, the candidate list's status and owner, the worklists, the ledger and the PDFs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tsunagu.privacy import AuditEntry
from tsunagu.work import reviews
from web.conftest import Browser
from work.builders import Home

TODAY = datetime.now(UTC).date()
INTERNAL = re.compile(r"\b(cw1|ssw1|centre_caseworker|school_social_worker|family_centre|case\.\w+)\b")


def text_of(html: str) -> str:
    """What a person reads: the page without tags, attributes and scripts."""
    return re.sub(r"<[^>]+>", " ", html)


def open_case(home: Home) -> None:
    with home.factory.begin() as session:
        reviews.record_review(session, home.subject("cw1"), "assessment", "P0002", decision="support",
                              rationale="欠席が続く", cipher=home.cipher)


def test_child_page_says_no_mark_at_listing_once_a_case_is_open(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    before = b.client.get("/children/P0002?purpose=assessment").text
    assert "ノーマーク（どの支援機関も把握していない）" in before and "抽出時はノーマーク" not in before
    assert "ケースの状況" in before and "未確認" in before
    open_case(home)
    after = b.client.get("/children/P0002?purpose=assessment").text
    assert "抽出時はノーマーク" in after and "どの支援機関も把握していない" not in after
    assert "確認中" in after


def test_a_teacher_sees_no_case_section_and_records_no_case_read(home: Home, browser: Callable[..., Browser]) -> None:
    open_case(home)
    page = browser("teacher1").client.get("/children/P0001?purpose=assessment").text
    assert "ケースの状況" not in page
    with home.factory() as session:
        assert not session.scalars(select(AuditEntry).where(AuditEntry.actor == "teacher1",
                                                            AuditEntry.action.like("case.%"))).all()


def test_candidate_list_shows_status_owner_and_filters(home: Home, browser: Callable[..., Browser]) -> None:
    open_case(home)
    b = browser("cw1")
    assert b.post("/children/P0002/case/owner", {"owner": "cw1"}).status_code == 303
    page = b.client.get("/candidates").text
    assert "ケースの状況" in page and "中村 センター" in page and "抽出時はノーマーク" in page
    filtered = b.client.get("/candidates", params={"status": "確認中"}).text
    assert "/children/P0002" in filtered and "/children/P0001" not in filtered
    assert "/children/P0002" not in b.client.get("/candidates", params={"owner": "none"}).text
    csv = b.client.get("/candidates.csv").text
    assert "ケースの状況" in csv and "抽出時はノーマーク" in csv
    refused = b.client.get("/candidates", params={"status": "完了"})
    assert refused.status_code == 422 and "いずれか" in refused.text


def test_a_refused_form_keeps_what_was_typed_beside_the_error(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    # The one mechanism of web/forms.py: the case page again (422), the message beside its field.
    refused = b.post("/children/P0002/case/status", {"status": "見守り", "reason": "短い"})
    assert refused.status_code == 422
    assert "5文字以上" in refused.text and ">短い</textarea>" in refused.text
    assert re.search(r'id="c-reason-error"[^>]*>[^<]*5文字以上', refused.text)
    assert re.search(r'<option value="見守り" selected>', refused.text)  # the status chosen stays chosen
    assert '<textarea id="c-oreason" name="reason" rows="2"></textarea>' in refused.text  # the other form's reason: not refilled
    meeting = b.post("/children/P0002/meetings", {"held_on": TODAY.isoformat(), "agency_1": "こども家庭センター",
                                                  "role_1": "全体の調整", "decisions": "学習支援につなぐ"})
    assert meeting.status_code == 422 and "2つ以上の機関" in meeting.text
    assert re.search(r'id="m-attendees-error"[^>]*>[^<]*2つ以上の機関', meeting.text)
    assert 'value="全体の調整"' in meeting.text and ">学習支援につなぐ</textarea>" in meeting.text
    contact = b.post("/children/P0002/contacts", {"contact_on": "2026-13-01", "kind": "phone", "counterpart": "母",
                                                  "summary": "電話で様子を聞いた"})
    assert contact.status_code == 422 and ">電話で様子を聞いた</textarea>" in contact.text
    assert re.search(r'id="k-on-error"[^>]*>[^<]*YYYY-MM-DD', contact.text) and 'value="母"' in contact.text
    ledger = b.post("/children/P0002/ledger", {"category": "要支援児童", "lead_agency": "",
                                               "registered_on": TODAY.isoformat()})
    assert ledger.status_code == 422 and re.search(r'id="l-lead-error"[^>]*>[^<]*主担当機関', ledger.text)
    assert re.search(r'<option value="要支援児童" selected>', ledger.text)


def test_the_case_page_records_and_shows_names_not_ids(home: Home, browser: Callable[..., Browser]) -> None:
    b = browser("cw1")
    steps = [
        ("/children/P0002/case/owner", {"owner": "ssw1", "team": "中学校区チーム"}),
        ("/children/P0002/case/status", {"status": "確認中", "reason": "家庭の状況を確認する"}),
        ("/children/P0002/contacts", {"contact_on": TODAY.isoformat(), "kind": "home_visit", "counterpart": "母",
                                      "summary": "自宅で面談した"}),
        ("/children/P0002/meetings", {"held_on": TODAY.isoformat(), "agency_1": "こども家庭センター",
                                      "agency_2": "小学校", "people_2": "担任", "role_2": "登校の連絡",
                                      "decisions": "学習支援につなぐ",
                                      "next_review_on": (TODAY + timedelta(days=30)).isoformat()}),
        ("/children/P0002/ledger", {"category": "要支援児童", "lead_agency": "こども家庭センター",
                                    "registered_on": TODAY.isoformat()}),
    ]
    for url, form in steps:
        response = b.post(url, form)
        assert response.status_code == 303, (url, response.text[:300])
    page = b.client.get("/children/P0002/case").text
    for expected in ("佐藤　花子", "山田 SSW", "中学校区チーム", "家庭訪問", "自宅で面談した", "登校の連絡", "学習支援につなぐ",
                     "要支援児童", "家庭の状況を確認する", "未確認 → 確認中"):
        assert expected in page, expected
    assert INTERNAL.findall(text_of(page)) == []
    assert re.findall(r"\b[a-z_]{3,}\b", text_of(page)) == []  # no English or codes where people read
    assert "進行管理台帳に登録（要支援児童" in page


def test_worklists_ledger_and_pdfs(home: Home, browser: Callable[..., Browser]) -> None:
    open_case(home)
    b = browser("cw1")
    assert b.post("/children/P0002/case/owner", {"owner": "cw1"}).status_code == 303
    assert b.post("/children/P0002/ledger", {"category": "要保護児童", "lead_agency": "こども家庭センター",
                                             "registered_on": (TODAY - timedelta(days=100)).isoformat()}).status_code == 303
    mine = b.client.get("/cases/mine").text
    assert "/children/P0002/case" in mine and "中村 センター" in mine and "佐藤　花子" in mine
    assert "該当するケースはありません" in b.client.get("/cases/unassigned").text
    ledger = b.client.get("/ledger").text
    assert "期限切れ" in ledger and "要保護児童" in ledger and "1件あります" in ledger and "佐藤　花子" in ledger
    with home.factory() as session:
        listed = session.scalars(select(AuditEntry).where(AuditEntry.actor == "cw1", AuditEntry.action == "case.list",
                                                          AuditEntry.person_id == "P0002")).all()
    assert listed and all("record:resident_registry:juki_jumin" in e.items for e in listed)
    nav = re.findall(r'<nav class="site-nav".*?</nav>', ledger, re.S)[0]
    assert "ケース" in nav and "進行管理台帳" in nav
    for url in ("/ledger/agenda.pdf", "/children/P0002/case-summary.pdf"):
        response = b.client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"%PDF"), url
        assert b"IPAexGothic" in response.content  # the Japanese font travels with the document
    teacher = browser("teacher1")
    assert teacher.client.get("/ledger").status_code == 403
    assert "ケース" not in re.findall(r'<nav class="site-nav".*?</nav>', teacher.client.get("/dashboard").text, re.S)[0]

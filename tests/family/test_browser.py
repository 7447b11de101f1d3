"""The guardian's journey in a real browser (Debian's Chromium through Playwright), with axe-core.

A guardian enrols with the code from the letter, sees the toddler's check-ups, vaccinations and
what is due next, sees who looked at the child's data (a child-protection access withheld and
said to be), and files a correction request that the privacy officer then finds in the staff
queue. Every portal page is photographed at phone (390 px), tablet (768 px) and desktop (1280 px)
widths into test-artifacts/screenshots/family/ and checked with axe (no serious or critical).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from family.builders import SATO
from family.web import PASSWORD, issue
from support.hubs import copy_home
from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.privacy import Subject, authorise
from tsunagu.web.app import create_app
from tsunagu.work.family.issue import IssuedCode
from web.test_browser import serious_violations, sign_in
from work.builders import open_home

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "family"
WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1280, 900)}


@dataclass
class Portal:
    url: str
    issued: IssuedCode


@pytest.fixture(scope="module")
def portal(family_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    target = tmp_path_factory.mktemp("family-browser") / "home"
    copy_home(family_template, target, scope="session")
    home = open_home(target)
    cw = Subject("cw1", "centre_caseworker", "family_centre")
    with home.factory.begin() as session:  # what the family will see (and what it will not)
        authorise(session, cw, "child.view", "assessment", person_id="P0005", relationship="municipality")
        authorise(session, cw, "intake.read", "assessment", person_id="P0005", relationship="own_agency", sensitivity=3)
    issued = issue(home, SATO)
    home.close()
    with served(create_app(home.settings)) as url:
        yield Portal(url, issued)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def shots(page: Page, name: str) -> list[dict[str, Any]]:
    """The page at each width, photographed and checked by axe at each."""
    problems: list[dict[str, Any]] = []
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        problems += [{**v, "page": name, "width": label} for v in serious_violations(page)]
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{name} scrolls sideways at {label}"
    return problems


def test_a_guardian_enrols_sees_health_and_history_and_files_a_correction(portal: Portal, chromium: Browser) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
    page = context.new_page()
    page.goto(f"{portal.url}/family/login")
    problems = shots(page, "00-login")
    page.get_by_role("link", name="はじめて使うかた（登録コードで登録する）").click()
    page.get_by_label("利用者番号（例: K-1234-5678）").fill(portal.issued.login_id)
    page.get_by_label("登録コード（12文字。ハイフンはなくてもかまいません）").fill("WRONG-CODE-0000")
    page.get_by_label("パスワードを決めてください（12文字以上）").fill(PASSWORD)
    page.get_by_label("パスワード（確認のため、もう一度）").fill(PASSWORD)
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_role("alert")).to_contain_text("登録コードが違う")
    expect(page.get_by_label("利用者番号（例: K-1234-5678）")).to_have_value(portal.issued.login_id)  # kept
    problems += shots(page, "01-enrol-refused")
    page.get_by_label("登録コード（12文字。ハイフンはなくてもかまいません）").fill(portal.issued.code)
    page.get_by_label("パスワードを決めてください（12文字以上）").fill(PASSWORD)
    page.get_by_label("パスワード（確認のため、もう一度）").fill(PASSWORD)
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_text("登録が終わりました")).to_be_visible()
    expect(page.get_by_role("heading", name="佐藤　陽太")).to_be_visible()
    expect(page.get_by_role("heading", name="佐藤　花子")).to_be_visible()
    expect(page.get_by_text("鈴木")).to_have_count(0)
    problems += shots(page, "02-home")

    page.locator("li.child-card", has_text="佐藤　陽太").get_by_role("link", name=re.compile("^健診・予防接種")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("佐藤　陽太")
    expect(page.get_by_role("cell", name="乳児健診（4か月）")).to_be_visible()
    expect(page.get_by_role("cell", name="定期予防接種の未接種数")).to_be_visible()
    expect(page.get_by_text("1歳6か月児健診").first).to_be_visible()
    expect(page.get_by_text("EPDS")).to_have_count(0)
    problems += shots(page, "03-health")

    page.get_by_role("link", name="だれが見たか").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("こども家庭センター")
    expect(table).to_contain_text("二次アセスメント")
    expect(page.get_by_text("ここに出していない記録が 1件あります。")).to_be_visible()
    problems += shots(page, "04-history")

    page.get_by_role("link", name="請求（開示・訂正・利用停止）").click()
    page.get_by_label("訂正請求（まちがっている記録を、なおしてもらう。回答は30日以内）").check()
    page.get_by_role("button", name="請求を出す").click()
    expect(page.get_by_role("alert")).to_contain_text("なおしてほしい記録を選んでください")
    problems += shots(page, "05-request-refused")
    page.get_by_label("乳児健診（4か月）: 受診（2025年10月15日）").check()
    page.get_by_label("訂正のとき: 正しい内容").fill("受診日は2025年10月16日です")
    page.get_by_role("button", name="請求を出す").click()
    expect(page.get_by_role("status")).to_contain_text("請求を受け付けました")
    expect(page.get_by_role("table")).to_contain_text("訂正請求")
    expect(page.get_by_role("table")).to_contain_text("受付")
    problems += shots(page, "06-requests")

    page.goto(f"{portal.url}/family/children/P0003")
    expect(page.get_by_role("alert")).to_contain_text("表示できません")
    problems += shots(page, "07-other-family-refused")
    context.close()

    officer = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP").new_page()
    sign_in(officer, portal.url, "po1")
    officer.goto(f"{portal.url}/privacy/requests")
    row = officer.get_by_role("row").filter(has_text="P0005")
    expect(row).to_contain_text("訂正請求")
    expect(row).to_contain_text("法定代理人")
    officer.screenshot(path=str(SHOTS / "08-staff-queue.png"), full_page=True)
    officer.context.close()
    assert problems == []

"""相談する in a real browser (Debian's Chromium through Playwright), with axe-core.

A guardian signs in, opens 相談する, names her toddler and writes an urgent message; the centre's
on-duty caseworker signs in and finds it first in the inbox, marked 緊急 and 保護者から, above a
child's earlier ordinary thread, with the alert banner; the guardian then consents to the link and
the caseworker links the thread to the child she named. Pages photographed at 390 and 1280 px into
test-artifacts/screenshots/family/ and checked with axe (no serious or critical).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from family.builders import SATO
from family.test_browser import SHOTS
from family.web import PASSWORD, issue
from support.hubs import copy_home
from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.privacy import Subject
from tsunagu.web.app import create_app
from tsunagu.work.family import accounts
from tsunagu.work.voice import alerts, threads
from tsunagu.work.voice.codes import code_key
from web.test_browser import serious_violations, sign_in
from work.builders import open_home

WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.fixture(scope="module")
def served_home(family_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    target = tmp_path_factory.mktemp("family-consult-browser") / "home"
    copy_home(family_template, target, scope="session")
    home = open_home(target)
    issued = issue(home, SATO)
    with home.factory.begin() as session:
        accounts.enrol(session, issued.login_id, issued.code, PASSWORD, PASSWORD, "test")
        alerts.set_duty(session, Subject("cw1", "centre_caseworker", "family_centre"), ["cw1"])
        earlier = threads.start_anonymous(session, code_key=code_key(target))[0]  # an ordinary child's thread
        threads.write(session, earlier, "しゅくだいが おわらない", cipher=home.cipher)
    home.close()
    with served(create_app(home.settings)) as url:
        yield url, issued.login_id


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def shots(page: Page, name: str) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"consult-{name}-{label}.png"), full_page=True)
        problems += [{**v, "page": name, "width": label} for v in serious_violations(page)]
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"), (name, label)
    return problems


def test_a_guardian_s_urgent_message_reaches_the_on_duty_inbox_first(served_home: tuple[str, str],
                                                                       chromium: Browser) -> None:
    base, login_id = served_home
    page = chromium.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP").new_page()
    page.goto(f"{base}/family/login")
    page.get_by_label("利用者番号").fill(login_id)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.get_by_role("link", name="相談する").click()
    expect(page.get_by_role("heading", level=1, name="相談する")).to_be_visible()
    expect(page.get_by_text("189").first).to_be_visible()
    problems = shots(page, "01-start")
    page.get_by_label("どのお子さんのことですか（選ばなくてもかまいません）").select_option(label="佐藤　陽太")
    page.get_by_label("相談の内容（2000文字まで）").fill("夫に殴られることがあります。今夜は子どもと家に帰りたくないです。")
    page.get_by_role("button", name="送る").click()
    expect(page.get_by_role("status")).to_contain_text("送りました")
    expect(page.get_by_role("heading", level=1)).to_contain_text("佐藤　陽太さんのこと")
    expect(page.locator("ol.chat li.writer")).to_contain_text("家に帰りたくない")
    expect(page.get_by_role("alert")).to_contain_text("当番の職員に急ぎで知らせました")
    problems += shots(page, "02-thread")

    staff = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP").new_page()
    sign_in(staff, base, "cw1")
    expect(staff.get_by_role("alert").filter(has_text="緊急の相談があります（1件）")).to_be_visible()
    staff.goto(f"{base}/voice")
    first = staff.locator("table.inbox tbody tr").first
    expect(first).to_contain_text("緊急")
    expect(first).to_contain_text("保護者から")
    expect(first).to_contain_text("殴られる・たたかれる")
    expect(staff.locator("table.inbox tbody tr").nth(1)).to_contain_text("名前を言わない相談")
    staff.screenshot(path=str(SHOTS / "consult-03-staff-inbox-desktop.png"), full_page=True)
    problems += [{**v, "page": "staff-inbox"} for v in serious_violations(staff)]

    page.get_by_role("button", name="佐藤　陽太さんの記録と結び付けてよい").click()
    expect(page.get_by_text("「結び付けてよい」と受け付けました")).to_be_visible()
    first.get_by_role("link").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("保護者から")
    staff.get_by_role("button", name="保護者が選んだお子さんの記録に結び付ける").click()
    expect(staff.get_by_text("子どもの記録に結び付けました。")).to_be_visible()
    staff.screenshot(path=str(SHOTS / "consult-04-staff-thread-desktop.png"), full_page=True)
    page.reload()
    expect(page.get_by_text("お子さんの支援の記録と結び付けました")).to_be_visible()
    problems += shots(page, "05-linked")
    assert problems == []

"""The programme officer's pages in a real browser (Debian's Chromium), checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.web.app import create_app
from web.test_browser import SHOTS, new_page, serious_violations, shot, sign_in
from web.test_outreach_pages import _household, _seed
from work.builders import build_home


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = build_home(tmp_path_factory.mktemp("outreach-browser"))
    _seed(home)
    _household(home)
    home.close()
    with served(create_app(home.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def test_the_officer_reads_the_gaps_and_the_outcomes(server: str, chromium: Browser) -> None:
    page = new_page(chromium)
    sign_in(page, server, "officer1")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="未利用の対象世帯").click()
    expect(page.get_by_role("heading", level=1, name="未利用の対象世帯（教育委員会 学務課）")).to_be_visible()
    expect(page.get_by_text("佐藤　花子")).to_be_visible()
    expect(page.get_by_text("経済的な事情による要件に当たる").first).to_be_visible()
    shot(page, "20-outreach")
    problems = {"outreach": serious_violations(page)}
    page.get_by_role("link", name="案内の結果を見る").click()
    expect(page.get_by_role("heading", level=1, name="案内の結果")).to_be_visible()
    expect(page.get_by_role("cell", name="1人（120日以内）")).to_be_visible()
    shot(page, "21-outreach-outcomes")
    problems["outcomes"] = serious_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}
    page.context.close()


def test_the_officer_records_a_familys_request_and_a_blank_one_comes_back(server: str, chromium: Browser) -> None:
    page = new_page(chromium)
    sign_in(page, server, "officer1")
    page.goto(f"{server}/outreach")
    page.get_by_text("家族からの申出を記録する").click()
    page.get_by_label("案内の言語").select_option(label="ベトナム語")
    page.get_by_role("button", name="案内の言語を記録する").click()
    expect(page.get_by_role("status")).to_contain_text("案内の言語を記録しました")
    expect(page.get_by_text("案内の言語: ベトナム語")).to_be_visible()
    page.get_by_text("家族からの申出を記録する").click()
    page.get_by_label("停止する案内").select_option(label="就学援助")
    page.get_by_label("申出の内容（日付・方法など）").fill("　")
    page.get_by_role("button", name="案内の停止を記録する").click()
    expect(page.get_by_text("申出の内容を入力してください")).to_be_visible()
    expect(page.get_by_label("停止する案内")).to_have_value("school_aid")
    expect(page.get_by_label("案内の言語")).to_have_value("vi")  # what the family asked for, as recorded
    shot(page, "22-outreach-request")
    assert serious_violations(page) == []
    page.context.close()

"""The requests pages in Debian's Chromium: receive, see the due date, answer; axe-core finds nothing serious.

Screenshots go to test-artifacts/screenshots/ (rights-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.web.app import create_app
from tsunagu.work.rights.requests import jst_today
from web.test_browser import SHOTS, new_page, serious_violations, shot, sign_in
from work.builders import build_home


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = build_home(tmp_path_factory.mktemp("rights-browser"))
    home.close()
    with served(create_app(home.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as launched:
        yield launched


def test_receive_track_and_answer_requests(server: str, browser: Browser) -> None:
    page = new_page(browser)
    sign_in(page, server, "po1")
    page.goto(f"{server}/privacy")
    page.get_by_role("link", name="本人・法定代理人からの請求（開示・訂正・利用停止・削除）").click()
    page.get_by_label("個人ID").fill("P0001")
    page.get_by_label("種類").select_option("correction")
    page.get_by_label("請求者", exact=True).select_option("legal_representative")
    page.get_by_label("請求者の補足（例: 母（親権者））").fill("母（親権者）")
    page.get_by_label("受付日").fill((jst_today() - timedelta(days=35)).isoformat())
    page.get_by_label("記録を持つ部署").select_option("juki_jumin")  # shown as 住民記録（住民票）
    page.get_by_label("記録番号").fill("1000000001")
    page.get_by_label("項目", exact=True).select_option("full_name")  # shown as 氏名
    page.get_by_label("本人が正しいとする値").fill("高橋　太郎")
    page.get_by_role("button", name="受け付ける").click()
    expect(page.get_by_role("status")).to_contain_text("請求を受け付けました")
    expect(page.get_by_role("alert")).to_contain_text("過ぎています")
    assert serious_violations(page) == []
    shot(page, "rights-request")
    page.goto(f"{server}/privacy/requests")
    expect(page.get_by_text("期限超過 5日")).to_be_visible()
    assert serious_violations(page) == []
    shot(page, "rights-requests")

    steward = new_page(browser)
    sign_in(steward, server, "steward1")
    steward.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="訂正の連絡").click()
    expect(steward.get_by_text("高橋　太郎")).to_be_visible()
    assert serious_violations(steward) == []
    steward.get_by_label("回答", exact=True).select_option("rejected")
    steward.get_by_label("理由・補足").fill("住民票は届出のとおりで誤りはありません")
    steward.get_by_role("button", name="回答する").click()
    expect(steward.get_by_role("status")).to_contain_text("回答しました")
    shot(steward, "rights-corrections")

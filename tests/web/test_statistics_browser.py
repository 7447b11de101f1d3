"""The 統計 page in Debian's Chromium: the statistics officer's menu, charts, and axe-core (fails without Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.config import load_settings
from tsunagu.web.app import create_app
from web.test_browser import SHOTS, new_page, serious_violations, shot, sign_in
from web.test_statistics import add_statistics_officer
from work.builders import build_home


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def test_the_statistics_officer_sees_charts_and_no_child(tmp_path: Path, chromium: Browser) -> None:
    home = build_home(tmp_path)
    add_statistics_officer(home)
    home.close()
    # The municipal setting: k = 2 here, so that the four children of the small home leave something to draw.
    with home.settings.config_path.open("a", encoding="utf-8") as config:
        config.write("statistics_k: 2\n")
    home.settings = load_settings(home.settings.home)
    with served(create_app(home.settings)) as server:
        page = new_page(chromium)
        sign_in(page, server, "stats1")
        menu = page.get_by_role("navigation", name="メインメニュー")
        expect(menu.get_by_role("link", name="候補一覧")).to_have_count(0)
        menu.get_by_role("link", name="統計").click()
        expect(page.get_by_role("heading", level=1, name="統計")).to_be_visible()
        expect(page.locator("svg.stats-chart").first).to_be_visible()
        expect(page.get_by_text("2人未満").first).to_be_visible()
        expect(page.get_by_role("link", name="議会向けPDF報告書")).to_be_visible()
        assert "P0001" not in page.content()
        shot(page, "20-statistics")
        assert serious_violations(page) == []

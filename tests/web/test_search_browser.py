"""In a real browser: search a named child from the header box, open it, see the face sheet (name,
household), the charts and the household view; an SSW finds a class (3年2組) of their school; axe on
the new pages; screenshots at 1280 and 768 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.web.app import create_app
from web.test_browser import serious_violations, sign_in
from work.builders import build_home
from work.searching import make_searchable

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = (1280, 768)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = build_home(tmp_path_factory.mktemp("search-browser"))
    make_searchable(home)
    home.close()
    with served(create_app(home.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def page_at(chromium: Browser, width: int) -> Page:
    return chromium.new_context(viewport={"width": width, "height": 900}, locale="ja-JP").new_page()


@pytest.mark.parametrize("width", WIDTHS)
def test_search_a_named_child_then_its_face_sheet_household_and_charts(
        server: str, chromium: Browser, width: int) -> None:
    page = page_at(chromium, width)
    sign_in(page, server, "cw1")
    header = page.get_by_role("search", name="こどもの検索")
    header.get_by_label("氏名・よみ・生年月日・宛名番号・組で検索").fill("たかはし H30.4.1")
    header.get_by_label("利用目的").select_option("assessment")
    header.get_by_role("button", name="検索").click()
    expect(page.get_by_role("heading", level=2, name="検索結果（1人）")).to_be_visible()
    # The row names the class as the face sheet does (the roster's 組, released for assessment).
    expect(page.locator("tr", has_text="髙橋　太郎")).to_contain_text("S001 小学5年2組")
    page.screenshot(path=str(SHOTS / f"search-{width}.png"), full_page=True)
    problems = {"search": serious_violations(page)}

    page.get_by_role("link", name="髙橋　太郎").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("髙橋　太郎")
    face = page.locator("section.face-sheet")
    expect(face).to_contain_text("8歳")
    expect(face).to_contain_text("5年2組")
    expect(face).to_contain_text("髙橋　洋子（母）")
    expect(face).to_contain_text("佐藤　花子")
    expect(page.get_by_role("img", name=re.compile("月ごとの出欠"))).to_be_visible()
    expect(page.get_by_role("img", name="支援区分の推移")).to_be_visible()
    detail = page.locator("details.timeline-detail")
    expect(detail.locator("table")).to_be_hidden()
    detail.locator("summary").click()
    expect(detail.locator("table")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"child-face-sheet-{width}.png"), full_page=True)
    problems["child"] = serious_violations(page)

    face.get_by_role("link", name="世帯の詳細を見る").click()
    expect(page.get_by_role("heading", level=1, name="髙橋　太郎の世帯")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("保護者")
    expect(page.locator("tr", has_text="本人")).to_contain_text("S001 小学5年2組")
    page.screenshot(path=str(SHOTS / f"household-{width}.png"), full_page=True)
    problems["household"] = serious_violations(page)
    assert problems == {"search": [], "child": [], "household": []}
    page.context.close()


def test_an_ssw_finds_a_class_of_their_school_from_the_header_box(server: str, chromium: Browser) -> None:
    page = page_at(chromium, WIDTHS[0])
    sign_in(page, server, "ssw1")
    header = page.get_by_role("search", name="こどもの検索")
    header.get_by_label("氏名・よみ・生年月日・宛名番号・組で検索").fill("3年2組")
    header.get_by_role("button", name="検索").click()
    expect(page.get_by_role("heading", level=2, name="検索結果（S001 小学3年2組、1人）")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("佐藤　花子")
    expect(page.locator("tr", has_text="佐藤　花子")).to_contain_text("S001 小学3年2組")
    expect(page.get_by_role("table")).not_to_contain_text("髙橋")
    page.screenshot(path=str(SHOTS / "search-class-1280.png"), full_page=True)
    assert serious_violations(page) == []
    page.context.close()

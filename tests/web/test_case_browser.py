"""A case from the candidate list to closure in Debian's Chromium, checked with axe-core: assessment →
plan → referral → contact → meeting → closure, and the candidate list showing the new status.
Screenshots at 1280 px and 768 px go to test-artifacts/screenshots/ (fails without Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.web.app import create_app
from web.test_browser import SHOTS, serious_violations, shot, sign_in
from work.builders import build_home

TODAY = datetime.now(UTC).date()
WIDTHS = (1280, 768)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = build_home(tmp_path_factory.mktemp("case-browser"))
    home.close()
    with served(create_app(home.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def page_at(chromium: Browser, width: int) -> Page:
    return chromium.new_context(viewport={"width": width, "height": 900}, locale="ja-JP").new_page()


def saved(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def test_a_case_from_the_list_to_closure(server: str, chromium: Browser) -> None:
    page = page_at(chromium, 1280)
    sign_in(page, server, "cw1")
    problems: dict[str, list[dict[str, Any]]] = {}
    page.goto(f"{server}/candidates")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="P0002"))
    expect(row).to_contain_text("未確認")
    expect(row).to_contain_text("ノーマーク")

    row.get_by_role("link", name="P0002").click()
    page.get_by_label("二次アセスメント").check()
    page.get_by_role("button", name="記録を開く").click()
    expect(page.get_by_role("heading", name="ケースの状況")).to_be_visible()
    page.get_by_role("link", name="二次アセスメント").click()
    page.get_by_label("登校・出欠の様子").select_option("some")
    page.get_by_label("支援する").check()
    page.get_by_label("判断の根拠（暗号化して保存されます）").fill("欠席が増え、家庭との連絡もつきにくい。")
    page.get_by_role("button", name="二次アセスメントを記録する").click()
    expect(page.get_by_text("二次アセスメントを記録しました")).to_be_visible()

    page.get_by_label("支援の目標（暗号化して保存）").fill("放課後に安心して過ごせる場所を持つ")
    page.get_by_label("主に担当する機関").fill("こども家庭センター")
    page.get_by_role("button", name="支援方針を作成する").click()
    expect(page.get_by_text("支援方針を作成しました")).to_be_visible()
    page.get_by_label("社会資源").select_option(label="居場所・こども食堂 — こども食堂 ひだまり")
    page.get_by_role("button", name="つなぎを記録する").click()
    expect(page.get_by_text("つなぎを記録しました")).to_be_visible()

    page.goto(f"{server}/children/P0002/case?purpose=support_coordination")
    expect(page.locator("dd").filter(has_text="支援中").first).to_be_visible()
    page.get_by_label("担当者", exact=True).select_option("cw1")
    page.get_by_role("button", name="割り当てる").click()
    saved(page, "担当者を記録しました")
    page.get_by_label("連絡の種別").select_option("home_visit")
    page.get_by_label("相手（例: 母、学校の担任）").fill("母・本人")
    page.get_by_label("内容（暗号化して保存）").fill("自宅で面談。こども食堂の見学を提案し、母は前向き。")
    page.get_by_role("button", name="連絡記録を追加").click()
    saved(page, "連絡記録を追加しました")
    expect(page.get_by_role("cell", name="母・本人")).to_be_visible()

    page.get_by_label("機関 1", exact=True).fill("こども家庭センター")
    page.get_by_label("役割分担 1", exact=True).fill("全体の調整")
    page.get_by_label("決定事項（暗号化して保存）").fill("こども食堂の利用を始める。")
    page.get_by_role("button", name="会議を記録").click()
    expect(page.get_by_role("alert").filter(has_text="2つ以上の機関")).to_be_visible()  # kept, beside the form
    expect(page.get_by_label("役割分担 1", exact=True)).to_have_value("全体の調整")
    page.get_by_label("機関 2", exact=True).fill("小学校")
    page.get_by_label("出席者 2", exact=True).fill("担任・教頭")
    page.get_by_label("役割分担 2", exact=True).fill("登校状況を毎週連絡")
    page.get_by_label("次回の見直し日").fill((TODAY + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="会議を記録").click()
    saved(page, "個別ケース検討会議を記録しました")
    expect(page.get_by_role("cell", name="登校状況を毎週連絡")).to_be_visible()
    problems["case"] = serious_violations(page)

    page.get_by_role("link", name="支援方針・つなぎへ").click()
    page.locator("select[name=status]").first.select_option("closed")
    page.locator("select[name=outcome]").first.select_option("using")
    page.get_by_role("button", name="つなぎを更新").click()
    expect(page.get_by_text("つなぎを記録しました")).to_be_visible()
    page.get_by_label("終結の理由・結果").fill("こども食堂の利用が定着し、登校も安定した")
    page.get_by_role("button", name="支援方針を終結する").click()
    expect(page.get_by_text("支援方針を終結しました")).to_be_visible()

    page.goto(f"{server}/candidates?status=終結")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="P0002"))
    expect(row).to_contain_text("終結")
    expect(row).to_contain_text("中村 センター")
    expect(row).to_contain_text("抽出時はノーマーク")
    problems["candidates"] = serious_violations(page)
    shot(page, "case-20-candidates-closed-1280")
    page.goto(f"{server}/children/P0002/case?purpose=support_coordination")
    expect(page.get_by_role("cell", name="支援中 → 終結", exact=False)).to_be_visible()
    assert {name: found for name, found in problems.items() if found} == {}
    page.context.close()


def test_case_pages_at_desktop_and_tablet_width(server: str, chromium: Browser) -> None:
    problems: dict[str, list[dict[str, Any]]] = {}
    for width in WIDTHS:
        page = page_at(chromium, width)
        sign_in(page, server, "cw1")
        if width == WIDTHS[0]:
            page.goto(f"{server}/children/P0003/case?purpose=support_coordination")
            page.get_by_label("主担当機関").fill("こども家庭センター")
            page.get_by_label("登録日").fill((TODAY - timedelta(days=100)).isoformat())
            page.get_by_role("button", name="台帳に登録").click()
            saved(page, "進行管理台帳に登録しました")
            page.get_by_label("担当者", exact=True).select_option("cw1")
            page.get_by_role("button", name="割り当てる").click()
            saved(page, "担当者を記録しました")
        for name, url in (("case", "/children/P0003/case?purpose=support_coordination"), ("mine", "/cases/mine"),
                          ("unassigned", "/cases/unassigned"), ("overdue", "/cases/overdue"), ("ledger", "/ledger"),
                          ("child", "/children/P0003?purpose=support_coordination")):
            page.goto(f"{server}{url}")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            shot(page, f"case-{name}-{width}")
            problems[f"{name}-{width}"] = serious_violations(page)
        page.goto(f"{server}/ledger")
        expect(page.get_by_role("row").filter(has_text="P0003")).to_contain_text("期限切れ")
        page.goto(f"{server}/cases/mine")
        expect(page.get_by_role("row").filter(has_text="P0003")).to_contain_text("中村 センター")
        page.context.close()
    assert {name: found for name, found in problems.items() if found} == {}

"""The staff journey in a real browser (Debian's Chromium driven by Playwright), with axe-core.

Like the PostgreSQL tests, these fail rather than skip when Chromium is missing: install the
Debian packages in scripts/apt-packages.txt (chromium, fonts-ipaexfont-gothic). Screenshots of
each page go to test-artifacts/screenshots/ for a person to look at (Japanese must render).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.web.app import create_app
from work.builders import PASSWORD, build_home

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = build_home(tmp_path_factory.mktemp("browser"))
    home.close()
    with served(create_app(home.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def new_page(chromium: Browser) -> Page:
    # A tablet in landscape: the app is meant to be used on one.
    context = chromium.new_context(viewport={"width": 1180, "height": 820}, locale="ja-JP")
    return context.new_page()


def sign_in(page: Page, base: str, user_id: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("利用者ID").fill(user_id)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1, name="ダッシュボード")).to_be_visible()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    # Injected from the app's own origin: the Content-Security-Policy allows no other script.
    page.add_script_tag(url="/static/js/axe.min.js")
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_staff_journey_from_sign_in_to_follow_up(server: str, chromium: Browser) -> None:
    page = new_page(chromium)
    page.goto(f"{server}/")
    shot(page, "00-login")
    problems: dict[str, list[dict[str, Any]]] = {"login": serious_violations(page)}
    sign_in(page, server, "cw1")
    expect(page.get_by_text("重点支援").first).to_be_visible()
    shot(page, "01-dashboard")
    problems["dashboard"] = serious_violations(page)

    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="候補一覧").click()
    expect(page.get_by_role("heading", level=1, name="候補一覧")).to_be_visible()
    expect(page.get_by_role("link", name="P0003")).to_be_visible()
    page.get_by_label("支援区分").select_option("重点支援")  # htmx swaps the results in place
    expect(page.get_by_role("link", name="P0003")).to_have_count(0)
    expect(page).to_have_url(f"{server}/candidates?purpose=screening&school=&grade=&tier=%E9%87%8D%E7%82%B9%E6%94%AF%E6%8F%B4&domain=&status=&owner=&sort=tier")
    shot(page, "02-candidates")
    problems["candidates"] = serious_violations(page)

    page.get_by_role("link", name="P0001").click()
    expect(page.get_by_role("heading", name="利用目的を選んでください")).to_be_visible()
    shot(page, "03-purpose")
    page.get_by_label("二次アセスメント").check()
    page.get_by_role("button", name="記録を開く").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("髙橋　太郎")  # the name first, not the id
    page.locator("details.timeline-detail summary").click()  # the records behind the monthly chart
    expect(page.get_by_role("cell", name="欠席日数（月）").first).to_be_visible()
    expect(page.locator("svg.trend")).to_be_visible()
    shot(page, "04-child")
    problems["child"] = serious_violations(page)

    page.get_by_role("link", name="二次アセスメント").click()
    page.get_by_label("登校・出欠の様子").select_option("serious")
    page.get_by_label("支援する").check()
    page.get_by_label("判断の根拠（暗号化して保存されます）").fill("10月の欠席が8日に増え、給食費も4か月滞納。家庭の状況を確認したい。")
    shot(page, "05-assessment")
    problems["assessment"] = serious_violations(page)
    page.get_by_role("button", name="二次アセスメントを記録する").click()
    expect(page.get_by_text("二次アセスメントを記録しました")).to_be_visible()

    page.get_by_label("支援の目標（暗号化して保存）").fill("毎日登校でき、放課後に安心して過ごせる場所を持つ")
    page.get_by_label("主に担当する機関").fill("こども家庭センター")
    page.get_by_label("次回の見直し日").fill("2027-01-31")
    page.get_by_role("button", name="支援方針を作成する").click()
    expect(page.get_by_text("支援方針を作成しました")).to_be_visible()

    page.get_by_label("社会資源").select_option(label="居場所・こども食堂 — こども食堂 ひだまり")
    page.get_by_label("記録（暗号化して保存）").fill("保護者の同意を得て見学を調整")
    page.get_by_role("button", name="つなぎを記録する").click()
    expect(page.get_by_text("つなぎを記録しました")).to_be_visible()
    expect(page.get_by_role("cell", name="こども食堂 ひだまり", exact=True)).to_be_visible()

    page.get_by_label("期日").fill("2026-12-15")
    page.get_by_label("担当者").select_option("cw1")
    page.get_by_label("内容（暗号化して保存）").fill("見学後に本人と保護者へ様子を確認")
    page.get_by_role("button", name="フォローアップを記録する").click()
    expect(page.get_by_text("フォローアップを記録しました")).to_be_visible()
    expect(page.get_by_role("cell", name="2026-12-15")).to_be_visible()
    shot(page, "06-support")
    problems["support"] = serious_violations(page)

    page.get_by_role("link", name="ダッシュボード").click()
    expect(page.get_by_role("link", name="P0001")).to_be_visible()  # my open follow-up
    page.get_by_role("link", name="社会資源").first.click()
    shot(page, "07-resources")
    problems["resources"] = serious_violations(page)
    page.goto(f"{server}/public/resources")
    shot(page, "08-public-resources")
    problems["public"] = serious_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}
    page.context.close()


def test_teacher_cannot_open_a_child_of_another_school(server: str, chromium: Browser) -> None:
    page = new_page(chromium)
    sign_in(page, server, "teacher2")
    response = page.goto(f"{server}/children/P0001?purpose=assessment")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("拒否")
    expect(page.get_by_text("髙橋")).to_have_count(0)
    shot(page, "09-teacher-refused")
    assert serious_violations(page) == []
    page.context.close()


def test_the_access_appears_in_the_childs_access_history(server: str, chromium: Browser) -> None:
    caseworker = new_page(chromium)
    sign_in(caseworker, server, "cw1")
    caseworker.goto(f"{server}/children/P0003?purpose=support_coordination")
    expect(caseworker.get_by_role("heading", level=1)).to_contain_text("鈴木　一郎")
    caseworker.context.close()

    officer = new_page(chromium)
    sign_in(officer, server, "po1")
    officer.get_by_role("link", name="個人情報保護").click()
    shot(officer, "10-privacy")
    problems = serious_violations(officer)
    officer.goto(f"{server}/privacy/history/P0003")
    table = officer.get_by_role("table")
    expect(table).to_contain_text("こども家庭センター職員")
    expect(table).to_contain_text("支援調整")
    expect(table).to_contain_text("子どもの概要の閲覧")
    shot(officer, "11-access-history")
    problems += serious_violations(officer)
    assert problems == []
    officer.context.close()


def test_admin_pages_render_accessibly(server: str, chromium: Browser) -> None:
    page = new_page(chromium)
    sign_in(page, server, "admin1")
    page.get_by_role("link", name="管理").click()
    expect(page.get_by_role("heading", name="利用者と役割")).to_be_visible()
    expect(page.get_by_role("cell", name="teacher1", exact=True)).to_be_visible()
    shot(page, "12-admin")
    assert serious_violations(page) == []
    page.context.close()

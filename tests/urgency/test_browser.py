"""An intake recorded in a real browser (Debian's Chromium via Playwright, tablet viewport): its due
time, the hard rules before the estimate, a decision refused without a reason, the due list.
Screenshots go to test-artifacts/screenshots/ (urgency-*.png) for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from support.hubs import copy_home
from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.web.app import create_app
from work.builders import PASSWORD, open_home

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture(scope="module")
def server(urgency_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    target = tmp_path_factory.mktemp("urgency-browser") / "home"
    copy_home(urgency_template, target, scope="session")
    home = open_home(target)
    home.close()
    with served(create_app(home.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def serious(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(url="/static/js/axe.min.js")
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_intake_in_the_browser(server: str, chromium: Browser) -> None:
    page = chromium.new_context(viewport={"width": 1180, "height": 820}, locale="ja-JP").new_page()
    page.goto(f"{server}/")
    page.get_by_label("利用者ID").fill("cw1")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="受理・安全確認").click()
    page.get_by_role("link", name="通告・相談を受理する").click()
    expect(page.get_by_role("heading", level=1, name="通告・相談の受理")).to_be_visible()
    problems = {"form": serious(page)}
    page.get_by_label("通告・相談者の区分").select_option("学校")
    page.locator("#aza_number").fill("1000000002")
    page.locator("#concern").fill("右腕に複数のあざ。家に帰りたくないと担任に話した")
    page.get_by_role("group", name="外傷の程度").get_by_label("中等度").check()
    page.get_by_role("group", name="子ども本人の訴え").get_by_label("家に帰りたくない").check()
    page.screenshot(path=str(SHOTS / "urgency-01-form.png"), full_page=True)
    page.get_by_role("button", name="受理を記録する").click()

    expect(page.get_by_text("受理を記録しました")).to_be_visible()
    expect(page.locator(".level.urgent")).to_have_text("緊急")
    expect(page.get_by_role("heading", name="安全確認（直接目視）の期限")).to_be_visible()
    expect(page.get_by_text("受理から48時間")).to_be_visible()
    expect(page.get_by_text("予測ではありません").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "urgency-02-assessment.png"), full_page=True)
    problems["assessment"] = serious(page)

    decision = page.locator("form[action$='/decision']")
    decision.get_by_label("通常").check()
    decision.get_by_label("一時保護しない").check()
    decision.get_by_role("button", name="判断を記録する").click()
    expect(page.get_by_role("alert")).to_contain_text("理由を10文字以上")
    page.screenshot(path=str(SHOTS / "urgency-03-reason-required.png"), full_page=True)
    page.locator("form[action$='/decision']").get_by_label("理由").fill("祖母宅に避難済みで本日中に面接予定のため")
    page.locator("form[action$='/decision']").get_by_role("button", name="判断を記録する").click()
    expect(page.get_by_text("判断を記録しました")).to_be_visible()

    page.get_by_role("link", name="受理一覧へ").click()
    expect(page.get_by_role("heading", level=1, name="受理一覧・安全確認の期限")).to_be_visible()
    expect(page.locator("table.due-list tbody tr")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "urgency-04-due-list.png"), full_page=True)
    problems["due"] = serious(page)
    page.get_by_role("link", name="推定モデルの説明").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("この推定の説明")
    page.screenshot(path=str(SHOTS / "urgency-05-model-card.png"), full_page=True)
    problems["card"] = serious(page)
    assert not any(problems.values()), problems


def sign_in(page: Page, server: str, user_id: str) -> None:
    page.goto(f"{server}/")
    page.get_by_label("利用者ID").fill(user_id)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="サインイン").click()
    expect(page.get_by_role("heading", level=1, name="ダッシュボード")).to_be_visible()


def test_a_hand_up_from_the_family_centre_reaches_the_child_guidance_centre(server: str, chromium: Browser) -> None:
    centre = chromium.new_context(viewport={"width": 1180, "height": 820}, locale="ja-JP").new_page()
    sign_in(centre, server, "cw1")
    centre.goto(f"{server}/intakes/new")
    centre.locator("#aza_number").fill("1000000004")
    centre.locator("#concern").fill("欠席が続き、家庭訪問でも会えない")
    centre.get_by_role("group", name="ネグレクト").get_by_label("中等度").check()
    centre.get_by_role("button", name="受理を記録する").click()
    centre.get_by_role("button", name="この子どもの共有ケースを開く").click()
    expect(centre.get_by_text("共有ケースにしました")).to_be_visible()
    shared_url = centre.url.split("?")[0]
    hand = centre.locator("form[action$='/hand-over']")
    hand.get_by_label("理由と経過").fill("保護者が面会を拒み、子どもの姿を2週間確認できないため送致します")
    hand.get_by_role("button", name="送致を記録する").click()
    expect(centre.get_by_text("相手機関の受領を待っています")).to_be_visible()
    expect(centre.locator(".shared-acts")).to_contain_text("未受領")
    centre_status = centre.locator(".shared-status").inner_text()

    cgc = chromium.new_context(viewport={"width": 1180, "height": 820}, locale="ja-JP").new_page()
    sign_in(cgc, server, "cgc1")
    cgc.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="受理・安全確認").click()
    row = cgc.locator("table.due-list tbody tr").filter(has_text="こども家庭センター")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("あと48時間")
    cgc.screenshot(path=str(SHOTS / "urgency-06-hand-up-on-cgc-list.png"), full_page=True)
    cgc.goto(shared_url)
    expect(cgc.locator(".shared-status")).to_have_text(centre_status)
    cgc.get_by_role("button", name="受領を記録する").click()
    expect(cgc.get_by_text("受領を記録しました")).to_be_visible()
    cgc.screenshot(path=str(SHOTS / "urgency-07-shared-case.png"), full_page=True)
    problems = serious(cgc)
    centre.reload()
    expect(centre.locator(".shared-status")).to_have_text(cgc.locator(".shared-status").inner_text())
    expect(centre.locator(".shared-acts")).to_contain_text("受領")
    assert not problems, problems

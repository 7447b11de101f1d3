"""The hand-over pages in Debian's Chromium, with axe-core; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from handover.packages import PACKAGE_ID, fresh_package, seed_handover
from support.serving import chromium, served
from tsunagu.web.app import create_app
from web.test_browser import AXE_RUN, SHOTS, sign_in
from work.builders import Home


def _check(page: Page, name: str) -> None:
    page.add_script_tag(url="/static/js/axe.min.js")
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], name
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_worklist_task_and_intake_in_a_browser(home: Home, tmp_path: Path) -> None:
    seed_handover(home)
    with served(create_app(home.settings)) as base, chromium(SHOTS) as browser:
        page = browser.new_context(viewport={"width": 1180, "height": 820}, locale="ja-JP").new_page()
        sign_in(page, base, "cw1")
        page.get_by_role("link", name="転居時の引継ぎ").click()
        expect(page.get_by_role("heading", level=1, name="転居時の引継ぎ")).to_be_visible()
        expect(page.get_by_text("未送付")).to_be_visible()
        _check(page, "handover-worklist")
        page.goto(f"{base}/handover/tasks/1")
        expect(page.get_by_role("heading", name="パッケージを作成して送付する")).to_be_visible()
        _check(page, "handover-task")
        page.goto(f"{base}/handover/packages/{PACKAGE_ID}")
        expect(page.get_by_text("佐藤　花子")).to_be_visible()
        page.get_by_role("button", name="担当者として受理する").click()
        # みらい市 has no address registered: the signed acceptance is downloaded for LGWAN mail.
        page.goto(f"{base}/handover/packages/{PACKAGE_ID}")
        expect(page.get_by_text("受理済み")).to_be_visible()
        _check(page, "handover-package")
        page.goto(f"{base}/children/P0002?purpose=assessment")
        section = page.get_by_role("region", name="前住所地の健診・予防接種（転入時の引継ぎ）")
        expect(section.get_by_text("1歳6か月児健診")).to_be_visible()
        expect(section.get_by_text("みらい市").first).to_be_visible()
        section.screenshot(path=str(SHOTS / "handover-child-health.png"))
        # A package that came by LGWAN mail, taken in from the intake form; the receipt file goes back.
        mailed = tmp_path / "package.json"
        mailed.write_bytes(fresh_package(home))
        page.goto(f"{base}/handover")
        page.get_by_label("LGWANメールで届いたパッケージ（ファイル）").set_input_files(str(mailed))
        page.get_by_role("button", name="受け付ける").click()
        expect(page.get_by_text("受け付けました。")).to_be_visible()
        with page.expect_download() as download:
            page.get_by_role("link", name="受領の通知（ファイル）をダウンロード").click()
        assert json.loads(Path(download.value.path()).read_bytes())["status"] == "received"
        _check(page, "handover-intake")

"""The children's pages, the consultation inbox and the 心の天気 board in a real browser (Debian's
Chromium), at phone (390), tablet (768) and desktop (1280) widths, checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from support.serving import chromium as chromium_browser
from support.serving import served
from tsunagu.web.app import create_app
from tsunagu.work.voice import kokoro
from tsunagu.work.voice.codes import code_key
from tsunagu.work.voice.models import KokoroCheckIn
from web.test_browser import SHOTS, serious_violations, sign_in
from web.voice_support import seed_voice
from work.builders import Home, build_home

WIDTHS = {"phone": 390, "tablet": 768, "desktop": 1280}


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Home, dict[str, str]]]:
    home = build_home(tmp_path_factory.mktemp("voice-browser"))
    seeded = seed_voice(home)
    # Pupil 0004 had rain on the four school days before today: one more makes the streak.
    key = code_key(home.settings.home)
    with home.factory.begin() as session:
        row = kokoro.sign_in(session, seeded.codes["0004"], code_key=key, ip="seed")
        for days_ago in (4, 3, 2, 1):
            kokoro.check_in(session, row, "雨", "", cipher=home.cipher, streak_entries=5,
                            now=datetime.now(UTC) - timedelta(days=days_ago))
    with served(create_app(home.settings)) as url:
        yield url, home, seeded.codes
    home.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser(SHOTS) as browser:
        yield browser


def page_at(chromium: Browser, width: str) -> Page:
    context = chromium.new_context(viewport={"width": WIDTHS[width], "height": 900}, locale="ja-JP")
    return context.new_page()


def shots(chromium: Browser, url: str, name: str, problems: dict[str, list[dict[str, Any]]],
          cookies: list[Any] | None = None) -> None:
    """The page at every width (same cookies), each looked at by axe."""
    for width in WIDTHS:
        page = page_at(chromium, width)
        if cookies:
            page.context.add_cookies(cookies)
        page.goto(url)
        page.screenshot(path=str(SHOTS / f"voice-{name}-{width}.png"), full_page=True)
        problems[f"{name}-{width}"] = serious_violations(page)
        page.context.close()


def child_signs_in(page: Page, base: str, code: str) -> None:
    page.goto(f"{base}/kodomo/")
    page.get_by_role("textbox", name="カードの コード").fill(code)
    page.get_by_role("button", name="はいる").click()
    expect(page.get_by_role("heading", level=1, name="なにを しますか")).to_be_visible()


def test_a_child_writes_an_urgent_message_and_the_on_duty_inbox_shows_it_first(
        setting: tuple[str, Home, dict[str, str]], chromium: Browser) -> None:
    base, _home, _codes = setting
    problems: dict[str, list[dict[str, Any]]] = {}
    shots(chromium, f"{base}/kodomo/", "start", problems)
    child = page_at(chromium, "phone")
    child.goto(f"{base}/kodomo/")
    child.get_by_role("button", name="なまえを いわずに そうだんを はじめる").click()
    expect(child.locator("#reentry-word")).to_contain_text("・")
    child.screenshot(path=str(SHOTS / "voice-word-phone.png"), full_page=True)
    problems["word"] = serious_violations(child)
    child.get_by_role("link", name="メモした。そうだんを かく").click()
    child.get_by_label("メッセージ").fill("もう いえに かえりたくない。シニタイ")
    child.get_by_role("button", name="おくる").click()
    expect(child.get_by_text("おくりました")).to_be_visible()
    expect(child.get_by_text("189")).to_be_visible()
    shots(chromium, f"{base}/kodomo/soudan", "soudan", problems, child.context.cookies())
    child.context.close()

    staff = page_at(chromium, "desktop")
    sign_in(staff, base, "cw1")
    expect(staff.get_by_role("alert").filter(has_text="緊急の相談があります（1件）")).to_be_visible()
    staff.get_by_role("link", name="子どもからの相談を開く").click()
    first = staff.locator("table.inbox tbody tr").first
    expect(first).to_contain_text("緊急")
    expect(first).to_contain_text("シニタイ")
    shots(chromium, f"{base}/voice", "inbox", problems, staff.context.cookies())
    first.get_by_role("link").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("名前を言わない相談")
    staff.get_by_label("返信（子どもが読みます。やさしい日本語で。暗号化して保存）").fill("おしえてくれて ありがとう。")
    staff.get_by_role("button", name="返信を送る").click()
    expect(staff.get_by_text("返信を送りました。")).to_be_visible()
    expect(staff.get_by_role("alert").filter(has_text="緊急の相談があります")).to_have_count(0)  # acknowledged
    shots(chromium, staff.url, "thread", problems, staff.context.cookies())
    shots(chromium, f"{base}/voice/duty", "duty", problems, staff.context.cookies())
    staff.context.close()
    shots(chromium, f"{base}/kodomo/about", "about", problems)
    assert {name: found for name, found in problems.items() if found} == {}


def test_check_in_board_streak_and_opt_out(setting: tuple[str, Home, dict[str, str]], chromium: Browser) -> None:
    base, home, codes = setting
    problems: dict[str, list[dict[str, Any]]] = {}
    pupil = page_at(chromium, "tablet")
    child_signs_in(pupil, base, codes["0001"].lower())  # typed in lower case: forgiven
    pupil.get_by_role("link", name="きょうの 心の天気").click()
    shots(chromium, f"{base}/kodomo/tenki", "tenki", problems, pupil.context.cookies())
    pupil.locator("label.weather", has_text="くもり").click()
    expect(pupil.get_by_role("radio", name="くもり")).to_be_checked()
    pupil.get_by_label("ひとこと（かかなくても いいよ）").fill("ちょっと ねむい")
    pupil.get_by_role("button", name="おくる").click()
    expect(pupil.get_by_text("きょうの 心の天気を うけとったよ")).to_be_visible()
    pupil.context.close()

    streaky = page_at(chromium, "tablet")
    child_signs_in(streaky, base, codes["0004"])
    streaky.goto(f"{base}/kodomo/tenki")
    streaky.locator("label.weather", has_text="かみなり").click()
    streaky.get_by_role("button", name="おくる").click()
    expect(streaky.get_by_role("link", name="そうだん する")).to_be_visible()  # offered after rain or thunder
    streaky.context.close()

    teacher = page_at(chromium, "desktop")
    sign_in(teacher, base, "teacher1")
    banner = teacher.get_by_role("alert").filter(has_text="続いている児童生徒がいます")
    expect(banner).to_be_visible()
    teacher.get_by_role("link", name="学級ボードを開く").click()
    expect(teacher.get_by_role("heading", level=1)).to_contain_text("5年1組")
    row = teacher.locator("table.kokoro-board tbody tr", has_text="0001")
    expect(row).to_contain_text("くもり")
    expect(row).to_contain_text("ちょっと ねむい")
    expect(teacher.locator("table.kokoro-board tbody tr", has_text="0004")).to_contain_text("続いている")
    expect(teacher.get_by_text("まだ入力していない児童生徒: 0002")).to_be_visible()
    shots(chromium, teacher.url, "board", problems, teacher.context.cookies())
    shots(chromium, f"{base}/kokoro", "classes", problems, teacher.context.cookies())
    ssw = page_at(chromium, "desktop")
    sign_in(ssw, base, "ssw1")
    expect(ssw.get_by_role("alert").filter(has_text="続いている児童生徒がいます")).to_be_visible()
    ssw.context.close()

    teacher.get_by_label("児童生徒番号").fill("0002")
    teacher.get_by_role("button", name="申出を記録する").click()
    expect(teacher.get_by_text("不参加の申出を記録しました。")).to_be_visible()
    expect(teacher.locator("table.kokoro-board tbody tr", has_text="0002")).to_contain_text("参加しない")
    teacher.screenshot(path=str(SHOTS / "voice-board-opted-out-desktop.png"), full_page=True)
    problems["board-opted-out"] = serious_violations(teacher)
    teacher.context.close()

    out = page_at(chromium, "phone")
    child_signs_in(out, base, codes["0002"])
    out.get_by_role("link", name="きょうの 心の天気").click()
    expect(out.get_by_text("このページは いまは つかえません。")).to_be_visible()
    expect(out.get_by_role("radio")).to_have_count(0)
    out.screenshot(path=str(SHOTS / "voice-tenki-unavailable-phone.png"), full_page=True)
    problems["unavailable"] = serious_violations(out)
    out.context.close()
    with home.factory() as session:
        assert session.scalar(select(func.count()).select_from(KokoroCheckIn).where(
            KokoroCheckIn.pupil_no == "0002")) == 0
    assert {name: found for name, found in problems.items() if found} == {}

"""The audit page: filtered (dates, user, action, child) and paged, in words (issue 19, finding 12)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from tsunagu.privacy.policy import JST
from web.conftest import Browser
from web.test_plain_japanese import codes_in, visible_text
from work.builders import Home


def test_the_audit_log_is_filtered_and_paged_in_words(home: Home, browser: Callable[..., Browser]) -> None:
    cw = browser("cw1")
    for _ in range(3):
        for person in ("P0001", "P0002"):
            assert cw.client.get(f"/children/{person}?purpose=assessment").status_code == 200
    po = browser("po1")
    page = po.client.get("/privacy", params={"limit": "10"})
    assert page.status_code == 200
    total = int(re.search(r"該当 (\d+)件（新しい順、1 / (\d+) ページ）", page.text).group(1))  # type: ignore[union-attr]
    assert total > 10 and ">次のページ</a>" in page.text and ">前のページ</a>" not in page.text
    assert len(re.findall(r"<tr class=\"[a-z]*\">", page.text)) == 10
    assert "<th scope=\"col\">seq</th>" not in page.text and codes_in(visible_text(page.text)) == []
    assert "中村 センター" in page.text  # people by name
    second = po.client.get("/privacy", params={"limit": "10", "page": "2"})
    assert ">前のページ</a>" in second.text

    # one child, one action, one user: only those entries
    only = po.client.get("/privacy", params={"person": "P0001", "action": "child.view", "actor": "cw1"}).text
    assert re.search(r"該当 3件", only), re.search(r"該当 \d+件", only)
    assert only.count("子どもの概要の閲覧") >= 3 and "P0002</a>" not in only
    # a date range that ends before today has none of them
    today_jst = datetime.now(JST).date()  # the page's dates are Japan's
    yesterday = (today_jst - timedelta(days=2)).isoformat()
    none = po.client.get("/privacy", params={"person": "P0001", "until": yesterday}).text
    assert "該当 0件" in none and "該当する記録はありません" in none
    today = today_jst.isoformat()
    assert "該当 3件" in po.client.get("/privacy", params={"person": "P0001", "action": "child.view",
                                                           "since": today, "until": today}).text
    bad = po.client.get("/privacy", params={"since": "12月1日"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text



def test_the_dashboard_draws_its_charts_and_its_cards_open_the_list(browser: Callable[..., Browser]) -> None:
    page = browser("cw1").client.get("/dashboard").text
    assert page.count('<svg class="stats-chart"') == 2  # tiers, and listings over the runs (municipality scope)
    assert '<title id="' in page and "支援区分別の人数" in page and "候補の人数の推移" in page
    assert 'href="/candidates?tier=%E9%87%8D%E7%82%B9%E6%94%AF%E6%8F%B4"' in page  # 重点支援
    assert 'href="/candidates?no_mark=1"' in page and 'href="/candidates?first=1"' in page
    teacher = browser("teacher1").client.get("/dashboard").text
    assert teacher.count('<svg class="stats-chart"') <= 1  # no municipality-wide history outside that scope

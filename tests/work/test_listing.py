"""The candidate list's in-process copy of the latest run: every order and filter, and a copy that
follows what changes underneath it (suspensions, erasures, a new run)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import delete

from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work import listing
from tsunagu.work.candidates import CandidateFilter, CandidatePage, dashboard, latest_run, list_candidates
from tsunagu.work.listing import Listed, Selections
from tsunagu.work.suspensions import suspend
from tsunagu.work.unit import unit_of_work
from work.builders import Home


def _list(home: Home, user: str = "cw1", **filters: Any) -> CandidatePage:
    with unit_of_work(home.factory) as session:
        return list_candidates(session, home.subject(user), "screening", CandidateFilter(**filters))


def _ids(page: CandidatePage) -> list[str]:
    return [r.person_id for r in page.rows]


def test_every_order_and_combined_filters_page_through_the_run(home: Home) -> None:
    assert _ids(_list(home, sort="tier")) == ["P0001", "P0004", "P0002", "P0003"]  # tier, then most domains
    assert _ids(_list(home, sort="school")) == ["P0002", "P0001", "P0004", "P0003"]  # school, then grade
    assert _ids(_list(home, sort="stale")) == ["P0001", "P0004", "P0002", "P0003"]  # stale reasons first
    assert _ids(_list(home, sort="person")) == ["P0001", "P0002", "P0003", "P0004"]
    assert _ids(_list(home, tier="重点支援", no_mark_only=True, school="S001")) == ["P0001", "P0004"]
    assert _ids(_list(home, domain="poverty", first_only=True)) == ["P0002"]
    assert _ids(_list(home, grade=4)) == ["P0003"]
    second = _list(home, sort="school", per_page=3, page=2)
    assert (_ids(second), second.total, second.pages) == (["P0003"], 4, 2)
    # asked again (now from the copy), the same answers
    assert _ids(_list(home, sort="school", per_page=3, page=1)) == ["P0002", "P0001", "P0004"]
    assert _ids(_list(home, tier="重点支援", no_mark_only=True, school="S001")) == ["P0001", "P0004"]
    ssw = _list(home, "ssw1", sort="school")
    assert _ids(ssw) == ["P0002", "P0001", "P0004"] and ssw.schools == ["S001"]
    assert _list(home).schools == ["S001", "S002"] and _list(home).grades == [3, 4, 5, 6]


def test_the_list_follows_suspensions_erasures_and_a_new_run(home: Home) -> None:
    assert _ids(_list(home)) == ["P0001", "P0004", "P0002", "P0003"]
    with unit_of_work(home.factory) as session:
        suspend(session, home.subject("po1"), "P0004", "利用停止請求 第3号")
    assert _ids(_list(home)) == ["P0001", "P0002", "P0003"]
    assert _ids(_list(home, tier="重点支援")) == ["P0001"]
    with unit_of_work(home.factory) as session:  # an erasure removes a child's results from every run
        session.execute(delete(ScreeningResult).where(ScreeningResult.person_id == "P0003"))
    page = _list(home)
    assert _ids(page) == ["P0001", "P0002"] and page.total == 2 and page.schools == ["S001"]
    with unit_of_work(home.factory) as session:
        board = dashboard(session, home.subject("cw1"))
    assert board.listed == 2 and board.by_tier == {"重点支援": 1, "予防的支援": 1}
    now = datetime.now(UTC)
    with unit_of_work(home.factory) as session:
        session.add(ScreeningRun(run_id="run-2026-11", as_of=date(2026, 11, 30), started_at=now, finished_at=now,
                                 rule_set_hash="y" * 64, rule_set_json="{}", snapshots_json="{}", counts_json="{}",
                                 children=4, data_digest=""))
        session.flush()
        session.add(ScreeningResult(
            run_id="run-2026-11", person_id="P0002", tier="見守り", domains=json.dumps(["poverty"]),
            domain_scores="{}", hard_rules="[]", reasons="[]", benefit_only=False, known_to_support=False,
            known_by="[]", no_mark=False, first_flag=False, trend="better", school_code="S001", grade=3, age=9.0,
            stale_reasons=0,
        ))
    page = _list(home)
    assert page.run is not None and page.run.run_id == "run-2026-11"
    assert [(r.person_id, r.tier) for r in page.rows] == [("P0002", "見守り")]


def test_selections_drop_the_least_recently_asked_once_they_hold_too_many_rows() -> None:
    def rows(n: int) -> tuple[Listed, ...]:
        return tuple(Listed(i, f"P{i:04d}", "見守り", (), None, None, False, "same", False, 0) for i in range(n))

    built: list[str] = []

    def build(key: str, n: int) -> Callable[[], tuple[Listed, ...]]:
        return lambda: (built.append(key), rows(n))[1]

    kept = Selections(rows_kept=5)
    kept.get("a", build("a", 2))
    kept.get("b", build("b", 2))
    kept.get("a", build("a", 2))  # asked again: a look-up, and now the most recent
    kept.get("c", build("c", 2))  # 6 rows held: "b", the least recently asked, goes
    assert built == ["a", "b", "c"] and len(kept) == 2
    kept.get("b", build("b", 2))
    assert built == ["a", "b", "c", "b"]
    kept.get("big", build("big", 9))  # larger than the bound alone: kept (the newest always is), the rest go
    assert len(kept) == 1 and len(kept.get("big", build("big", 9))) == 9 and built[-1] == "big"


def test_only_a_serving_process_freezes_what_it_holds_after_a_load(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    frozen: list[bool] = []
    monkeypatch.setattr(listing.gc, "freeze", lambda: frozen.append(True))  # the test process is not frozen
    cache = listing.ListingCache()
    with unit_of_work(home.factory) as session:
        run = latest_run(session)
        assert run is not None
        cache.get(session, run.run_id)
        assert frozen == []  # a test run (or a command) keeps collecting as usual
        cache.settle_after_load = True
        cache.get(session, run.run_id)
        assert frozen == []  # the copy was current: nothing loaded
        cache.clear()
        cache.get(session, run.run_id)
    assert frozen == [True]

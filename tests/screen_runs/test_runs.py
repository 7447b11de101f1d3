"""Screening runs over a linked synthetic town: stored, explained, reproducible, fault-tolerant."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from support.hubs import copy_home, hub_of
from support.municipality import SmallTown
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.screen.runs.run import ScreeningReport, run_screening
from tsunagu.screen.runs.truth import evaluate_screening
from tsunagu.vault.node import Node

AS_OF = date(2026, 10, 31)


def _screen(home: Path, nodes: Mapping[str, Node] | None = None, excluded: set[str] | None = None) -> ScreeningReport:
    with hub_of(home) as hub, hub.sessions.begin() as session:
        return run_screening(session, nodes if nodes is not None else hub.nodes(), hub.manifests, hub.catalog,
                             hub.rule_set(), AS_OF, excluded=excluded)


def _results(home: Path, run_id: str) -> dict[str, ScreeningResult]:
    with hub_of(home) as hub, hub.sessions() as session:
        rows = {r.person_id: r for r in session.scalars(select(ScreeningResult).where(ScreeningResult.run_id == run_id))}
    return rows


@pytest.fixture
def home(linked_town: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    copy_home(linked_town, target)
    return target


def test_a_run_stores_explained_results_and_freezes_what_it_used(home: Path, small_town: SmallTown) -> None:
    report = _screen(home)
    assert report.children > 1000
    assert sum(report.by_tier.values()) == report.children
    results = _results(home, report.run_id)
    tiered = [r for r in results.values() if r.tier != "対象外"]
    listed = [r for r in tiered if r.in_list]  # 掲載枠: tiered children beyond the list keep their tier
    assert listed and report.listed == len(listed) and report.listed + report.list_beyond == len(tiered)
    assert report.list_capacity == -(-report.children * 15 // 100) and report.listed <= report.list_capacity
    for result in listed:
        reasons = json.loads(result.reasons)
        assert reasons, "every listed child carries its reasons"
        # a reason cites its record; a rule that fired on a record's absence (no high-school
        # enrolment at 16–17) cites the item it found missing, with no value (screen/reasons.py)
        assert all(reason["department"] and reason["observed_on"] for reason in reasons if reason["value"] is not None)
        assert all(reason["item_id"] for reason in reasons if reason["value"] is None)
        assert result.no_mark == (not result.known_to_support)
        assert result.first_flag and result.trend == "new"
    with hub_of(home) as hub, hub.sessions() as session:
        run = session.get(ScreeningRun, report.run_id)
        assert run is not None
        assert run.rule_set_hash == report.rule_set_hash and run.link_run_id
        assert "school_kiroku" in json.loads(run.snapshots_json)
        quality = evaluate_screening(session, small_town.truth, report.run_id)
    for key in ("recall", "precision", "listed_share", "no_mark_share", "single_department_recall", "by_group"):
        assert key in quality
    assert 0 < quality["listed_share"] < 0.5
    assert quality["recall"] > quality["single_department_recall"]


def test_the_same_inputs_give_the_same_results(home: Path) -> None:
    first, second = _screen(home), _screen(home)
    assert first.data_digest == second.data_digest
    assert first.rule_set_hash == second.rule_set_hash
    a, b = _results(home, first.run_id), _results(home, second.run_id)
    assert {p: (r.tier, r.reasons) for p, r in a.items()} == {p: (r.tier, r.reasons) for p, r in b.items()}
    # the second run knows the first: nobody is new, nobody is a first flag
    assert all(r.trend == "same" and not r.first_flag for r in b.values() if r.tier != "対象外")


def test_a_suspended_child_is_never_screened(home: Path) -> None:
    first = _results(home, _screen(home).run_id)
    someone = next(p for p, r in first.items() if r.tier != "対象外")
    again = _screen(home, excluded={someone})
    assert someone not in _results(home, again.run_id)


class _BrokenNode:
    department = "schools"

    def identifiers(self, *args: object, **kwargs: object) -> object:
        raise ConnectionError("node down")

    def items(self, *args: object, **kwargs: object) -> object:
        raise ConnectionError("node down")

    def record(self, *args: object, **kwargs: object) -> object:
        raise ConnectionError("node down")


def test_a_node_that_is_down_leaves_a_completed_run_naming_the_missing_sources(home: Path) -> None:
    with hub_of(home) as hub:
        nodes = dict(hub.nodes())
        nodes["schools"] = _BrokenNode()  # type: ignore[assignment]
        report = _screen(home, nodes)
    assert report.children > 1000
    assert {"school_meibo", "school_kiroku", "kokoro_tenki"} <= set(report.missing_sources)
    with hub_of(home) as hub, hub.sessions() as session:
        run = session.get(ScreeningRun, report.run_id)
        assert run is not None and "school_kiroku" in json.loads(run.missing_sources)

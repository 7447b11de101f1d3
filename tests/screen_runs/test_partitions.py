"""Screening in bounded memory: children evaluated a part at a time, department answers read in
batches — and the same results as the whole municipality at once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from support.hubs import copy_home, hub_of
from tsunagu.screen.runs import inputs as screening_inputs
from tsunagu.screen.runs import run as screening
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.screen.runs.run import ScreeningReport, run_screening
from tsunagu.vault import node as vault_node
from tsunagu.vault.node import NodeRequest

AS_OF = date(2026, 10, 31)
COMPARED = ("tier", "domains", "domain_scores", "hard_rules", "reasons", "benefit_only", "known_to_support", "known_by",
            "no_mark", "first_flag", "trend", "school_code", "grade", "age", "stale_reasons",
            # the list is a share of every child (issue 25), filled over all parts, never per part
            "in_list", "list_rank")


def _screen(home: Path) -> tuple[ScreeningReport, dict[str, tuple[object, ...]], str]:
    with hub_of(home) as hub, hub.sessions.begin() as session:
        report = run_screening(session, hub.nodes(), hub.manifests, hub.catalog, hub.rule_set(), AS_OF)
    with hub_of(home) as hub, hub.sessions() as session:
        rows = session.scalars(select(ScreeningResult).where(ScreeningResult.run_id == report.run_id)
                               .order_by(ScreeningResult.id)).all()
        run = session.get(ScreeningRun, report.run_id)
        assert run is not None
        results = {r.person_id: tuple(getattr(r, c) for c in COMPARED) for r in rows}
        assert len(results) == len(rows) == report.children
        return report, results, run.counts_json


def test_screening_in_parts_gives_the_whole_run_s_results(linked_town: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    whole_home, parts_home = tmp_path / "whole", tmp_path / "parts"
    copy_home(linked_town, whole_home)
    copy_home(linked_town, parts_home)
    monkeypatch.setattr(screening, "PARTITION_PEOPLE", 10**9)
    whole, whole_results, whole_counts = _screen(whole_home)
    part_size = 97
    assert whole.children > 3 * part_size, "the small town must need several parts"
    monkeypatch.setattr(screening, "PARTITION_PEOPLE", part_size)
    # and every department's answer mapped to persons 101 rows at a time (the same inputs: data_digest)
    monkeypatch.setattr(screening_inputs, "ANSWER_SLICE_ROWS", 101)
    parts, parts_results, parts_counts = _screen(parts_home)
    assert parts_results == whole_results
    assert parts_counts == whole_counts
    for figure in ("children", "by_tier", "listed", "no_mark", "first_flags", "worse", "benefit_only_flags",
                   "stigma_guard_capped", "data_digest", "list_capacity", "list_beyond", "list_overflow"):
        assert getattr(parts, figure) == getattr(whole, figure), figure
    assert parts.listed > 0 and sum(parts.by_tier.values()) == parts.children


def test_an_answer_read_in_batches_is_the_answer_read_at_once(linked_town: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    request = NodeRequest(requester="hub:screen:test", role="system", purpose="screening",
                          items=("absence_days", "late_count"))
    with hub_of(linked_town) as hub:
        node = hub.nodes()["schools"]
        at_once = node.items(request, AS_OF)
        monkeypatch.setattr(vault_node, "FETCH_BATCH_ROWS", 1000)
        in_batches = node.items(request, AS_OF)
    assert at_once.data.height > 3 * 1000, "the answer must need several batches"
    assert in_batches.data.equals(at_once.data)
    assert in_batches.data.schema == at_once.data.schema
    assert in_batches.digest == at_once.digest

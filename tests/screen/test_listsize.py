"""掲載枠: the list holds a set share of children, filled by tier and evidence; hard rules are never dropped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import polars as pl
import pytest
from pydantic import ValidationError

from screen.test_evaluate import (
    AS_OF,
    BASELINE,
    HARD,
    POVERTY_1,
    POVERTY_2,
    SCHOOL_1,
    SCHOOL_2,
    D,
    _records,
    obs,
    people,
)
from tsunagu.screen import evaluate
from tsunagu.screen.listsize import capacity, fill
from tsunagu.screen.model import Settings


def _evidence(rows: list[tuple[str, str, int, int, int, int]], maltreated: frozenset[str] = frozenset()) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["person_id", "tier", "n_hard_rules", "n_level2", "n_flagged", "points"],
                         orient="row")
    return frame.with_columns(maltreatment_record=pl.col("person_id").is_in(list(maltreated)))


# 10 children: two hard rules, one 重点支援 by levels, two 予防的支援, three 見守り, two 対象外.
TOWN = [
    ("h1", "重点支援", 1, 1, 1, 2), ("h2", "重点支援", 1, 0, 0, 0), ("l2", "重点支援", 0, 2, 2, 8),
    ("p1", "予防的支援", 0, 1, 1, 4), ("p2", "予防的支援", 0, 0, 2, 4),
    ("w1", "見守り", 0, 0, 1, 3), ("w2", "見守り", 0, 0, 1, 2), ("w3", "見守り", 0, 0, 1, 2),
    ("n1", "対象外", 0, 0, 0, 1), ("n2", "対象外", 0, 0, 0, 0),
]


def _listed(frame: pl.DataFrame) -> set[str]:
    return set(frame.filter(pl.col("in_list"))["person_id"])


def test_tiers_fill_the_list_in_order_of_evidence() -> None:
    frame, counts = fill(_evidence(TOWN), 0.5, AS_OF)
    assert counts.capacity == 5 and counts.listed == 5
    assert _listed(frame) == {"h1", "h2", "l2", "p1", "p2"}
    assert counts.beyond == 3 and counts.overflow == 0  # the three 見守り keep their tier, counted as 枠外
    ranks = dict(frame.select("person_id", "list_rank").iter_rows())
    assert ranks["h1"] < ranks["l2"] < ranks["p1"] < ranks["w1"]  # hard rules first, then tier, then levels
    assert ranks["n1"] is None and ranks["n2"] is None


def test_inside_a_tier_more_evidence_comes_first() -> None:
    frame, _ = fill(_evidence(TOWN), 0.6, AS_OF)  # capacity 6: one of the 見守り
    assert "w1" in _listed(frame) and not {"w2", "w3"} & _listed(frame)  # w1 has 3 points, the others 2


def test_inside_a_tier_a_maltreatment_record_comes_before_more_domains_and_points() -> None:
    # The issue-25 case: a past 通告 (1 point) behind learning flags (2 points, two domains) under the
    # old order. The kind of evidence now comes first; the old order listed w_learn.
    rows = [("w_learn", "見守り", 0, 0, 2, 4), ("w_past", "見守り", 0, 0, 1, 1), ("p1", "予防的支援", 0, 1, 1, 4)]
    frame, counts = fill(_evidence(rows, frozenset({"w_past"})), 0.6, AS_OF)  # capacity 2
    assert _listed(frame) == {"p1", "w_past"} and counts.beyond == 1
    ranks = dict(frame.select("person_id", "list_rank").iter_rows())
    assert ranks["p1"] < ranks["w_past"] < ranks["w_learn"]  # never across tiers: 予防的支援 stays first
    plain, _ = fill(_evidence(rows), 0.6, AS_OF)
    assert _listed(plain) == {"p1", "w_learn"}  # without the record, domains and points decide as before


def test_a_maltreatment_record_never_jumps_a_hard_rule() -> None:
    rows = [("h", "重点支援", 1, 0, 0, 0), ("m", "重点支援", 0, 1, 1, 2)]
    frame, _ = fill(_evidence(rows, frozenset({"m"})), 0.5, AS_OF)
    assert _listed(frame) == {"h"}


def test_evaluate_lists_a_past_report_before_learning_flags_in_the_same_tier() -> None:
    past_report = [("abuse_consultation", "ネグレクト", D(2021, 5, 10))]  # abuse_ever only: 1 point, level 1
    learning = [("academic_score", 28, D(2024, 12, 1))]  # 偏差値30以下: 2 points, level 1
    ids = ["past", "learn"]
    rows = [*_records("past", [past_report]), *_records("learn", [learning])]
    half = dataclasses.replace(BASELINE, settings=dataclasses.replace(BASELINE.settings, list_share=0.5))
    result = evaluate(half, AS_OF, people(ids), obs(rows))
    tiers = dict(result.results.select("person_id", "tier").iter_rows())
    assert tiers == {"past": "見守り", "learn": "見守り"}
    assert set(result.results.filter(pl.col("in_list"))["person_id"]) == {"past"}
    assert result.evidence is not None
    points = dict(result.evidence.select("person_id", "points").iter_rows())
    assert points["past"] < points["learn"]  # the order is not the point sum's


def test_the_baseline_marks_maltreatment_records_and_not_benefits() -> None:
    marked = {i.id for i in BASELINE.scored_items if i.maltreatment_record}
    assert marked == {"abuse_consultation", "abuse_yotaikyo", "abuse_cgc", "abuse_temp_protection"}
    assert not any(i.maltreatment_record and i.benefit for i in BASELINE.scored_items)


def test_hard_rules_alone_beyond_the_list_are_all_listed_and_reported() -> None:
    frame, counts = fill(_evidence(TOWN), 0.1, AS_OF)  # capacity 1, two hard rules
    assert _listed(frame) == {"h1", "h2"}
    assert counts.capacity == 1 and counts.overflow == 1 and counts.listed == 2
    assert counts.beyond == 6  # every other child with a tier, kept and counted


def test_a_child_without_a_tier_is_never_listed_even_with_room() -> None:
    frame, counts = fill(_evidence(TOWN), 1.0, AS_OF)
    assert _listed(frame) == {r[0] for r in TOWN if r[1] != "対象外"}
    assert counts.beyond == 0


def test_ties_at_the_boundary_are_a_reproducible_lottery_not_input_order() -> None:
    tied = [(f"t{i}", "見守り", 0, 0, 1, 2) for i in range(40)]
    first, _ = fill(_evidence(tied), 0.25, AS_OF)
    shuffled = tied[:]
    random.Random(3).shuffle(shuffled)
    again, _ = fill(_evidence(shuffled), 0.25, AS_OF)
    assert _listed(first) == _listed(again) and len(_listed(first)) == 10
    assert _listed(first) != {f"t{i}" for i in range(10)}  # not the first ten ids
    other_day, _ = fill(_evidence(tied), 0.25, AS_OF + dt.timedelta(days=1))
    assert _listed(other_day) != _listed(first)  # a new base date draws again


def test_capacity_rounds_up_so_a_small_town_can_review_someone() -> None:
    assert capacity(0.15, 6) == 1 and capacity(0.15, 100) == 15 and capacity(0.15, 101) == 16


def test_evaluate_marks_the_list_and_keeps_every_tier() -> None:
    blocks = [[HARD], [POVERTY_2, SCHOOL_2], [SCHOOL_2], [POVERTY_1, SCHOOL_1], [POVERTY_1], [POVERTY_1], [], []]
    ids = [f"c{i}" for i in range(len(blocks))]
    rows = [r for pid, b in zip(ids, blocks, strict=True) for r in _records(pid, b)]
    small = dataclasses.replace(BASELINE, settings=dataclasses.replace(BASELINE.settings, list_share=0.25))
    wide = evaluate(dataclasses.replace(BASELINE, settings=dataclasses.replace(BASELINE.settings, list_share=1.0)),
                    AS_OF, people(ids), obs(rows))
    narrow = evaluate(small, AS_OF, people(ids), obs(rows))
    assert narrow.results["tier"].to_list() == wide.results["tier"].to_list()  # the list size never changes a tier
    assert set(narrow.results.filter(pl.col("in_list"))["person_id"]) == {"c0", "c1"}  # capacity 2
    assert narrow.counts["list_beyond"] == 4 and narrow.counts["list_capacity"] == 2
    assert set(wide.results.filter(pl.col("in_list"))["person_id"]) == set(ids[:6])
    assert small.hash != BASELINE.hash  # the setting is part of the rule set's meaning


def test_the_baseline_sets_fifteen_percent() -> None:
    assert BASELINE.settings.list_share == 0.15
    assert BASELINE.resolved(AS_OF)["settings"]["list_share"] == 0.15


@pytest.mark.parametrize("share", [0, -0.1, 1.5])
def test_a_list_share_outside_0_to_1_is_refused(share: float) -> None:
    with pytest.raises(ValidationError):
        Settings(stigma_guard=True, list_share=share, reference="根拠")

"""Evaluation over a population with the national baseline: tiers, guard, reasons, contract."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagu.screen import (
    DOMAINS,
    OBSERVATION_SCHEMA,
    PEOPLE_SCHEMA,
    REASON_DTYPE,
    RuleSet,
    evaluate,
    load_rule_set,
)
from tsunagu.yamlstrict import ConfigError

RULES = Path(__file__).resolve().parents[2] / "rules"
AS_OF = dt.date(2025, 3, 31)
D = dt.date
BASELINE = load_rule_set(RULES, None)


def month_series(person: str, item: str, values: list[int]) -> list[tuple[Any, ...]]:
    """Monthly values ending March 2025 (month-end dates)."""
    ends = [D(2024, m, 1) for m in range(4, 13)] + [D(2025, m, 1) for m in range(1, 4)]
    out = []
    for first, value in zip(ends, values, strict=True):
        nxt = D(first.year + first.month // 12, first.month % 12 + 1, 1)
        out.append((person, item, value, nxt - dt.timedelta(days=1)))
    return out


def people(ids: list[str]) -> pl.DataFrame:
    rows = [
        {
            "person_id": p,
            "birth_date": D(2012, 6, 1),
            "sex": None,
            "school_code": "S1",
            "grade": 7,
            "household_id": None,
        }
        for p in ids
    ]
    return pl.DataFrame(rows, schema=PEOPLE_SCHEMA)


def obs(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """(person, item, value, observed_on[, department[, stale]])"""
    out = []
    for row in rows:
        person, item, value, observed = row[:4]
        out.append(
            {
                "person_id": person,
                "item_id": item,
                "value_num": float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None,
                "value_text": value if isinstance(value, str) else None,
                "value_bool": value if isinstance(value, bool) else None,
                "observed_on": observed,
                "department": row[4] if len(row) > 4 else "dept",
                "source_id": f"src:{item}",
                "snapshot_date": AS_OF,
                "stale": row[5] if len(row) > 5 else False,
            }
        )
    return pl.DataFrame(out, schema=OBSERVATION_SCHEMA)


# Building blocks that put one baseline domain at a known level.
POVERTY_1 = [("lunch_fee_arrears_months", 3, AS_OF)]  # 2 points, level1 = 2
POVERTY_2 = [*POVERTY_1, ("school_aid", "要保護", D(2024, 4, 1))]  # 4 points, level2 = 4
SCHOOL_1 = [("absence_days", v) for v in [3, 3, 4, 3, 3, 3, 4, 4, 3, 2, 2, 1]]  # 35 days, 5 recent
SCHOOL_2 = [("absence_days", v) for v in [8, 9, 10, 9, 8, 7, 9, 9, 8, 6, 6, 6]]  # 95 days, 18 recent
HEALTH_1 = [("untreated_caries", 12, D(2024, 6, 10))]  # 口腔崩壊 = 2 points, level1 = 2
HARD = [("abuse_consultation", "ネグレクト", D(2025, 1, 10))]  # hard rule (and abuse_risk level 2)

COMBINATIONS = [
    # (case, building blocks, tier, domains)
    ("nothing", [], "対象外", []),
    ("one domain at level 1", [POVERTY_1], "見守り", ["poverty"]),
    ("one domain at level 2", [SCHOOL_2], "予防的支援", ["school_refusal"]),
    ("two domains at level 1", [POVERTY_1, SCHOOL_1], "予防的支援", ["poverty", "school_refusal"]),
    (
        "three domains at level 1",
        [POVERTY_1, SCHOOL_1, HEALTH_1],
        "予防的支援",
        ["poverty", "health", "school_refusal"],
    ),
    ("level 2 and level 1", [POVERTY_2, SCHOOL_1], "予防的支援", ["poverty", "school_refusal"]),
    ("two domains at level 2", [POVERTY_2, SCHOOL_2], "重点支援", ["poverty", "school_refusal"]),
    ("a hard rule", [HARD], "重点支援", ["abuse_risk"]),
]


def _records(person: str, blocks: list[list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for block in blocks:
        if block and block[0][0] == "absence_days":
            rows += month_series(person, "absence_days", [v for _item, v in block])
        else:
            rows += [(person, *record) for record in block]
    return rows


def test_combination_table_over_one_population() -> None:
    ids = [f"p{i}" for i in range(len(COMBINATIONS))]
    rows = [r for pid, (_case, blocks, _t, _d) in zip(ids, COMBINATIONS, strict=True) for r in _records(pid, blocks)]
    result = evaluate(BASELINE, AS_OF, people(ids), obs(rows)).results
    got = {row["person_id"]: (row["tier"], sorted(row["domains"])) for row in result.iter_rows(named=True)}
    for pid, (case, _blocks, tier, domains) in zip(ids, COMBINATIONS, strict=True):
        assert got[pid] == (tier, sorted(domains)), case


def test_result_contract_columns_and_types() -> None:
    result = evaluate(BASELINE, AS_OF, people(["a", "b"]), obs(_records("a", [POVERTY_2, HARD])))
    frame = result.results
    assert frame.columns[:10] == [
        "person_id", "tier", "domains", "domain_scores", "domain_levels", "hard_rules", "reasons",
        "benefit_only", "known_to_support", "known_by",
    ]  # fmt: skip
    assert frame.schema["tier"] == pl.String
    assert frame.schema["domains"] == pl.List(pl.String)
    assert frame.schema["hard_rules"] == pl.List(pl.String)
    assert frame.schema["reasons"] == pl.List(REASON_DTYPE)
    assert frame.schema["benefit_only"] == pl.Boolean
    assert frame.schema["known_by"] == pl.List(pl.String)
    assert [f.name for f in frame.schema["domain_scores"].fields] == list(DOMAINS)  # type: ignore[union-attr]
    a, b = frame.iter_rows(named=True)
    assert a["domain_scores"]["poverty"] == 4 and a["domain_levels"]["poverty"] == 2
    assert a["domain_scores"]["abuse_risk"] == 2 and a["hard_rules"] == ["hr_abuse_recent"]
    assert b["tier"] == "対象外" and b["reasons"] == [] and b["domains"] == [] and b["known_to_support"] is False
    assert result.rule_set_hash == BASELINE.hash and result.as_of == AS_OF
    assert result.counts["by_tier"] == {"重点支援": 1, "予防的支援": 0, "見守り": 0, "対象外": 1}
    assert result.parameters["long_absence_days"] == 30


def test_reasons_cite_the_record_department_date_and_freshness() -> None:
    rows = [
        ("a", "lunch_fee_arrears_months", 3, D(2025, 2, 28), "schools", True),
        ("a", "abuse_consultation", "心理的虐待", D(2024, 11, 2), "family_centre"),
        ("a", "abuse_consultation", "ネグレクト", D(2025, 1, 10), "family_centre"),
    ]
    reasons = evaluate(BASELINE, AS_OF, people(["a"]), obs(rows)).results["reasons"][0].to_list()
    by_rule = {r["rule"]: r for r in reasons}
    assert [r["rule"] for r in reasons] == ["hr_abuse_recent", "pov_lunch_arrears", "abuse_consultation"]
    assert by_rule["pov_lunch_arrears"] == {
        "rule": "pov_lunch_arrears",
        "label": "給食費の滞納（3か月以上 2点・3か月未満 1点）",
        "item_id": "lunch_fee_arrears_months",
        "value": "3",
        "department": "schools",
        "observed_on": D(2025, 2, 28),
        "stale": True,
        "score": 2,
    }
    hard = by_rule["hr_abuse_recent"]
    assert (hard["value"], hard["observed_on"], hard["score"], hard["stale"]) == (
        "ネグレクト",
        D(2025, 1, 10),
        None,
        False,
    )


def test_a_sum_reason_shows_the_total_and_the_latest_record() -> None:
    result = evaluate(
        BASELINE, AS_OF, people(["a"]), obs(month_series("a", "absence_days", [8, 9, 10, 9, 8, 7, 9, 9, 8, 6, 6, 6]))
    )
    reason = next(r for r in result.results["reasons"][0].to_list() if r["rule"] == "absence_long")
    assert (reason["value"], reason["observed_on"], reason["score"]) == ("95", AS_OF, 2)


BENEFIT_ONLY = [
    ("public_assistance", True, D(2025, 3, 1)),
    ("school_aid", "要保護", D(2024, 4, 1)),
    ("child_rearing_allowance", True, D(2024, 8, 1)),
]


def _guard_off(tmp_path: Path) -> RuleSet:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("scenarios"))
    path = rules / "municipalities" / "999999" / "x.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        textwrap.dedent(
            """
            municipality: {code: "999999", name: テスト市}
            settings: {stigma_guard: false, reference: テスト}
            """
        ),
        encoding="utf-8",
    )
    return load_rule_set(rules, "999999")


def test_stigma_guard_keeps_benefit_only_children_off_the_list(tmp_path: Path) -> None:
    ids = ["benefit_only", "benefit_and_arrears", "one_benefit"]
    rows = [("benefit_only", *r) for r in BENEFIT_ONLY]
    rows += [("benefit_and_arrears", *r) for r in BENEFIT_ONLY] + [("benefit_and_arrears", *POVERTY_1[0])]
    rows += [("one_benefit", "school_aid", "準要保護", D(2024, 4, 1))]
    guarded = evaluate(BASELINE, AS_OF, people(ids), obs(rows))
    unguarded = evaluate(_guard_off(tmp_path), AS_OF, people(ids), obs(rows))
    tiers = dict(zip(ids, guarded.results["tier"].to_list(), strict=True))
    assert tiers == {"benefit_only": "対象外", "benefit_and_arrears": "予防的支援", "one_benefit": "対象外"}
    assert guarded.results["benefit_only"].to_list() == [True, False, True]
    assert unguarded.results["tier"].to_list()[0] == "予防的支援"
    # Flags resting only on benefit use: children the tiers alone would list, whose points are all benefits.
    assert (guarded.benefit_only_flags, guarded.stigma_guard_capped) == (1, 1)
    assert (unguarded.benefit_only_flags, unguarded.stigma_guard_capped) == (1, 0)


def test_known_to_support_and_no_mark() -> None:
    rows = [
        ("ssw", "ssw_involvement", "SSW", D(2025, 2, 1)),
        ("old_ssw", "ssw_involvement", "SSW", D(2024, 10, 1)),
        ("centre", "centre_case_open", True, D(2025, 3, 1)),
        ("closed", "centre_case_open", False, D(2025, 3, 1)),
        ("yotaikyo", "yotaikyo_registration", "特定妊婦", D(2024, 5, 1)),
        ("cgc", "cgc_case_status", "援助中", D(2024, 5, 1)),
        ("cgc_closed", "cgc_case_status", "終結", D(2024, 5, 1)),
    ]
    ids = ["ssw", "old_ssw", "centre", "closed", "yotaikyo", "cgc", "cgc_closed", "none"]
    result = evaluate(BASELINE, AS_OF, people(ids), obs(rows)).results
    known = dict(zip(ids, result["known_by"].to_list(), strict=True))
    assert known == {
        "ssw": ["known_ssw"],
        "old_ssw": [],
        "centre": ["known_centre"],
        "closed": [],
        "yotaikyo": ["known_yotaikyo"],
        "cgc": ["known_cgc"],
        "cgc_closed": [],
        "none": [],
    }
    assert result["known_to_support"].to_list() == [True, False, True, False, True, True, False, False]


def test_custom_combination_can_use_domain_levels(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("scenarios"))
    path = rules / "municipalities" / "999999" / "x.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        textwrap.dedent(
            """
            municipality: {code: "999999", name: テスト市}
            combination:
              reference: テスト
              tiers:
                - {tier: 重点支援, when: "level.young_carer >= 1"}
                - {tier: 見守り, when: "n_flagged >= param.poverty_level1"}
            """
        ),
        encoding="utf-8",
    )
    custom = load_rule_set(rules, "999999")
    # Since 2026-12 a household care need is a young-carer level only with a sign of the child's own
    # (here 35 days' absence): care need 1 + school signs 1 = level 1.
    rows = [("yc", "household_care_need", "要介護3", D(2024, 10, 1)), *_records("yc", [SCHOOL_1]),
            *_records("two", [POVERTY_1, SCHOOL_1])]
    rows += _records("one", [POVERTY_1])
    result = evaluate(custom, AS_OF, people(["yc", "two", "one"]), obs(rows))
    assert result.results["tier"].to_list() == ["重点支援", "見守り", "対象外"]


def test_results_follow_the_people_frame_order() -> None:
    ids = ["z", "a", "m"]
    result = evaluate(BASELINE, AS_OF, people(ids), obs(_records("a", [HARD])))
    assert result.results["person_id"].to_list() == ids
    assert result.results["tier"].to_list() == ["対象外", "重点支援", "対象外"]


def test_parameter_not_in_force_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no value in force on 2024-03-31"):
        evaluate(BASELINE, D(2024, 3, 31), people(["a"]), obs([]))


def test_input_frames_are_checked() -> None:
    with pytest.raises(ValueError, match="missing column"):
        evaluate(BASELINE, AS_OF, people(["a"]).drop("grade"), obs([]))
    with pytest.raises(ValueError, match="unique"):
        evaluate(BASELINE, AS_OF, people(["a", "a"]), obs([]))
    with pytest.raises(ValueError, match="observed_on"):
        evaluate(BASELINE, AS_OF, people(["a"]), obs([]).with_columns(pl.col("observed_on").cast(pl.String)))
    narrow = people(["a"]).with_columns(pl.col("grade").cast(pl.Int32))
    assert evaluate(BASELINE, AS_OF, narrow, obs(_records("a", [HARD]))).results["tier"][0] == "重点支援"


ITEMS = st.sampled_from(
    [
        ("lunch_fee_arrears_months", st.integers(0, 6)),
        ("school_aid", st.sampled_from(["要保護", "準要保護"])),
        ("public_assistance", st.booleans()),
        ("abuse_consultation", st.sampled_from(["ネグレクト", "心理的虐待"])),
        ("household_care_need", st.sampled_from(["要介護1", "要支援2"])),
        ("absence_days", st.integers(0, 20)),
        ("kokoro_weather", st.sampled_from(["晴れ", "雨", "雷"])),
        ("postnatal_depression_score", st.integers(0, 20)),
    ]
)


@st.composite
def records(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    out = []
    for _ in range(draw(st.integers(0, 12))):
        item, values = draw(ITEMS)
        person = draw(st.sampled_from(["a", "b", "c"]))
        day = AS_OF - dt.timedelta(days=draw(st.integers(-10, 800)))
        out.append((person, item, draw(values), day))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_each_child_is_judged_only_on_their_own_records(rows: list[tuple[Any, ...]]) -> None:
    # The list position (in_list, list_rank) is relative to the others by design; the judgement is not.
    together = evaluate(BASELINE, AS_OF, people(["a", "b", "c"]), obs(rows)).results.drop("in_list", "list_rank")
    for i, pid in enumerate(["a", "b", "c"]):
        alone = evaluate(BASELINE, AS_OF, people([pid]), obs([r for r in rows if r[0] == pid])).results.drop(
            "in_list", "list_rank")
        assert together.row(i, named=True) == alone.row(0, named=True)


def test_which_of_two_same_day_values_a_reason_shows_does_not_depend_on_who_else_is_screened() -> None:
    # Found by the property above, which failed now and then: the join with the population did not
    # keep the input order, the last tie-break between two values of one day.
    rows = [("c", "abuse_consultation", "ネグレクト", dt.date(2024, 11, 4)),
            ("c", "abuse_consultation", "心理的虐待", dt.date(2024, 11, 4))]
    alone = evaluate(BASELINE, AS_OF, people(["c"]), obs(rows)).results.row(0, named=True)
    for _ in range(40):
        together = evaluate(BASELINE, AS_OF, people(["a", "b", "c"]), obs(rows)).results
        assert together.row(2, named=True) == alone


def test_an_empty_population_gives_an_empty_typed_result() -> None:
    result = evaluate(BASELINE, AS_OF, people([]), obs([]))
    assert result.results.height == 0
    assert result.results.schema["reasons"] == pl.List(REASON_DTYPE)
    assert result.counts["by_tier"] == {"重点支援": 0, "予防的支援": 0, "見守り": 0, "対象外": 0}

"""Each indicator kind on small hand-built frames, against hand-computed values."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tsunagu.screen import OBSERVATION_SCHEMA, PEOPLE_SCHEMA, RuleSet, compute_indicators, load_rule_set
from tsunagu.screen.indicators import shift_months

RULES = Path(__file__).resolve().parents[2] / "rules"
AS_OF = dt.date(2025, 3, 31)
D = dt.date

EXTRA = """
indicators:
  - {id: t_latest_aid, label: t, kind: latest, item: school_aid}
  - {id: t_latest_aid_13m, label: t, kind: latest, item: school_aid, window_months: 13}
  - {id: t_count_abuse, label: t, kind: count, item: abuse_consultation, window_days: 365}
  - {id: t_count_neglect, label: t, kind: count, item: abuse_consultation, where: value == "ネグレクト"}
  - {id: t_sum_3m, label: t, kind: sum, item: absence_days, window_months: 3}
  - {id: t_max_12m, label: t, kind: max, item: absence_days, window_months: 12}
  - {id: t_change, label: t, kind: change, item: academic_score, period_months: 12, tolerance_days: 30}
  - {id: t_change_days, label: t, kind: change, item: academic_score, period_days: 365, tolerance_days: 10}
  - {id: t_streak, label: t, kind: streak, item: kokoro_weather, where: 'value in ("雨", "雷")'}
  - {id: t_age, label: t, kind: age_years}
  - {id: t_grade, label: t, kind: grade}
  - {id: t_exists_ssw, label: t, kind: exists, item: ssw_involvement, window_days: 90}
  - {id: t_latest_pa, label: t, kind: latest, item: public_assistance}
"""


@pytest.fixture(scope="module")
def rule_set(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    rules = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(RULES / "baseline", rules / "baseline", ignore=shutil.ignore_patterns("scenarios"))
    (rules / "baseline" / "zz_test.yaml").write_text(EXTRA, encoding="utf-8")
    return load_rule_set(rules, None)


def people(*ids: str, **overrides: Any) -> pl.DataFrame:
    rows = [
        {"person_id": p, "birth_date": D(2014, 6, 1), "sex": "F", "school_code": "S", "grade": 5, "household_id": None}
        for p in ids
    ]
    for row in rows:
        row.update(overrides.get(row["person_id"], {}))
    return pl.DataFrame(rows, schema=PEOPLE_SCHEMA)


def obs(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """(person, item, value, observed_on[, snapshot_date[, source_id[, stale]]])"""
    out = []
    for row in rows:
        person, item, value, observed = row[:4]
        snapshot = row[4] if len(row) > 4 else AS_OF
        source = row[5] if len(row) > 5 else f"src:{item}"
        stale = row[6] if len(row) > 6 else False
        out.append(
            {
                "person_id": person,
                "item_id": item,
                "value_num": float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None,
                "value_text": value if isinstance(value, str) else None,
                "value_bool": value if isinstance(value, bool) else None,
                "observed_on": observed,
                "department": "dept",
                "source_id": source,
                "snapshot_date": snapshot,
                "stale": stale,
            }
        )
    return pl.DataFrame(out, schema=OBSERVATION_SCHEMA)


def values(
    rule_set: RuleSet, ids: list[str], frame: pl.DataFrame, who: pl.DataFrame, as_of: dt.date = AS_OF
) -> dict[str, list[Any]]:
    result = compute_indicators(rule_set, as_of, who, frame, ids)
    assert result["person_id"].to_list() == who["person_id"].to_list()
    return {i: result[i].to_list() for i in ids}


def test_latest_takes_the_newest_value_up_to_as_of_within_its_window(rule_set: RuleSet) -> None:
    frame = obs(
        [
            ("a", "school_aid", "準要保護", D(2023, 4, 1)),
            ("a", "school_aid", "要保護", D(2024, 4, 1)),
            ("a", "school_aid", "準要保護", D(2025, 4, 10)),  # after as-of: not yet known
            ("b", "school_aid", "要保護", D(2023, 4, 1)),  # older than 13 months
        ]
    )
    got = values(rule_set, ["t_latest_aid", "t_latest_aid_13m"], frame, people("a", "b", "c"))
    assert got == {"t_latest_aid": ["要保護", "要保護", None], "t_latest_aid_13m": ["要保護", None, None]}


def test_latest_bool_and_a_correction_in_a_later_export_wins(rule_set: RuleSet) -> None:
    frame = obs(
        [
            ("a", "public_assistance", True, D(2025, 3, 1), D(2025, 3, 5)),
            ("a", "public_assistance", False, D(2025, 3, 1), D(2025, 3, 20)),  # same record, re-exported
            ("b", "public_assistance", True, D(2025, 3, 1), D(2025, 3, 5), "src:a"),
            ("b", "public_assistance", False, D(2025, 2, 1), D(2025, 3, 20), "src:a"),
        ]
    )
    assert values(rule_set, ["t_latest_pa"], frame, people("a", "b")) == {"t_latest_pa": [False, True]}


def test_count_over_a_window_and_with_a_condition(rule_set: RuleSet) -> None:
    frame = obs(
        [
            ("a", "abuse_consultation", "ネグレクト", D(2024, 3, 30)),  # 366 days back: outside 365
            ("a", "abuse_consultation", "心理的虐待", D(2024, 4, 1)),
            ("a", "abuse_consultation", "ネグレクト", AS_OF),  # the as-of day counts
            ("b", "abuse_consultation", "心理的虐待", D(2025, 1, 1)),
        ]
    )
    got = values(rule_set, ["t_count_abuse", "t_count_neglect"], frame, people("a", "b", "c"))
    assert got == {"t_count_abuse": [2, 1, 0], "t_count_neglect": [2, 0, 0]}


def test_sum_and_max_over_calendar_months(rule_set: RuleSet) -> None:
    monthly = [(D(2024, 3, 31), 9), (D(2024, 12, 31), 5), (D(2025, 1, 31), 1), (D(2025, 2, 28), 2), (AS_OF, 3)]
    frame = obs([("a", "absence_days", v, d) for d, v in monthly] + [("b", "absence_days", 4, D(2024, 5, 31))])
    got = values(rule_set, ["t_sum_3m", "t_max_12m"], frame, people("a", "b", "c"))
    # 3 months back from 2025-03-31 is 2024-12-31 (excluded): Jan + Feb + Mar = 6.
    # 12 months back is 2024-03-31 (excluded): the 9 of March 2024 is outside, the max is 5.
    assert got == {"t_sum_3m": [6.0, 0.0, 0.0], "t_max_12m": [5.0, 4.0, None]}


def test_repeated_exports_are_not_double_counted(rule_set: RuleSet) -> None:
    frame = obs(
        [
            ("a", "absence_days", 2, D(2025, 2, 28), D(2025, 3, 1)),
            ("a", "absence_days", 4, D(2025, 2, 28), D(2025, 3, 31)),  # corrected in the next export
            ("a", "absence_days", 1, AS_OF, D(2025, 3, 31)),
            ("b", "absence_days", 2, D(2025, 2, 28), AS_OF, "school-1"),  # moved school: two sources
            ("b", "absence_days", 3, D(2025, 2, 28), AS_OF, "school-2"),
        ]
    )
    assert values(rule_set, ["t_sum_3m"], frame, people("a", "b")) == {"t_sum_3m": [5.0, 5.0]}


def test_several_rows_of_one_export_on_one_day_are_all_kept(rule_set: RuleSet) -> None:
    frame = obs(
        [
            ("a", "abuse_consultation", "ネグレクト", D(2025, 1, 10)),
            ("a", "abuse_consultation", "心理的虐待", D(2025, 1, 10)),
            ("a", "abuse_consultation", "ネグレクト", D(2025, 1, 10), D(2025, 1, 31)),  # older export
        ]
    )
    assert values(rule_set, ["t_count_abuse"], frame, people("a")) == {"t_count_abuse": [2]}


def test_missing_keys_in_observations_are_refused(rule_set: RuleSet) -> None:
    frame = obs([("a", "absence_days", 1, AS_OF)]).with_columns(snapshot_date=pl.lit(None, dtype=pl.Date))
    with pytest.raises(ValueError, match="snapshot_date must not be missing"):
        compute_indicators(rule_set, AS_OF, people("a"), frame, ["t_sum_3m"])


def test_change_against_the_value_one_period_earlier(rule_set: RuleSet) -> None:
    frame = obs(
        [
            ("a", "academic_score", 50, D(2023, 4, 20)),
            ("a", "academic_score", 42, D(2024, 4, 18)),
            ("b", "academic_score", 50, D(2022, 4, 20)),  # two years back: no value one period earlier
            ("b", "academic_score", 42, D(2024, 4, 18)),
            ("c", "academic_score", 42, D(2024, 4, 18)),
            ("d", "academic_score", 60, D(2022, 4, 20)),
            ("d", "academic_score", 55, D(2023, 4, 19)),
            ("d", "academic_score", 58, D(2024, 4, 18)),
            ("e", "academic_score", 45, D(2024, 6, 1)),  # 10.5 months: outside the 30-day tolerance
            ("e", "academic_score", 40, D(2025, 4, 15)),  # after as-of
            ("e", "academic_score", 50, D(2025, 3, 20)),
        ]
    )
    got = values(rule_set, ["t_change", "t_change_days"], frame, people("a", "b", "c", "d", "e"))
    assert got["t_change"] == [-8.0, None, None, 3.0, None]
    # 365 days before 2024-04-18 is 2023-04-19; a tolerance of 10 days still reaches 2023-04-20.
    assert got["t_change_days"] == [-8.0, None, None, 3.0, None]


def test_streak_is_the_longest_run_and_never_crosses_children(rule_set: RuleSet) -> None:
    start = D(2025, 3, 10)
    a = ["雨", "雨", "晴れ", "雷", "雨", "くもり", "雨"]
    b = ["雨", "雨"]
    c = ["晴れ", "くもり"]
    rows = [("a", "kokoro_weather", w, start + dt.timedelta(days=i)) for i, w in enumerate(a)]
    rows += [("b", "kokoro_weather", w, start + dt.timedelta(days=i)) for i, w in enumerate(b)]
    rows += [("c", "kokoro_weather", w, start + dt.timedelta(days=i)) for i, w in enumerate(c)]
    assert values(rule_set, ["t_streak"], obs(rows), people("a", "b", "c", "d")) == {"t_streak": [2, 2, 0, 0]}


def test_age_in_completed_years_and_grade_from_the_person_frame(rule_set: RuleSet) -> None:
    who = people(
        "a",
        "b",
        "c",
        "d",
        a={"birth_date": D(2015, 3, 31)},  # tenth birthday on the as-of day
        b={"birth_date": D(2015, 4, 1), "grade": 4},
        c={"birth_date": D(2016, 2, 29), "grade": None},
        d={"birth_date": D(2025, 3, 1), "grade": None},
    )
    got = values(rule_set, ["t_age", "t_grade"], obs([]), who)
    assert got == {"t_age": [10, 9, 9, 0], "t_grade": [5, 4, None, None]}


def test_exists_in_a_window(rule_set: RuleSet) -> None:
    frame = obs([("a", "ssw_involvement", "SSW", D(2025, 1, 5)), ("b", "ssw_involvement", "SC", D(2024, 12, 31))])
    # 90 days before 2025-03-31 is 2024-12-31, which the window excludes.
    assert values(rule_set, ["t_exists_ssw"], frame, people("a", "b", "c")) == {"t_exists_ssw": [True, False, False]}


def test_records_of_people_outside_the_population_are_ignored(rule_set: RuleSet) -> None:
    frame = obs([("zz", "absence_days", 9, AS_OF), ("a", "absence_days", 1, AS_OF)])
    assert values(rule_set, ["t_sum_3m"], frame, people("a")) == {"t_sum_3m": [1.0]}


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2025, 3, 31), -1, D(2025, 2, 28)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2025, 3, 31), -12, D(2024, 3, 31)),
        (D(2025, 1, 15), -13, D(2023, 12, 15)),
        (D(2024, 12, 31), 2, D(2025, 2, 28)),
    ],
)
def test_shift_months_clamps_to_month_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert shift_months(day, months) == expected

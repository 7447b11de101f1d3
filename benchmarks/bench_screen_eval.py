"""Benchmark: evaluate the national baseline over a synthetic population.

Usage: .venv/bin/python benchmarks/bench_screen_eval.py [--people 500000] [--repeat 3]
Writes benchmarks/results/screen-eval-<N>.json. The budget is 30 s for 500k children with about
10M observation rows. The frames are random (numpy) and only shaped like real exports: the point
is the cost of evaluation, not the tiers that come out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from tsunagu.screen import OBSERVATION_SCHEMA, PEOPLE_SCHEMA, evaluate, load_rule_set

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2025, 3, 31)
EPOCH = np.datetime64("1970-01-01", "D")


def month_ends(count: int) -> list[dt.date]:
    """The last ``count`` month-ends up to AS_OF, oldest first."""
    out = []
    year, month = AS_OF.year, AS_OF.month
    for _ in range(count):
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
        out.append(nxt - dt.timedelta(days=1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def build(n: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ages = rng.integers(0, 16, n)
    birth = np.datetime64(AS_OF) - (ages * 365.25 + rng.integers(0, 365, n)).astype("timedelta64[D]")
    grade = np.where((ages >= 6) & (ages <= 14), ages - 5, 0)
    people = pl.DataFrame(
        {
            "person_id": pl.Series(np.arange(n)).cast(pl.String).str.zfill(8),
            "birth_date": pl.Series(birth).cast(pl.Date),
            "sex": pl.Series(rng.choice(np.array(["M", "F"]), n)),
            "school_code": pl.Series(rng.integers(1, 40, n)).cast(pl.String),
            "grade": pl.Series(grade).cast(pl.Int64),
            "household_id": pl.Series(np.arange(n) // 2).cast(pl.String),
        }
    ).with_columns(grade=pl.when(pl.col("grade") > 0).then(pl.col("grade")), person_id="C" + pl.col("person_id"))
    pupils = np.flatnonzero(grade > 0)
    infants = np.flatnonzero(ages <= 3)
    parts: list[pl.DataFrame] = []

    def add(
        item: str,
        who: np.ndarray,
        dates: np.ndarray,
        num: np.ndarray | None = None,
        text: np.ndarray | None = None,
        flag: np.ndarray | None = None,
        dept: str = "schools",
    ) -> None:
        parts.append(
            pl.DataFrame(
                {
                    "_p": who.astype(np.int64),
                    "item_id": item,
                    "value_num": pl.Series(num, dtype=pl.Float64)
                    if num is not None
                    else pl.Series([None] * len(who), dtype=pl.Float64),
                    "value_text": pl.Series(text, dtype=pl.String)
                    if text is not None
                    else pl.Series([None] * len(who), dtype=pl.String),
                    "value_bool": pl.Series(flag, dtype=pl.Boolean)
                    if flag is not None
                    else pl.Series([None] * len(who), dtype=pl.Boolean),
                    "observed_on": pl.Series(dates).cast(pl.Date),
                    "department": dept,
                    "source_id": f"{dept}:{item}",
                }
            )
        )

    months = np.array(month_ends(12), dtype="datetime64[D]")
    for item, lam in (("absence_days", 1.2), ("late_count", 0.8)):
        who = np.repeat(pupils, 12)
        add(item, who, np.tile(months, len(pupils)), num=rng.poisson(lam, len(who)).astype(float))
    some = rng.choice(pupils, len(pupils) // 2, replace=False)
    who = np.repeat(some, 6)
    add("health_room_visits", who, np.tile(months[-6:], len(some)), num=rng.poisson(1.0, len(who)).astype(float))
    diarists = rng.choice(pupils, len(pupils) // 4, replace=False)
    days = np.datetime64(AS_OF) - np.arange(20)[::-1].astype("timedelta64[D]")
    who = np.repeat(diarists, 20)
    weather = rng.choice(np.array(["晴れ", "くもり", "雨", "雷"]), len(who), p=[0.5, 0.3, 0.15, 0.05])
    add("kokoro_weather", who, np.tile(days, len(diarists)), text=weather)
    tested = rng.choice(pupils, len(pupils) * 3 // 4, replace=False)
    for years_back in (0, 1):
        when = np.full(len(tested), np.datetime64(f"{2024 - years_back}-04-18"))
        add("academic_score", tested, when, num=rng.normal(50, 10, len(tested)))
    add(
        "noncognitive_score",
        tested,
        np.full(len(tested), np.datetime64("2024-04-18")),
        num=rng.normal(50, 10, len(tested)),
    )
    add(
        "untreated_caries",
        pupils,
        np.full(len(pupils), np.datetime64("2024-06-10")),
        num=rng.poisson(0.4, len(pupils)).astype(float),
    )

    everyone = np.arange(n)

    def sample(share: float, pool: np.ndarray = everyone) -> np.ndarray:
        return rng.choice(pool, int(len(pool) * share), replace=False)

    status_day = np.datetime64("2024-04-01")
    for item, share, dept in (
        ("public_assistance", 0.03, "public_assistance"),
        ("child_rearing_allowance", 0.1, "child_support"),
        ("resident_tax_exempt", 0.15, "tax"),
        ("household_disability_certificate", 0.03, "disability_welfare"),
        ("centre_case_open", 0.01, "family_centre"),
    ):
        who = sample(share)
        add(item, who, np.full(len(who), status_day), flag=np.ones(len(who), dtype=bool), dept=dept)
    who = sample(0.15, pupils)
    add(
        "school_aid",
        who,
        np.full(len(who), status_day),
        text=rng.choice(np.array(["準要保護", "要保護"]), len(who), p=[0.85, 0.15]),
        dept="board_of_education",
    )
    who = sample(0.03, pupils)
    add("lunch_fee_arrears_months", who, np.full(len(who), months[-1]), num=rng.integers(1, 6, len(who)).astype(float))
    who = sample(0.02)
    add(
        "household_care_need",
        who,
        np.full(len(who), status_day),
        text=rng.choice(np.array(["要支援1", "要介護2", "要介護4"]), len(who)),
        dept="long_term_care",
    )
    for item, share, codes in (
        ("abuse_consultation", 0.01, ["ネグレクト", "心理的虐待"]),
        ("yotaikyo_registration", 0.01, ["要保護児童", "要支援児童", "終結"]),
        ("cgc_case_status", 0.003, ["調査中", "援助中", "終結"]),
        ("ssw_involvement", 0.03, ["SSW", "SC"]),
    ):
        who = sample(share)
        dates = np.datetime64(AS_OF) - rng.integers(0, 900, len(who)).astype("timedelta64[D]")
        add(item, who, dates, text=rng.choice(np.array(codes), len(who)), dept="family_centre")
    for item in ("checkup_4m", "checkup_18m", "checkup_3y"):
        add(
            item,
            infants,
            np.full(len(infants), np.datetime64("2024-10-01")),
            text=rng.choice(np.array(["受診", "未受診"]), len(infants), p=[0.95, 0.05]),
            dept="maternal_child_health",
        )
    add(
        "postnatal_depression_score",
        infants,
        np.full(len(infants), np.datetime64("2024-09-01")),
        num=rng.integers(0, 20, len(infants)).astype(float),
        dept="maternal_child_health",
    )

    obs = pl.concat(parts)
    # Exports repeat history: one row in twenty also arrives from the previous month's export.
    obs = obs.with_columns(snapshot_date=pl.lit(AS_OF), stale=pl.lit(False))
    repeated = obs.sample(fraction=0.05, seed=seed).with_columns(snapshot_date=pl.lit(AS_OF - dt.timedelta(days=31)))
    obs = pl.concat([obs, repeated])
    ids = people["person_id"]
    obs = obs.with_columns(person_id=ids.gather(obs["_p"])).drop("_p").select(list(OBSERVATION_SCHEMA))
    return people.select(list(PEOPLE_SCHEMA)), obs.cast(OBSERVATION_SCHEMA)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rule_set = load_rule_set(ROOT / "rules", None)
    t0 = time.perf_counter()
    people, observations = build(args.people)
    build_seconds = time.perf_counter() - t0
    timings = []
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = evaluate(rule_set, AS_OF, people, observations)
        timings.append(time.perf_counter() - t0)
    assert result is not None
    report = {
        "benchmark": "screen-eval",
        "people": people.height,
        "observations": observations.height,
        "as_of": AS_OF.isoformat(),
        "rule_set_hash": rule_set.hash,
        "seconds_min": round(min(timings), 2),
        "seconds_median": round(statistics.median(timings), 2),
        "seconds_all": [round(t, 2) for t in timings],
        "budget_seconds": 30,
        "build_seconds": round(build_seconds, 2),
        "counts": result.counts,
        "polars": pl.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "date": dt.date.today().isoformat(),
    }
    out = ROOT / "benchmarks" / "results" / f"screen-eval-{people.height}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

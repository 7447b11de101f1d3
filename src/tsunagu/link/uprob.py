"""u probabilities: how often two records of *different* people fall into each comparison level.

Splink estimates u from the cartesian product of a random subset of records (``max_pairs``
pairs from about √max_pairs records a side). Those pairs share their records: at 500,000 pairs
only ~700 records a side were drawn, and the u of an exact name match, a sum over the names'
frequencies, was off by up to 0.3 bits from run to run (docs/performance.md). Here, instead:

- the first level of a comparison, when it is plain equality (``x_l = x_r``), is computed
  exactly from the value frequencies of the two whole files: Σ_v n_l(v)·n_r(v) over the pairs
  outside the null level. No sampling error at all, and a few milliseconds;
- the other levels (similar, transposed, else) are counted on independent random pairs
  (U_RANDOM_PAIRS, each record drawn anew for each pair), all comparisons in one query, and
  scaled to share what the exact level leaves.

Random pairs are non-matches but for a negligible share (one pair in the register's size). A
level with count k of n pairs has relative standard error √((1−u)/(n·u)) ≈ 1/√k; at 200,000
pairs a level with u = 0.001 is seen ~200 times, ±7 % or ±0.1 bit of weight, as good as
Splink's own early stop at 100 observations a level. A level never seen gets Jeffreys' estimate
½/(n+1) (a count of zero is no evidence that u is zero).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import duckdb
import numpy as np
import polars as pl

U_RANDOM_PAIRS = 200_000
U_PART = 50_000  # pairs drawn at a time (the order of the draws, kept from earlier versions)
EQUALITY = re.compile(r"^(\w+)_l = \1_r$")
NULL_PART = re.compile(r"^\((\w+)_l IS NULL OR \1_r IS NULL\)$")


def with_u(settings: dict[str, Any], left: pl.DataFrame, right: pl.DataFrame, con: duckdb.DuckDBPyConnection,
           seed: int, pairs: int = U_RANDOM_PAIRS) -> dict[str, Any]:
    """The settings with every non-null level's u_probability set."""
    out = copy.deepcopy(settings)
    if left.height == 0 or right.height == 0:
        return out
    counts = _sample_counts(out["comparisons"], left, right, con, seed, pairs)
    for comparison, levels in zip(out["comparisons"], counts, strict=True):
        _set_u(comparison["comparison_levels"], levels, left, right)
    return out


def _gamma(levels: list[dict[str, Any]]) -> str:
    """The level's position as SQL (-1 for the null level), as Splink numbers levels."""
    cases = []
    if not any(level["sql_condition"] == "ELSE" for level in levels):
        levels = [*levels, {"sql_condition": "ELSE", "is_null_level": False, "unscored": True}]
    for position, level in enumerate(levels):
        value = -1 if level.get("is_null_level") else -2 if level.get("unscored") else position
        if level["sql_condition"] == "ELSE":
            cases.append(f"ELSE {value}")
        else:
            cases.append(f"WHEN {level['sql_condition']} THEN {value}")
    return "CASE " + " ".join(cases) + " END"


def _sample_counts(comparisons: list[dict[str, Any]], left: pl.DataFrame, right: pl.DataFrame,
                   con: duckdb.DuckDBPyConnection, seed: int, pairs: int) -> list[dict[int, int]]:
    """Per comparison, how many of the random pairs fall into each level (by position)."""
    # Only the columns the conditions read: gathering every column of 200,000 random rows was most
    # of the estimate's time.
    conditions = " ".join(level["sql_condition"] for c in comparisons for level in c["comparison_levels"])
    used = [c for c in left.columns if c in right.columns and (f"{c}_l" in conditions or f"{c}_r" in conditions)]
    names = [f"g{i}" for i in range(len(comparisons))]
    columns = ", ".join(f"{_gamma(c['comparison_levels'])} AS {name}" for name, c in zip(names, comparisons, strict=True))
    # The pairs are row numbers only; DuckDB joins each to its two records as it compares them. One
    # query over all the pairs, in DuckDB's threads: drawn in polars, 50,000 at a time, the pairs'
    # names and addresses were copied twice (polars, then Arrow) and each part ran on one core.
    # One pass over the pairs for every comparison: a grouping set per comparison, in whose rows
    # only that comparison's level is not null.
    # bandit B608 is a false positive: the conditions are the model's own SQL, no value from the data
    query = ("WITH p AS (SELECT * FROM tsunagu_u_index JOIN tsunagu_u_left USING (i_l) "  # nosec B608
             "JOIN tsunagu_u_right USING (i_r)), "
             f"g AS (SELECT {columns} FROM p) "
             f"SELECT {', '.join(names)}, count(*) FROM g GROUP BY GROUPING SETS ({', '.join(f'({n})' for n in names)})")
    tables = {
        "tsunagu_u_index": _random_pairs(left.height, right.height, seed, pairs),
        "tsunagu_u_left": left.select(used).rename(lambda c: f"{c}_l").with_row_index("i_l"),
        "tsunagu_u_right": right.select(used).rename(lambda c: f"{c}_r").with_row_index("i_r"),
    }
    for name, frame in tables.items():
        con.register(name, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        rows = con.execute(query).fetchall()
    finally:
        for name in tables:
            con.unregister(name)
    counts: list[dict[int, int]] = [{} for _ in comparisons]
    for row in rows:
        for index, level in enumerate(row[:-1]):
            if level is not None:
                counts[index][int(level)] = counts[index].get(int(level), 0) + int(row[-1])
    return counts


def _random_pairs(left_rows: int, right_rows: int, seed: int, pairs: int) -> pl.DataFrame:
    """i_l, i_r: each pair's two records, each drawn anew (with replacement) for each pair. Drawn in
    parts of U_PART, left then right, so that a seed gives the pairs it gave before."""
    rng = np.random.default_rng(seed)
    lefts: list[Any] = []
    rights: list[Any] = []
    for start in range(0, pairs, U_PART):
        size = min(U_PART, pairs - start)
        lefts.append(rng.integers(0, left_rows, size))
        rights.append(rng.integers(0, right_rows, size))
    return pl.DataFrame({"i_l": np.concatenate(lefts), "i_r": np.concatenate(rights)},
                        schema={"i_l": pl.UInt32, "i_r": pl.UInt32})


def _set_u(levels: list[dict[str, Any]], sampled: dict[int, int], left: pl.DataFrame, right: pl.DataFrame) -> None:
    seen = {position: count for position, count in sampled.items() if position >= 0}
    total = sum(seen.values())
    scored = [p for p, level in enumerate(levels) if not level.get("is_null_level")]
    if not scored:
        return
    first = scored[0]
    exact = _exact_first(levels, first, left, right)
    rest_share, sampled_rest = 1.0, total
    if exact is not None and total:
        rest_share, sampled_rest = 1.0 - exact, total - seen.get(first, 0)
        levels[first]["u_probability"] = exact
    for position in scored:
        if exact is not None and position == first:
            continue
        count = seen.get(position, 0)
        proportion = count / sampled_rest if count and sampled_rest else 0.5 / (sampled_rest + 1)
        levels[position]["u_probability"] = min(max(proportion * rest_share, 1e-12), 1.0)


def _exact_first(levels: list[dict[str, Any]], first: int, left: pl.DataFrame, right: pl.DataFrame) -> float | None:
    """The first level's u from the value frequencies, when it is equality on a column that the
    null level (``x_l IS NULL OR x_r IS NULL`` parts) also covers; None otherwise."""
    match = EQUALITY.match(levels[first]["sql_condition"])
    nulls = [level for level in levels if level.get("is_null_level")]
    if match is None or len(nulls) != 1:
        return None
    parts = nulls[0]["sql_condition"].split(" AND ")
    null_columns = [m.group(1) for m in map(NULL_PART.match, parts) if m is not None]
    column = match.group(1)
    if len(null_columns) != len(parts) or column not in null_columns:
        return None
    if any(c not in left.columns or c not in right.columns for c in null_columns):
        return None
    outside_null = _pairs_outside_null(left, right, null_columns)
    if outside_null == 0:
        return None
    agreeing = (
        left.group_by(column).len("n_l").drop_nulls(column)
        .join(right.group_by(column).len("n_r").drop_nulls(column), on=column)
        .select((pl.col("n_l").cast(pl.Float64) * pl.col("n_r")).sum()).item()
    )
    if not agreeing:  # no two records agree: Jeffreys again, never a u of zero (an infinite weight)
        return 0.5 / (outside_null + 1)
    return float(agreeing) / outside_null


def _pairs_outside_null(left: pl.DataFrame, right: pl.DataFrame, columns: list[str]) -> float:
    """Pairs not in the null level: the null level holds when, for every column, one side is null."""
    def patterns(frame: pl.DataFrame) -> list[tuple[tuple[bool, ...], int]]:
        counted = frame.select(pl.col(c).is_null().alias(c) for c in columns).group_by(columns).len("n")
        return [(tuple(row[:-1]), int(row[-1])) for row in counted.iter_rows()]

    outside = 0.0
    for left_nulls, n_l in patterns(left):
        for right_nulls, n_r in patterns(right):
            if not all(a or b for a, b in zip(left_nulls, right_nulls, strict=True)):
                outside += float(n_l) * n_r
    return outside

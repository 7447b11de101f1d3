"""A part's results as the rows ``screening_results`` stores, built column by column.

The JSON texts are exactly what ``json.dumps(value, ensure_ascii=False, default=str)`` gives for
each child's lists, scores and reasons (the older per-child loop, kept as the oracle in
tests/screen_runs/test_result_rows.py): every string is encoded by ``json.dumps`` itself, once per
distinct value, and the brackets, keys and separators are put around them by polars. A Python loop
over the children with a ``json.dumps`` per field was a third of a run's time after the inputs.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl

from tsunagu.screen.model import TIERS

_RANK = {tier: len(TIERS) - i for i, tier in enumerate(TIERS)}  # 重点支援 highest
_NULL = pl.lit("null")
# The stored columns, in the table's order (id apart).
COLUMNS = ("run_id", "person_id", "tier", "domains", "domain_scores", "hard_rules", "reasons", "benefit_only",
           "known_to_support", "known_by", "no_mark", "first_flag", "trend", "school_code", "grade", "age",
           "stale_reasons", "in_list", "list_rank")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _encoded(values: pl.Expr, frame: pl.DataFrame, column: str) -> pl.Expr:
    """``values`` (a column of ``frame`` named ``column``) as JSON literals, null as ``null``."""
    distinct = [v for v in frame[column].unique().to_list() if v is not None]
    mapping = {v: _dumps(v) for v in distinct}
    encoded = values.replace_strict(mapping, default=None, return_dtype=pl.String) if mapping else pl.lit(None, pl.String)
    return pl.when(values.is_null()).then(_NULL).otherwise(encoded)


def _string_list(frame: pl.DataFrame, column: str) -> pl.Series:
    """A list of strings as ``json.dumps`` writes it (a missing list as ``[]``)."""
    elements = frame.select(pl.col(column).explode().alias("e"))
    mapping = {v: _dumps(v) for v in elements["e"].unique().to_list() if v is not None}
    inner = pl.col(column).list.eval(
        pl.element().replace_strict(mapping, default="null", return_dtype=pl.String) if mapping
        else pl.element().cast(pl.String)).list.join(", ")
    return frame.select(pl.concat_str([pl.lit("["), inner.fill_null(""), pl.lit("]")]).alias(column)).to_series()


def _scores(frame: pl.DataFrame, column: str) -> pl.Series:
    """A struct of integers as ``json.dumps`` writes the dict (fields in order)."""
    fields = frame.schema[column].to_schema()  # type: ignore[attr-defined]
    pieces: list[pl.Expr] = [pl.lit("{")]
    for i, name in enumerate(fields):
        value = pl.col(column).struct.field(name)
        pieces += [pl.lit(("" if i == 0 else ", ") + _dumps(name) + ": "),
                   pl.when(value.is_null()).then(_NULL).otherwise(value.cast(pl.String))]
    pieces.append(pl.lit("}"))
    text = pl.when(pl.col(column).is_null()).then(_NULL).otherwise(pl.concat_str(pieces))
    return frame.select(text.alias(column)).to_series()


def _reasons(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Each child's reasons as JSON (a list of objects, fields in the struct's order) and how many
    of them cite stale data."""
    n = frame.height
    long = (frame.select(pl.int_range(0, n, dtype=pl.UInt32).alias("_row"), pl.col("reasons"))
            .explode("reasons").filter(pl.col("reasons").is_not_null()).unnest("reasons"))
    names = [c for c in long.columns if c != "_row"]
    pieces: list[pl.Expr] = [pl.lit("{")]
    for i, name in enumerate(names):
        dtype = long.schema[name]
        value = pl.col(name)
        if dtype == pl.String:
            text = _encoded(value, long, name)
        elif dtype == pl.Date:
            days = {d: _dumps(d) for d in long[name].unique().to_list() if d is not None}
            text = pl.when(value.is_null()).then(_NULL).otherwise(
                value.replace_strict(days, default=None, return_dtype=pl.String) if days else pl.lit(None, pl.String))
        elif dtype == pl.Boolean:
            text = pl.when(value.is_null()).then(_NULL).when(value).then(pl.lit("true")).otherwise(pl.lit("false"))
        else:
            assert dtype.is_integer(), f"reason field {name}: {dtype}"
            text = pl.when(value.is_null()).then(_NULL).otherwise(value.cast(pl.String))
        pieces += [pl.lit(("" if i == 0 else ", ") + _dumps(name) + ": "), text]
    pieces.append(pl.lit("}"))
    stale = pl.col("stale").fill_null(False).cast(pl.Int64) if "stale" in names else pl.lit(0, pl.Int64)
    per_child = (long.select("_row", pl.concat_str(pieces).alias("_text"), stale.alias("_stale"))
                 .group_by("_row", maintain_order=True)
                 .agg(pl.col("_text").str.join(", "), pl.col("_stale").sum()))
    aligned = (pl.DataFrame({"_row": pl.int_range(0, n, dtype=pl.UInt32, eager=True)})
               .join(per_child, on="_row", how="left", maintain_order="left"))
    texts = aligned.select(pl.concat_str([pl.lit("["), pl.col("_text").fill_null(""), pl.lit("]")])).to_series()
    return texts.alias("reasons"), aligned["_stale"].fill_null(0).cast(pl.Int64).alias("stale_reasons")


def _ages(birth: pl.Series, as_of: date) -> pl.Series:
    """Age in years to two decimals, rounded by Python as before (one ``round`` per distinct birth date)."""
    ages = {d: round((as_of - d).days / 365.25, 2) for d in birth.unique().to_list() if d is not None}
    if not ages:
        return pl.Series("age", [None] * birth.len(), dtype=pl.Float64)
    return birth.replace_strict(ages, default=None, return_dtype=pl.Float64).alias("age")


def result_rows(results: pl.DataFrame, people: pl.DataFrame, as_of: date, previous: pl.DataFrame,
                run_id: str) -> pl.DataFrame:
    """The stored columns of every child of a part that do not depend on the list (``listed_rows``
    adds those), in the results' order; ``previous``: person_id and tier of the latest earlier run."""
    frame = results.join(people.select("person_id", "birth_date", "school_code", "grade"), on="person_id", how="left",
                         maintain_order="left")
    before = (frame.select("person_id").join(previous.rename({"tier": "_before"}), on="person_id", how="left",
                                             maintain_order="left")["_before"])
    now_rank = pl.col("tier").replace_strict(_RANK, return_dtype=pl.Int64)
    then_rank = pl.col("_before").replace_strict(_RANK, default=None, return_dtype=pl.Int64)
    trend = (pl.when(pl.col("_before").is_null()).then(pl.lit("new"))
             .when(now_rank > then_rank).then(pl.lit("worse"))
             .when(now_rank < then_rank).then(pl.lit("better")).otherwise(pl.lit("same")))
    reasons, stale = _reasons(frame)
    return frame.with_columns(_before=before).select(
        pl.lit(run_id).alias("run_id"),
        "person_id",
        "tier",
        _string_list(frame, "domains").alias("domains"),
        _scores(frame, "domain_scores").alias("domain_scores"),
        _string_list(frame, "hard_rules").alias("hard_rules"),
        reasons,
        pl.col("benefit_only").fill_null(False).alias("benefit_only"),
        pl.col("known_to_support").fill_null(False).alias("known_to_support"),
        _string_list(frame, "known_by").alias("known_by"),
        trend.alias("trend"),
        "school_code",
        "grade",
        _ages(frame["birth_date"], as_of),
        stale,
    )


def listed_rows(rows: pl.DataFrame, listing: pl.DataFrame, ever: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``result_rows``) with the list's columns, in ``COLUMNS`` order. ``listing``:
    person_id, in_list and list_rank of the list filled over every child (listsize.fill); ``ever``:
    person_id of everyone ever listed before."""
    listed = pl.col("in_list").fill_null(False)
    return (rows.join(listing.select("person_id", "in_list", "list_rank"), on="person_id", how="left",
                      maintain_order="left")
            .with_columns(
                (listed & ~pl.col("known_to_support")).alias("no_mark"),
                (listed & ~pl.col("person_id").is_in(ever["person_id"].implode())).alias("first_flag"),
                listed.alias("in_list"))
            .select(COLUMNS))

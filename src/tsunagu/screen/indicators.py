"""Indicator computation: per-person facts derived from the long observation frame.

Every function takes one item's observations, already restricted to the population, dated at
or before the as-of date and sorted by (person, observed_on, snapshot_date), and returns one row
per person that has data: ``_pix`` (row of the person frame), ``value`` and the evidence a
reason cites — ``ev_date``, ``ev_dept``, ``ev_stale``, ``ev_text``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping

import polars as pl

from tsunagu.screen.compile import to_polars
from tsunagu.screen.expr import Ref, Type
from tsunagu.screen.ruleset import IndicatorDef, Scalar, Window

COLUMN = {Type.NUM: "value_num", Type.TEXT: "value_text", Type.BOOL: "value_bool"}
RESULT_SCHEMA = {
    "_pix": pl.UInt32,
    "ev_date": pl.Date,
    "ev_dept": pl.String,
    "ev_stale": pl.Boolean,
    "ev_text": pl.String,
}
# Aggregates over no records are a real zero (no absence recorded, no consultation) rather
# than unknown; a latest value or a change without data stays missing.
FILL = {"count": 0, "sum": 0.0, "streak": 0, "exists": False}


def shift_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def window_amount(window: Window, params: Mapping[str, Scalar]) -> int:
    amount = window.amount if isinstance(window.amount, int) else params[window.amount]
    assert isinstance(amount, int)  # checked by RuleSet.parameters_at
    return amount


def window_start(window: Window | None, as_of: dt.date, params: Mapping[str, Scalar]) -> dt.date | None:
    """Exclusive lower bound of a look-back window (None: all history up to as-of)."""
    if window is None:
        return None
    amount = window_amount(window, params)
    if window.unit == "days":
        return as_of - dt.timedelta(days=amount)
    return shift_months(as_of, -amount)


def fmt_number(expr: pl.Expr) -> pl.Expr:
    """Numbers as staff read them: 45 rather than 45.0, otherwise two decimals."""
    whole = expr.cast(pl.Int64, strict=False)
    return (
        pl.when(expr.is_null())
        .then(None)
        .when(expr == expr.round(0))
        .then(whole.cast(pl.String))
        .otherwise(expr.round(2).cast(pl.String))
    )


def raw_text() -> pl.Expr:
    return pl.coalesce(pl.col("value_text"), fmt_number(pl.col("value_num")), pl.col("value_bool").cast(pl.String))


def value_text(expr: pl.Expr, value_type: Type) -> pl.Expr:
    if value_type == Type.NUM:
        return fmt_number(expr)
    return expr.cast(pl.String)


def compute(
    ind: IndicatorDef,
    frame: pl.DataFrame,
    as_of: dt.date,
    params: Mapping[str, Scalar],
) -> pl.DataFrame:
    """One row per person with data for ``ind`` (an indicator of a data item)."""
    assert ind.column is not None
    start = window_start(ind.window, as_of, params)
    if ind.kind == "change":
        # The window bounds how old the newer value may be; the earlier one lies a period back.
        assert ind.period is not None
        values = frame.filter(pl.col("value_num").is_not_null())
        return _change(values, start, ind.period, ind.tolerance_days, params)
    if start is not None:
        frame = frame.filter(pl.col("observed_on") > start)
    if ind.where is not None:
        column = COLUMN[ind.column]

        def resolve(ref: Ref) -> pl.Expr:
            return pl.col(column) if ref.namespace is None else pl.lit(params[ref.name])

        condition = to_polars(ind.where.node, resolve).fill_null(False)
        if ind.kind == "streak":
            return _streak(frame.with_columns(_flag=condition))
        frame = frame.filter(condition)
    if ind.kind == "latest":
        return _latest(frame, ind.column)
    if ind.kind in ("count", "exists"):
        agg = pl.len().cast(pl.Int64) if ind.kind == "count" else pl.lit(True)
        text = value_text(pl.col("value"), Type.NUM) if ind.kind == "count" else pl.col("ev_text")
        return _aggregate(frame, agg, text)
    frame = frame.filter(pl.col("value_num").is_not_null())
    if ind.kind == "sum":
        return _aggregate(frame, pl.col("value_num").sum(), value_text(pl.col("value"), Type.NUM))
    assert ind.kind == "max"
    return _max(frame)


def _evidence(last_text: bool = True) -> list[pl.Expr]:
    exprs = [
        pl.col("observed_on").last().alias("ev_date"),
        pl.col("department").last().alias("ev_dept"),
        pl.col("stale").any().alias("ev_stale"),
    ]
    if last_text:
        exprs.append(raw_text().last().alias("ev_text"))
    return exprs


def _latest(frame: pl.DataFrame, column: Type) -> pl.DataFrame:
    col = COLUMN[column]
    out = (
        frame.filter(pl.col(col).is_not_null())
        .group_by("_pix")
        .agg(
            pl.col(col).last().alias("value"),
            *_evidence(last_text=False),
            pl.col("stale").last().alias("ev_stale_last"),
        )
    )
    # For a single latest value the evidence is that one record, so its own stale flag counts.
    return out.with_columns(ev_stale=pl.col("ev_stale_last"), ev_text=value_text(pl.col("value"), column)).drop(
        "ev_stale_last"
    )


def _aggregate(frame: pl.DataFrame, agg: pl.Expr, text: pl.Expr) -> pl.DataFrame:
    out = frame.group_by("_pix").agg(agg.alias("value"), *_evidence())
    return out.with_columns(ev_text=text)


def _max(frame: pl.DataFrame) -> pl.DataFrame:
    # The evidence of a maximum is the record that holds it (the latest one on ties).
    by_value = pl.col("value_num").rank("ordinal")
    out = frame.group_by("_pix").agg(
        pl.col("value_num").max().alias("value"),
        pl.col("observed_on").sort_by(by_value).last().alias("ev_date"),
        pl.col("department").sort_by(by_value).last().alias("ev_dept"),
        pl.col("stale").sort_by(by_value).last().alias("ev_stale"),
    )
    return out.with_columns(ev_text=fmt_number(pl.col("value")))


def _streak(frame: pl.DataFrame) -> pl.DataFrame:
    # Runs are maximal stretches of consecutive entries of one person with the same flag; the
    # frame is sorted by person and date, so a boundary is any change of person or flag.
    boundary = (pl.col("_pix") != pl.col("_pix").shift(1)) | (pl.col("_flag") != pl.col("_flag").shift(1))
    runs = (
        frame.with_columns(_run=boundary.fill_null(True).cum_sum())
        .filter(pl.col("_flag"))
        .group_by("_run")
        .agg(pl.col("_pix").first(), pl.len().cast(pl.Int64).alias("value"), *_evidence(last_text=False))
    )
    longest = runs.sort(["_pix", "value", "ev_date"]).group_by("_pix").agg(pl.all().exclude("_run", "_pix").last())
    return longest.with_columns(ev_text=fmt_number(pl.col("value")))


def _change(
    frame: pl.DataFrame, start: dt.date | None, period: Window, tolerance: int, params: Mapping[str, Scalar]
) -> pl.DataFrame:
    recent = frame if start is None else frame.filter(pl.col("observed_on") > start)
    latest = recent.group_by("_pix").agg(
        pl.col("value_num").last().alias("_v1"),
        *_evidence(last_text=False),
        pl.col("stale").last().alias("_stale1"),
    )
    amount = window_amount(period, params)
    shift = f"-{amount}mo" if period.unit == "months" else f"-{amount}d"
    target = pl.col("ev_date").dt.offset_by(shift)
    tol = dt.timedelta(days=tolerance)
    left = latest.with_columns(_hi=target + tol, _lo=target - tol).sort("_hi")
    right = frame.select(
        "_pix", pl.col("observed_on").alias("_d0"), pl.col("value_num").alias("_v0"), pl.col("stale").alias("_stale0")
    ).sort("_d0")
    joined = left.join_asof(
        right, left_on="_hi", right_on="_d0", by="_pix", strategy="backward", check_sortedness=False
    )
    # The earlier value must lie within the tolerance of one period back, not just anywhere before.
    out = joined.filter(pl.col("_d0") >= pl.col("_lo")).select(
        "_pix",
        (pl.col("_v1") - pl.col("_v0")).alias("value"),
        "ev_date",
        "ev_dept",
        (pl.col("_stale1") | pl.col("_stale0")).alias("ev_stale"),
    )
    return out.with_columns(ev_text=fmt_number(pl.col("value")))

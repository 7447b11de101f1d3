"""Per-person reasons: which rule fired, on which record, from which department, how fresh.

A reason cites each evidence indicator of a fired rule that has data; a rule that fired with no
evidence on record (e.g. on age alone) still gets one reason without a value, so nothing that
moved a child's tier is left unexplained.
"""

from __future__ import annotations

import polars as pl

from tsunagu.screen.ruleset import RuleSet

REASON_DTYPE = pl.Struct(
    {
        "rule": pl.String,
        "label": pl.String,
        "item_id": pl.String,
        "value": pl.String,
        "department": pl.String,
        "observed_on": pl.Date,
        "stale": pl.Boolean,
        "score": pl.Int64,
    }
)


def _fields(rule: str, label: str, item: str | None, indicator: str | None, score: pl.Expr) -> list[pl.Expr]:
    def col(prefix: str, name: str, dtype: pl.DataType) -> pl.Expr:
        if indicator is None:
            return pl.lit(None, dtype=dtype).alias(name)
        return pl.col(f"{prefix}:{indicator}").cast(dtype).alias(name)

    return [
        pl.lit(rule, dtype=pl.String).alias("rule"),
        pl.lit(label, dtype=pl.String).alias("label"),
        pl.lit(item, dtype=pl.String).alias("item_id"),
        col("t", "value", pl.String()),
        col("p", "department", pl.String()),
        col("d", "observed_on", pl.Date()),
        col("s", "stale", pl.Boolean()),
        score.cast(pl.Int64).alias("score"),
    ]


def _cited(
    fired: pl.Expr, rule: str, label: str, evidence: tuple[str, ...], rule_set: RuleSet, score: pl.Expr
) -> list[tuple[pl.Expr, list[pl.Expr]]]:
    out: list[tuple[pl.Expr, list[pl.Expr]]] = []
    has_data = [pl.col(f"d:{e}").is_not_null() for e in evidence]
    for ind_id, present in zip(evidence, has_data, strict=True):
        item = rule_set.indicators[ind_id].item
        out.append((fired & present, _fields(rule, label, item, ind_id, score)))
    first_item = rule_set.indicators[evidence[0]].item if evidence else None
    none_present = ~pl.any_horizontal(has_data) if has_data else pl.lit(True)
    out.append((fired & none_present, _fields(rule, label, first_item, None, score)))
    return out


def reasons_column(rule_set: RuleSet, frame: pl.DataFrame) -> pl.Series:
    """List[Struct] of reasons per row of ``frame`` (which holds sc:/hr: and indicator columns)."""
    entries: list[tuple[pl.Expr, list[pl.Expr]]] = []
    no_score = pl.lit(None, dtype=pl.Int64)
    for cond in rule_set.hard_rules:
        entries += _cited(pl.col(f"hr:{cond.id}"), cond.id, cond.label, cond.evidence, rule_set, no_score)
    for item in rule_set.scored_items:
        score = pl.col(f"sc:{item.id}")
        entries += _cited(score > 0, item.id, item.label, item.evidence, rule_set, score)
    # Long format first (one row per reason, built from the few rows where each rule fired),
    # then one list per person: far cheaper than a list of mostly-null structs per child.
    rows = frame.lazy().with_row_index("_row")
    parts = [
        rows.filter(condition).select(pl.col("_row"), pl.lit(order, dtype=pl.UInt32).alias("_order"), *fields)
        for order, (condition, fields) in enumerate(entries)
    ]
    if not parts:
        return pl.Series("reasons", [[]] * frame.height, dtype=pl.List(REASON_DTYPE))
    long = pl.concat(parts).sort(["_row", "_order"])
    lists = long.group_by("_row", maintain_order=True).agg(pl.struct(*REASON_DTYPE.to_schema().keys()).alias("reasons"))
    aligned = (
        pl.LazyFrame({"_row": pl.arange(0, frame.height, dtype=pl.UInt32, eager=True)})
        .join(lists, on="_row", how="left", maintain_order="left")
        .select(pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(REASON_DTYPE))))
        .collect()
    )
    return aligned.to_series()

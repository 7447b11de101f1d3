"""掲載枠: the list the second stage can review holds a set share of the children.

The tiers fill the list in order of evidence: every child a hard rule lists first (never dropped,
even when they alone exceed the list — that excess is reported as ``overflow``), then 重点支援,
予防的支援 and 見守り. Inside a tier the kind of evidence comes before its amount: first the children
with a record of maltreatment or protective involvement (an item marked ``maltreatment_record`` in
the rules scored — 虐待の通告, 要対協, 児童相談所, 一時保護, past or present), then the number of
domains at level 2, of domains flagged and the points behind them. A point sum treats a past
通告 (1 point) as weaker than two learning flags (2 points); the law and the research do not:
a child once reported is the child the 要対協 must keep in view (児童虐待防止法 第4条, 児童福祉法
第25条の2), and previous episodes are the most consistent predictor of recurrence in the systematic
reviews (Hindley et al. 2006; White et al. 2015 — docs/rules.md, "The list's order inside a tier").
Children with a tier who do not fit keep their tier and are counted as
``beyond`` (枠外): a town with more need than its list sees the number, it is not listed at 20%
without anyone noticing, nor does a child disappear from the record.

Ties at the boundary (the same tier, levels and points) are broken by a lottery that is
reproducible for a base date — sha256 of the date and the person id — because any attribute of
the child (age, school, id order) would turn the tie-break into a rule nobody wrote down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import polars as pl

from tsunagu.screen.model import NO_TIER, TIERS

_TIER_RANK = {tier: i for i, tier in enumerate(TIERS)}  # 重点支援 0 … 対象外 3


@dataclass(frozen=True)
class ListFill:
    share: float  # the setting
    capacity: int  # ceil(share × children)
    listed: int  # children in the list (may exceed capacity only through hard rules)
    beyond: int  # children with a tier who did not fit (枠外)
    overflow: int  # children listed by hard rules beyond the capacity

    def as_dict(self) -> dict[str, float | int]:
        return {"list_share": self.share, "list_capacity": self.capacity, "list_listed": self.listed,
                "list_beyond": self.beyond, "list_overflow": self.overflow}


def lottery(as_of: dt.date, person_id: str) -> int:
    digest = hashlib.sha256(f"{as_of.isoformat()}|{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def capacity(share: float, children: int) -> int:
    # Rounded up: a municipality of 6 children with a 15% list can review one of them.
    return math.ceil(share * children - 1e-9)


def fill(evidence: pl.DataFrame, share: float, as_of: dt.date) -> tuple[pl.DataFrame, ListFill]:
    """``evidence``: person_id, tier, n_hard_rules, maltreatment_record (bool), n_level2, n_flagged,
    points (one row per child).

    Returns person_id, in_list (bool) and list_rank (1 = first; null for 対象外) in the input's
    order, and the counts.
    """
    n = evidence.height
    cap = capacity(share, n)
    tiered = evidence.with_row_index("_row").filter(pl.col("tier") != NO_TIER)
    tiered = tiered.with_columns(
        pl.col("tier").replace_strict(_TIER_RANK, return_dtype=pl.Int64).alias("_tier_rank"),
        (pl.col("n_hard_rules") > 0).alias("_hard"),
        pl.Series("_lot", [lottery(as_of, p) for p in tiered["person_id"]], dtype=pl.UInt64),
    ).sort(["_hard", "_tier_rank", "maltreatment_record", "n_level2", "n_flagged", "points", "_lot"],
           descending=[True, False, True, True, True, True, False])
    hard = int(tiered["_hard"].sum())
    room = max(cap, hard)
    ranked = tiered.with_row_index("list_rank", offset=1).select(
        "_row", pl.col("list_rank").cast(pl.Int64), (pl.col("list_rank") <= room).alias("in_list"))
    out = (evidence.with_row_index("_row").select("_row", "person_id")
           .join(ranked, on="_row", how="left", maintain_order="left")
           .with_columns(pl.col("in_list").fill_null(False)).drop("_row"))
    listed = int(out["in_list"].sum())
    return out, ListFill(share=share, capacity=cap, listed=listed, beyond=tiered.height - listed,
                        overflow=max(hard - cap, 0))

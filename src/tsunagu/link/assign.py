"""From scored pairs to links: human decisions first, then one record per person, then three bands.

Each unkeyed record may join at most one registered person, and each person at most one record
per source partition (one school's roster, the child-guidance centre's cases …). Taking pairs in
order of probability under that constraint is what keeps a twin's school record from landing on
the other twin, whose name, birth date, address and guardians all agree but the given name.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Thresholds:
    """Match probability bands: at or above ``upper`` link; ``lower``..``upper`` review; below, no link."""

    upper: float = 0.99
    lower: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.lower < self.upper <= 1:
            raise ValueError("thresholds need 0 < lower < upper <= 1")


@dataclass
class Assignment:
    links: pl.DataFrame  # key_r, key_l, match_probability, method
    review: pl.DataFrame  # key_l, key_r, match_probability and the comparison levels


def _partition(key_r: pl.Expr) -> pl.Expr:
    """source, plus the school for school records (one roster per school)."""
    source = key_r.str.split(":").list.get(0)
    school = key_r.str.split(":").list.get(1)
    return pl.when(source.str.starts_with("school")).then(source + ":" + school).otherwise(source)


def assign(pairs: pl.DataFrame, decisions: pl.DataFrame, thresholds: Thresholds) -> Assignment:
    """``decisions``: left_key, right_key, decision ('match' / 'non_match') made by people."""
    forced = decisions.filter(pl.col("decision") == "match").select(
        pl.col("left_key").alias("key_l"), pl.col("right_key").alias("key_r")
    )
    refused = decisions.filter(pl.col("decision") == "non_match").select(
        pl.col("left_key").alias("key_l"), pl.col("right_key").alias("key_r")
    )
    scored = pairs.join(refused, on=["key_l", "key_r"], how="anti")
    scored = scored.join(forced.select("key_r"), on="key_r", how="anti")
    ranked = (
        scored.filter(pl.col("match_probability") >= thresholds.lower)
        .with_columns(_partition(pl.col("key_r")).alias("partition"))
        .sort(["match_probability", "key_l", "key_r"], descending=[True, False, False])
    )
    taken_right: set[str] = set(forced["key_r"].to_list())
    taken_slot: set[tuple[str, str]] = set()
    for key_l, key_r in forced.iter_rows():
        taken_slot.add((key_l, _slot(key_r)))
    linked: list[tuple[str, str, float, str]] = [(r, lft, 1.0, "clerical") for lft, r in forced.iter_rows()]
    review_rows: list[int] = []
    for index, (key_l, key_r, probability, partition) in enumerate(
        ranked.select("key_l", "key_r", "match_probability", "partition").iter_rows()
    ):
        if key_r in taken_right or (key_l, partition) in taken_slot:
            continue
        if probability >= thresholds.upper:
            taken_right.add(key_r)
            taken_slot.add((key_l, partition))
            linked.append((key_r, key_l, float(probability), "probabilistic"))
        else:
            review_rows.append(index)
    links = pl.DataFrame(linked, schema={"key_r": pl.Utf8, "key_l": pl.Utf8, "match_probability": pl.Float64,
                                          "method": pl.Utf8}, orient="row")
    review = ranked[review_rows] if review_rows else ranked.head(0)
    # A record already linked automatically needs no review of its weaker candidates.
    review = review.join(links.select("key_r"), on="key_r", how="anti")
    return Assignment(links, review.drop("partition"))


def _slot(key_r: str) -> str:
    source, _, rest = key_r.partition(":")
    return f"{source}:{rest.split(':')[0]}" if source.startswith("school") else source

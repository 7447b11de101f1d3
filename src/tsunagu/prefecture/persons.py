"""Prefecture persons from scored pairs: the same rule whichever engine scored them.

A register holds a child once, so a child has at most one record in each other municipality: of
the pairs at or above the link band (link.assign.Thresholds, the municipal linkage's bands) a
record keeps, per other municipality, only its best — and only when it is the other's best too
(ties broken by key, so the result does not depend on the order an engine returns rows in). Linked
records are joined into persons (connected components); a person's id is its smallest record key.
Pairs in the review band are counted for a person to look at, never linked.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tsunagu.link.assign import Thresholds


@dataclass
class Persons:
    assignment: pl.DataFrame  # key, municipality, person (every released child)
    links: pl.DataFrame  # key_l, key_r, match_probability: the links kept
    review: int  # pairs in the review band


def _mutual_best(pairs: pl.DataFrame) -> pl.DataFrame:
    # Ranked by the match weight: probabilities of strong pairs all round to 1.0, and a sibling
    # sharing the surname, birth date and address would otherwise tie with the child by key order.
    ranked = pairs.sort(["match_weight", "key_l", "key_r"], descending=[True, False, False])
    best_l = ranked.unique(subset=["key_l", "municipality_r"], keep="first", maintain_order=True)
    best_r = ranked.unique(subset=["key_r", "municipality_l"], keep="first", maintain_order=True)
    return best_l.join(best_r.select("key_l", "key_r"), on=["key_l", "key_r"], how="semi")


def _components(keys: list[str], edges: list[tuple[str, str]]) -> dict[str, str]:
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the smaller key is the root: the person's id
    return {k: find(k) for k in keys}


def assign_persons(children: pl.DataFrame, pairs: pl.DataFrame, bands: Thresholds | None = None) -> Persons:
    bands = bands or Thresholds()
    if "match_weight" not in pairs.columns:  # pairs from elsewhere: the weight is the probability's log-odds
        p = pl.col("match_probability").clip(1e-300, 1 - 1e-16)
        pairs = pairs.with_columns((p / (1 - p)).log(2).alias("match_weight"))
    # Splink may give either record of a pair as the left one: put the smaller key on the left.
    swap = pl.col("key_l") > pl.col("key_r")
    pairs = pairs.select(
        pl.when(swap).then(pl.col("key_r")).otherwise(pl.col("key_l")).alias("key_l"),
        pl.when(swap).then(pl.col("key_l")).otherwise(pl.col("key_r")).alias("key_r"),
        pl.when(swap).then(pl.col("municipality_r")).otherwise(pl.col("municipality_l")).alias("municipality_l"),
        pl.when(swap).then(pl.col("municipality_l")).otherwise(pl.col("municipality_r")).alias("municipality_r"),
        "match_probability", "match_weight",
    ).unique(subset=["key_l", "key_r"], keep="first")
    linked = _mutual_best(pairs.filter(pl.col("match_probability") >= bands.upper))
    review = pairs.filter((pl.col("match_probability") >= bands.lower) & (pl.col("match_probability") < bands.upper)).height
    keys = children["key"].to_list()
    roots = _components(keys, list(zip(linked["key_l"].to_list(), linked["key_r"].to_list(), strict=True)))
    assignment = children.select("key", "municipality").with_columns(
        pl.col("key").replace_strict(roots, return_dtype=pl.Utf8).alias("person"))
    return Persons(assignment, linked.select("key_l", "key_r", "match_probability").sort("key_l", "key_r"), review)


def same_persons(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """Whether two assignments group the records alike (whatever the persons' ids)."""
    def groups(frame: pl.DataFrame) -> set[tuple[str, ...]]:
        return {tuple(sorted(keys)) for keys in frame.group_by("person").agg("key")["key"].to_list()}
    return groups(a) == groups(b)

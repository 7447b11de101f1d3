"""Stable person ids: clusters of records mapped onto the ids earlier runs gave them.

A cluster keeps the id that most of its records already carried. A cluster whose records carried
several ids is a merge; an id whose records now fall into several clusters is a split (the largest
part keeps it). Both are recorded with their cause, so a caseworker can see why a child's id moved.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import polars as pl


def new_person_ids(count: int) -> list[str]:
    """``count`` fresh ids at once (one call to the random source, not one per id)."""
    digits = secrets.token_hex(6 * count)
    return ["p-" + digits[i:i + 12] for i in range(0, 12 * count, 12)]


@dataclass
class IdentityChanges:
    assignment: dict[str, str]  # cluster id -> person id
    created: list[str] = field(default_factory=list)
    merged: list[tuple[str, str]] = field(default_factory=list)  # (absorbed id, surviving id)
    split: list[tuple[str, str]] = field(default_factory=list)  # (original id, new id)


def cluster_records(records: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Cluster id per record: the 宛名番号 where known, else the spine record it linked to, else itself.

    ``records``: key, aza_number; ``links``: key_r (record), key_l (spine key, "juki_jumin:<aza>").
    """
    spine_aza = links.with_columns(pl.col("key_l").str.split(":").list.get(1).alias("linked_aza")).select(
        pl.col("key_r").alias("key"), "linked_aza"
    )
    return (
        records.select("key", "source", "department", "local_id", "aza_number")
        .join(spine_aza, on="key", how="left")
        .with_columns(
            pl.when(pl.col("aza_number").is_not_null()).then(pl.lit("aza:") + pl.col("aza_number"))
            .when(pl.col("linked_aza").is_not_null()).then(pl.lit("aza:") + pl.col("linked_aza"))
            .otherwise(pl.lit("rec:") + pl.col("key"))
            .alias("cluster")
        )
    )


def stable_ids(clustered: pl.DataFrame, previous: pl.DataFrame) -> IdentityChanges:
    """``clustered``: key, cluster; ``previous``: key, person_id from the last run.

    Column-wise: a municipality has hundreds of thousands of clusters, and a loop over them in
    Python took seconds of every run.
    """
    votes = (
        clustered.select("key", "cluster").join(previous.select("key", "person_id"), on="key", how="inner")
        .group_by("cluster", "person_id").agg(pl.len().alias("votes"))
    )
    # Each old id belongs to the cluster holding most of its records; ties go to the smallest cluster.
    owner = (votes.sort(["votes", "cluster"], descending=[True, False])
             .unique("person_id", keep="first", maintain_order=True)
             .select("person_id", pl.col("cluster").alias("owner")))
    votes = votes.join(owner, on="person_id", how="inner")
    won = (votes.filter(pl.col("cluster") == pl.col("owner"))
           .sort(["cluster", "votes", "person_id"], descending=[False, True, False]))
    kept = won.unique("cluster", keep="first", maintain_order=True).select("cluster", pl.col("person_id").alias("keep"))
    merged = won.join(kept, on="cluster", how="inner").filter(pl.col("person_id") != pl.col("keep"))
    fresh = clustered.select("cluster").unique().join(kept, on="cluster", how="anti").sort("cluster")
    new_ids = fresh.with_columns(pl.Series("person_id", new_person_ids(fresh.height), dtype=pl.Utf8))
    lost = (votes.filter(pl.col("cluster") != pl.col("owner")).select("cluster", pl.col("person_id").alias("old"))
            .join(new_ids, on="cluster", how="inner").sort(["person_id", "old"]))
    changes = IdentityChanges(assignment=dict(zip(kept["cluster"].to_list(), kept["keep"].to_list(), strict=True)))
    changes.assignment.update(zip(new_ids["cluster"].to_list(), new_ids["person_id"].to_list(), strict=True))
    changes.merged = list(merged.select("person_id", "keep").iter_rows())
    changes.split = list(lost.select("old", "person_id").iter_rows())
    changes.created = new_ids.join(lost, on="cluster", how="anti")["person_id"].to_list()
    return changes

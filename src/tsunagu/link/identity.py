"""Stable person ids: clusters of records mapped onto the ids earlier runs gave them.

A cluster keeps the id that most of its records already carried. A cluster whose records carried
several ids is a merge; an id whose records now fall into several clusters is a split (the largest
part keeps it). Both are recorded with their cause, so a caseworker can see why a child's id moved.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import polars as pl


def new_person_id() -> str:
    return "p-" + secrets.token_hex(6)


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


def stable_ids(clustered: pl.DataFrame, previous: dict[str, str]) -> IdentityChanges:
    """``previous``: record key -> person id from the last run."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, cluster in clustered.select("key", "cluster").iter_rows():
        members[cluster].append(key)
    # Who claims each old id, and how strongly (number of its records in the cluster).
    claims: dict[str, list[tuple[int, str]]] = defaultdict(list)
    votes: dict[str, Counter[str]] = {}
    for cluster, keys in members.items():
        counter = Counter(previous[k] for k in keys if k in previous)
        votes[cluster] = counter
        for person_id, count in counter.items():
            claims[person_id].append((count, cluster))
    owner = {pid: max(c, key=lambda item: (item[0], _neg(item[1])))[1] for pid, c in claims.items()}
    changes = IdentityChanges(assignment={})
    for cluster in sorted(members):
        won = [pid for pid, _ in votes[cluster].most_common() if owner[pid] == cluster]
        if won:
            keep = sorted(won, key=lambda pid: (-votes[cluster][pid], pid))[0]
            changes.assignment[cluster] = keep
            changes.merged.extend((pid, keep) for pid in won if pid != keep)
            continue
        person_id = new_person_id()
        changes.assignment[cluster] = person_id
        lost = [pid for pid in votes[cluster] if owner[pid] != cluster]
        if lost:
            changes.split.extend((pid, person_id) for pid in sorted(lost))
        else:
            changes.created.append(person_id)
    return changes


def _neg(cluster: str) -> str:
    # Ties go to the lexicographically smallest cluster, deterministically.
    return "".join(chr(0x10FFFF - ord(ch)) for ch in cluster)

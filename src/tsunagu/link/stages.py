"""The parts of a linkage run, each usable and testable alone (``link.run`` puts them together).

gather → model → score → assign → write. Each part takes what the previous ones made and returns
a value; none keeps state between runs. Only ``score`` and ``write`` touch the hub session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import PARTITION_FIELDS, ManifestSet
from tsunagu.link import model as link_model
from tsunagu.link.assign import Assignment, Thresholds, assign
from tsunagu.link.identity import cluster_records
from tsunagu.link.models import LinkDecision
from tsunagu.link.outcome import Stored, store_keyed, store_outcome, store_scored
from tsunagu.link.probabilistic import ProbabilisticResult
from tsunagu.link.records import LinkInputs, gather, needed_for_scoring
from tsunagu.vault.node import Node

Scorer = Callable[..., ProbabilisticResult]


class Stages:
    """Seconds per stage of a run, for the report: where a run's time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._mark, 3)
        self._mark = now


# gather ---------------------------------------------------------------------------------------

def scoring_nodes(nodes: Mapping[str, Node], manifests: ManifestSet) -> dict[str, Node]:
    """The departments scoring needs (the register, compared sources, school enrolments)."""
    return {department: node for department, node in nodes.items() if needed_for_scoring(department, manifests)}


def to_score(inputs: LinkInputs, previous: pl.DataFrame, trained: dict[str, Any] | None) -> tuple[pl.DataFrame, bool]:
    """The records without 宛名番号 to score, and whether the run is incremental: only with a saved
    model, and then only the records the previous run did not place."""
    unkeyed = inputs.records.filter(pl.col("aza_number").is_null())
    if trained is None:
        return unkeyed, False
    return unkeyed.join(previous.select("key"), on="key", how="anti"), True


# model ----------------------------------------------------------------------------------------

@dataclass
class ModelPlan:
    spine: pl.DataFrame  # the register's persons, keyed "<register source>:<宛名番号>"
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def declared_fields(manifests: ManifestSet) -> set[str]:
    """Identifier fields of the sources that must be linked probabilistically."""
    fields: set[str] = set()
    for manifest in manifests.manifests.values():
        if manifest.identity_of is None and "aza_number" not in manifest.identifiers:
            fields.update(manifest.identifiers)
        elif manifest.identity_of is None and "full_name" in manifest.identifiers:
            # Sources that carry 宛名番号 on some rows only (walk-in consultations) link both ways.
            fields.update(manifest.identifiers)
    return fields


def profiles(manifests: ManifestSet) -> set[str]:
    """The profiles (Japanese or generic) of the sources linkage compares."""
    return {m.profile for m in manifests.manifests.values() if m.identity_of is None}


def plan_model(inputs: LinkInputs, unkeyed: pl.DataFrame, manifests: ManifestSet) -> ModelPlan:
    """Splink settings from the declared fields, kept to the comparisons both sides hold values for."""
    spine = inputs.spine.with_columns(inputs.spine_key(pl.col("aza_number")).alias("key"))
    declared = link_model.choose_comparisons(declared_fields(manifests), profiles(manifests))
    comparisons, notes = link_model.with_values(declared, spine, unkeyed)
    return ModelPlan(spine, link_model.settings_dict(comparisons), notes)


# score ----------------------------------------------------------------------------------------

@dataclass
class Scored:
    inputs: LinkInputs  # with the records of the departments asked while Splink scored
    result: ProbabilisticResult
    keyed: Stored | None  # a first run's writes of what 宛名番号 decides


def _timed(scorer: Scorer, spine: pl.DataFrame, unkeyed: pl.DataFrame, settings: dict[str, Any],
           trained: dict[str, Any] | None) -> tuple[ProbabilisticResult, float]:
    started = time.perf_counter()
    result = scorer(spine, unkeyed, settings, trained_model=trained)
    return result, round(time.perf_counter() - started, 3)


def score(session: Session, scorer: Scorer, plan: ModelPlan, unkeyed: pl.DataFrame, trained: dict[str, Any] | None,
          inputs: LinkInputs, rest: Mapping[str, Node], manifests: ManifestSet, run_id: str, now: datetime,
          first: bool, stages: Stages) -> Scored:
    """Splink's scores. Splink works in DuckDB with the GIL released; meanwhile this thread asks the
    departments that join by 宛名番号 alone and, on a first run, stores what 宛名番号 decides
    (outcome.py). The session stays in this thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsunagu-splink") as pool:
        scoring = pool.submit(_timed, scorer, plan.spine, unkeyed, plan.settings, trained)
        inputs = inputs.with_records_of(gather(rest, manifests, run_id))
        stages.done("gather_rest")
        # A refused blocking (over the comparison budget) fails within a second: no writing for nothing.
        failed = scoring.done() and scoring.exception() is not None
        keyed = store_keyed(session, run_id, now, inputs) if first and not failed else None
        if keyed is not None:
            stages.done("write_keyed")
        result, stages.seconds["probabilistic"] = scoring.result()
    stages.done("scoring")
    return Scored(inputs, result, keyed)


# assign ---------------------------------------------------------------------------------------

@dataclass
class Assigned:
    assignment: Assignment
    links: pl.DataFrame  # this run's links, and on an incremental run the earlier ones kept
    clustered: pl.DataFrame  # every record's cluster


def partitions(records: pl.DataFrame, manifests: ManifestSet) -> pl.DataFrame:
    """key_r, partition: the records of a partition hold at most one record per person, as each
    source's manifest declares (``linkage.one_per_person``, ``within`` a field such as the school)."""
    parts: list[pl.DataFrame] = []
    for source, frame in records.select("key", "source", *PARTITION_FIELDS).partition_by("source", as_dict=True).items():
        name = str(source[0])
        linkage = manifests.manifests[name].linkage if name in manifests.manifests else None
        if linkage is None or not linkage.one_per_person:
            partition = pl.lit(None, dtype=pl.Utf8)
        elif linkage.within is None:
            partition = pl.lit(name)
        else:
            partition = pl.lit(name + ":") + pl.col(linkage.within).fill_null("")
        parts.append(frame.select(pl.col("key").alias("key_r"), partition.alias("partition")))
    return pl.concat(parts) if parts else pl.DataFrame(schema={"key_r": pl.Utf8, "partition": pl.Utf8})


def decisions(session: Session) -> pl.DataFrame:
    rows = session.execute(select(LinkDecision.left_key, LinkDecision.right_key, LinkDecision.decision)).all()
    return pl.DataFrame(rows, schema={"left_key": pl.Utf8, "right_key": pl.Utf8, "decision": pl.Utf8}, orient="row")


def kept_links(previous: pl.DataFrame, records: pl.DataFrame, spine_source: str) -> pl.DataFrame:
    """Incremental runs keep earlier probabilistic and clerical links of records that are still there."""
    spine = previous.filter(pl.col("source") == spine_source).select(
        "person_id", (pl.lit(spine_source + ":") + pl.col("local_id")).alias("key_l"))
    return (
        previous.filter(pl.col("method").is_in(["probabilistic", "clerical"]))
        .join(records.select("key"), on="key", how="semi")
        .join(spine, on="person_id", how="inner")
        .select(pl.col("key").alias("key_r"), "key_l", "match_probability", "method")
    )


def assign_links(scored: Scored, decided: pl.DataFrame, bands: Thresholds, unkeyed: pl.DataFrame,
                 spine: pl.DataFrame, manifests: ManifestSet, previous: pl.DataFrame | None) -> Assigned:
    """Links and review pairs from the scores; ``previous`` (incremental runs) keeps earlier links."""
    households = spine.select(pl.col("key").alias("key_l"), pl.col("household_number").alias("household"))
    assignment = assign(scored.result.pairs, decided, bands, partitions(unkeyed, manifests), households)
    links = assignment.links
    if previous is not None:
        links = pl.concat([kept_links(previous, scored.inputs.records, scored.inputs.spine_source), links])
    return Assigned(assignment, links, cluster_records(scored.inputs.records, links))


# write ----------------------------------------------------------------------------------------

def write(session: Session, run_id: str, now: datetime, scored: Scored, assigned: Assigned,
          previous: pl.DataFrame) -> Stored:
    """Persons, the link index, households and the review queue: the second half of a first run's
    writes, or a later run's changes in one pass."""
    review = assigned.assignment.review
    if scored.keyed is not None:
        return store_scored(session, run_id, now, scored.keyed, assigned.clustered, assigned.links, review)
    return store_outcome(session, run_id, now, scored.inputs, assigned.clustered, assigned.links, previous, review)

"""A linkage run: gather identifiers from the nodes, link, assign stable ids, store the link index."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.ingest.manifest import PARTITION_FIELDS, ManifestSet
from tsunagu.link import model as link_model
from tsunagu.link.assign import Thresholds, assign
from tsunagu.link.identity import cluster_records
from tsunagu.link.index import previous_links
from tsunagu.link.models import LinkDecision, LinkRun
from tsunagu.link.outcome import store_keyed, store_outcome, store_scored
from tsunagu.link.probabilistic import ProbabilisticResult, link_probabilistic
from tsunagu.link.records import gather, needed_for_scoring
from tsunagu.privacy import AuditEvent, append
from tsunagu.vault.node import Node


@dataclass
class LinkReport:
    run_id: str
    mode: str
    records: int
    persons: int
    deterministic_links: int
    probabilistic_links: int
    clerical_links: int
    review_pairs: int
    unlinked_records: int
    created: int
    merged: int
    split: int
    model_version: str
    seconds: float
    block_counts: list[dict[str, Any]] = field(default_factory=list)
    missing_sources: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    links_written: dict[str, int] = field(default_factory=dict)  # link-index rows deleted / updated / inserted
    # Wall seconds of the run's stages, one after another: gather (what scoring needs), previous,
    # gather_rest (departments that join by 宛名番号 alone), write_keyed (first runs), scoring
    # (until the scores are in), assign, write; and probabilistic, Splink's own seconds, which
    # run beside gather_rest and write_keyed.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # What the run could not use, in words: an item the register does not hold or release, a
    # training blocking without pairs, no register declared.
    notes: list[str] = field(default_factory=list)


def _declared_fields(manifests: ManifestSet) -> set[str]:
    """Identifier fields of the sources that must be linked probabilistically."""
    fields: set[str] = set()
    for manifest in manifests.manifests.values():
        if manifest.identity_of is None and "aza_number" not in manifest.identifiers:
            fields.update(manifest.identifiers)
        elif manifest.identity_of is None and "full_name" in manifest.identifiers:
            # Sources that carry 宛名番号 on some rows only (walk-in consultations) link both ways.
            fields.update(manifest.identifiers)
    return fields


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


def _households(spine: pl.DataFrame) -> pl.DataFrame:
    return spine.select(pl.col("key").alias("key_l"), pl.col("household_number").alias("household"))


def _profiles(manifests: ManifestSet) -> set[str]:
    """The profiles (Japanese or generic) of the sources linkage compares."""
    return {m.profile for m in manifests.manifests.values() if m.identity_of is None}


def _decisions(session: Session) -> pl.DataFrame:
    rows = session.execute(select(LinkDecision.left_key, LinkDecision.right_key, LinkDecision.decision)).all()
    return pl.DataFrame(rows, schema={"left_key": pl.Utf8, "right_key": pl.Utf8, "decision": pl.Utf8}, orient="row")


def _kept_links(previous: pl.DataFrame, records: pl.DataFrame, spine_source: str) -> pl.DataFrame:
    """Incremental runs keep earlier probabilistic and clerical links of records that are still there."""
    spine = previous.filter(pl.col("source") == spine_source).select(
        "person_id", (pl.lit(spine_source + ":") + pl.col("local_id")).alias("key_l"))
    return (
        previous.filter(pl.col("method").is_in(["probabilistic", "clerical"]))
        .join(records.select("key"), on="key", how="semi")
        .join(spine, on="person_id", how="inner")
        .select(pl.col("key").alias("key_r"), "key_l", "match_probability", "method")
    )


def latest_model(session: Session) -> dict[str, Any] | None:
    row = session.execute(
        select(LinkRun.model_json).where(LinkRun.mode == "full", LinkRun.finished_at.is_not(None))
        .order_by(LinkRun.started_at.desc()).limit(1)
    ).scalar()
    return json.loads(row) if row else None


class _Stages:
    """Seconds per stage of a run, for the report: where a run's time goes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._mark, 3)
        self._mark = now


def _score(spine: pl.DataFrame, unkeyed: pl.DataFrame, settings: dict[str, Any],
           trained: dict[str, Any] | None) -> tuple[ProbabilisticResult, float]:
    """Splink's result and its own seconds (on a first run it works beside the writes)."""
    started = time.perf_counter()
    result = link_probabilistic(spine, unkeyed, settings, trained_model=trained)
    return result, round(time.perf_counter() - started, 3)


def run_linkage(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, *, incremental: bool = False,
                thresholds: Thresholds | None = None) -> LinkReport:
    """Link every record the nodes release; store only the link index, in the caller's transaction."""
    bands = thresholds or Thresholds()
    started = time.perf_counter()
    stages = _Stages()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    for_scoring = {department: node for department, node in nodes.items() if needed_for_scoring(department, manifests)}
    inputs = gather(for_scoring, manifests, run_id)
    stages.done("gather")
    previous = previous_links(session)
    trained = latest_model(session) if incremental else None
    unkeyed = inputs.records.filter(pl.col("aza_number").is_null())
    if incremental and trained is not None:
        unkeyed = unkeyed.join(previous.select("key"), on="key", how="anti")
    else:
        incremental = False
    stages.done("previous")
    spine = inputs.spine.with_columns(inputs.spine_key(pl.col("aza_number")).alias("key"))
    declared = link_model.choose_comparisons(_declared_fields(manifests), _profiles(manifests))
    comparisons, unused = link_model.with_values(declared, spine, unkeyed)
    settings = link_model.settings_dict(comparisons)
    now = datetime.now(UTC)
    first = previous.is_empty()
    # Splink works in DuckDB with the GIL released. Meanwhile this thread asks the departments
    # that join by 宛名番号 alone and, on a first run, stores what 宛名番号 decides (outcome.py).
    # The session stays in this thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsunagu-splink") as scorer:
        scoring = scorer.submit(_score, spine, unkeyed, settings, trained)
        rest = {department: node for department, node in nodes.items() if department not in for_scoring}
        inputs = inputs.with_records_of(gather(rest, manifests, run_id))
        stages.done("gather_rest")
        # A refused blocking (over the comparison budget) fails within a second: no writing for nothing.
        failed = scoring.done() and scoring.exception() is not None
        keyed = store_keyed(session, run_id, now, inputs) if first and not failed else None
        if keyed is not None:
            stages.done("write_keyed")
        result, stages.seconds["probabilistic"] = scoring.result()
    stages.done("scoring")
    assignment = assign(result.pairs, _decisions(session), bands, partitions(unkeyed, manifests), _households(spine))
    links = assignment.links
    if incremental:
        links = pl.concat([_kept_links(previous, inputs.records, inputs.spine_source), links])
    clustered = cluster_records(inputs.records, links)
    stages.done("assign")
    if keyed is not None:
        stored = store_scored(session, run_id, now, keyed, clustered, links, assignment.review)
    else:
        stored = store_outcome(session, run_id, now, inputs, clustered, links, previous, assignment.review)
    stages.done("write")
    changes = stored.changes
    model_json = result.model
    version = link_model.model_version(model_json)
    report = LinkReport(
        run_id=run_id, mode="incremental" if incremental else "full", records=inputs.records.height,
        persons=len(changes.assignment), deterministic_links=int(clustered["aza_number"].is_not_null().sum()),
        probabilistic_links=int((links["method"] == "probabilistic").sum()),
        clerical_links=int((links["method"] == "clerical").sum()), review_pairs=assignment.review.height,
        unlinked_records=int(clustered["cluster"].str.starts_with("rec:").sum()),
        created=len(changes.created), merged=len(changes.merged), split=len(changes.split),
        model_version=version, seconds=round(time.perf_counter() - started, 2),
        block_counts=[asdict(c) for c in result.counts], missing_sources=inputs.missing_sources,
        refused=inputs.refused, links_written=stored.written, stage_seconds=stages.seconds,
        notes=[*inputs.notes, *([] if incremental else unused), *result.notes],
    )
    append(session, AuditEvent(
        actor=f"hub:link:{run_id}", role="system", organisation="hub", purpose="screening", action="link.run",
        outcome="allowed", reason=f"名寄せ（{report.mode}、記録 {report.records}件、個人 {report.persons}人）",
        items=("identifiers",),
    ))
    session.add(LinkRun(run_id=run_id, started_at=datetime.now(UTC), finished_at=datetime.now(UTC), mode=report.mode,
                        model_version=version, model_json=json.dumps(model_json, ensure_ascii=False, default=str),
                        stats_json=json.dumps(asdict(report), ensure_ascii=False, default=str),
                        missing_sources=json.dumps(inputs.missing_sources)))
    return report

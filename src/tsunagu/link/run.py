"""A linkage run: gather identifiers from the nodes, link, assign stable ids, store the link index.

A thin façade over the run's parts in ``link.stages``: gather → model → score → assign → write,
then the report, the run's record and its audit entry.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog.manifest import ManifestSet
from tsunagu.link import model as link_model
from tsunagu.link import stages
from tsunagu.link.assign import Thresholds
from tsunagu.link.index import previous_links
from tsunagu.link.models import LinkRun
from tsunagu.link.outcome import Stored
from tsunagu.link.probabilistic import link_probabilistic
from tsunagu.link.records import gather
from tsunagu.link.searchkeys import gather_classes, write_search_keys
from tsunagu.link.stages import partitions
from tsunagu.privacy import AuditEvent, append
from tsunagu.vault.node import Node

__all__ = ["LinkReport", "latest_model", "partitions", "run_linkage"]


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


def latest_model(session: Session) -> dict[str, Any] | None:
    row = session.execute(
        select(LinkRun.model_json).where(LinkRun.mode == "full", LinkRun.finished_at.is_not(None))
        .order_by(LinkRun.started_at.desc()).limit(1)
    ).scalar()
    return json.loads(row) if row else None


def run_linkage(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, *, incremental: bool = False,
                thresholds: Thresholds | None = None, search_secret: bytes | None = None) -> LinkReport:
    """Link every record the nodes release; store only the link index, in the caller's transaction."""
    started = time.perf_counter()
    timer = stages.Stages()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    for_scoring = stages.scoring_nodes(nodes, manifests)
    inputs = gather(for_scoring, manifests, run_id)
    timer.done("gather")
    previous = previous_links(session)
    trained = latest_model(session) if incremental else None
    unkeyed, incremental = stages.to_score(inputs, previous, trained)
    timer.done("previous")
    plan = stages.plan_model(inputs, unkeyed, manifests)
    now = datetime.now(UTC)
    rest = {department: node for department, node in nodes.items() if department not in for_scoring}
    # link_probabilistic is looked up here, at call time: a test may put a stricter budget in its place.
    scored = stages.score(session, link_probabilistic, plan, unkeyed, trained, inputs, rest, manifests, run_id, now,
                          previous.is_empty(), timer)
    assigned = stages.assign_links(scored, stages.decisions(session), thresholds or Thresholds(), unkeyed, plan.spine,
                                   manifests, previous if incremental else None)
    timer.done("assign")
    stored = stages.write(session, run_id, now, scored, assigned, previous)
    timer.done("write")
    if search_secret is not None:  # the staff app's search terms, hashed (link.searchkeys)
        write_search_keys(session, scored.inputs.records, search_secret, now.date(),
                          gather_classes(nodes, manifests, run_id))
        timer.done("search_keys")
    notes = [*scored.inputs.notes, *([] if incremental else plan.notes), *scored.result.notes]
    report = _report(run_id, incremental, scored, assigned, stored, notes, timer,
                     round(time.perf_counter() - started, 2))
    _record(session, report, scored)
    return report


def _report(run_id: str, incremental: bool, scored: stages.Scored, assigned: stages.Assigned, stored: Stored,
            notes: list[str], timer: stages.Stages, seconds: float) -> LinkReport:
    changes, links, clustered, inputs = stored.changes, assigned.links, assigned.clustered, scored.inputs
    return LinkReport(
        run_id=run_id, mode="incremental" if incremental else "full", records=inputs.records.height,
        persons=len(changes.assignment), deterministic_links=int(clustered["aza_number"].is_not_null().sum()),
        probabilistic_links=int((links["method"] == "probabilistic").sum()),
        clerical_links=int((links["method"] == "clerical").sum()), review_pairs=assigned.assignment.review.height,
        unlinked_records=int(clustered["cluster"].str.starts_with("rec:").sum()),
        created=len(changes.created), merged=len(changes.merged), split=len(changes.split),
        model_version=link_model.model_version(scored.result.model), seconds=seconds,
        block_counts=[asdict(c) for c in scored.result.counts], missing_sources=inputs.missing_sources,
        refused=inputs.refused, links_written=stored.written, stage_seconds=timer.seconds, notes=notes,
    )


def _record(session: Session, report: LinkReport, scored: stages.Scored) -> None:
    """The run's audit entry and its record, with the model it used."""
    append(session, AuditEvent(
        actor=f"hub:link:{report.run_id}", role="system", organisation="hub", purpose="screening", action="link.run",
        outcome="allowed", reason=f"名寄せ（{report.mode}、記録 {report.records}件、個人 {report.persons}人）",
        items=("identifiers",),
    ))
    session.add(LinkRun(run_id=report.run_id, started_at=datetime.now(UTC), finished_at=datetime.now(UTC),
                        mode=report.mode, model_version=report.model_version,
                        model_json=json.dumps(scored.result.model, ensure_ascii=False, default=str),
                        stats_json=json.dumps(asdict(report), ensure_ascii=False, default=str),
                        missing_sources=json.dumps(scored.inputs.missing_sources)))

"""A linkage run: gather identifiers from the nodes, link, assign stable ids, store the link index."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tsunagu.ingest.manifest import ManifestSet
from tsunagu.link import model as link_model
from tsunagu.link.assign import Thresholds, assign
from tsunagu.link.households import write_households
from tsunagu.link.identity import IdentityChanges, cluster_records, stable_ids
from tsunagu.link.models import ClericalPair, LinkDecision, LinkRun, Person, PersonEvent, PersonLink
from tsunagu.link.probabilistic import link_probabilistic
from tsunagu.link.records import SPINE_SOURCE, LinkInputs, gather
from tsunagu.privacy import AuditEvent, append
from tsunagu.store.bulk import bulk_insert
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


def _decisions(session: Session) -> pl.DataFrame:
    rows = session.execute(select(LinkDecision.left_key, LinkDecision.right_key, LinkDecision.decision)).all()
    return pl.DataFrame(rows, schema={"left_key": pl.Utf8, "right_key": pl.Utf8, "decision": pl.Utf8}, orient="row")


def _previous_links(session: Session) -> pl.DataFrame:
    rows = session.execute(
        select(PersonLink.source, PersonLink.local_id, PersonLink.person_id, PersonLink.method, PersonLink.match_probability)
    ).all()
    return pl.DataFrame(rows, schema={"source": pl.Utf8, "local_id": pl.Utf8, "person_id": pl.Utf8, "method": pl.Utf8,
                                      "match_probability": pl.Float64}, orient="row").with_columns(
        (pl.col("source") + ":" + pl.col("local_id")).alias("key"))


def _kept_links(previous: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Incremental runs keep earlier probabilistic and clerical links of records that are still there."""
    spine = previous.filter(pl.col("source") == SPINE_SOURCE).select(
        "person_id", (pl.lit(SPINE_SOURCE + ":") + pl.col("local_id")).alias("key_l"))
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


def run_linkage(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, *, incremental: bool = False,
                thresholds: Thresholds | None = None) -> LinkReport:
    """Link every record the nodes release; store only the link index, in the caller's transaction."""
    bands = thresholds or Thresholds()
    started = time.perf_counter()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    inputs = gather(nodes, manifests, run_id)
    previous = _previous_links(session)
    trained = latest_model(session) if incremental else None
    unkeyed = inputs.records.filter(pl.col("aza_number").is_null())
    if incremental and trained is not None:
        unkeyed = unkeyed.join(previous.select("key"), on="key", how="anti")
    else:
        incremental = False
    settings = link_model.settings_dict(link_model.choose_comparisons(_declared_fields(manifests)))
    result = link_probabilistic(inputs.spine.with_columns((pl.lit(SPINE_SOURCE + ":") + pl.col("aza_number")).alias("key")),
                                unkeyed, settings, trained_model=trained)
    assignment = assign(result.pairs, _decisions(session), bands)
    links = assignment.links
    if incremental:
        links = pl.concat([_kept_links(previous, inputs.records), links])
    clustered = cluster_records(inputs.records, links)
    previous_ids = dict(previous.select("key", "person_id").iter_rows())
    changes = stable_ids(clustered, previous_ids)
    model_json = result.model
    version = link_model.model_version(model_json)
    _store(session, run_id, inputs, clustered, links, changes, assignment.review, previous_ids)
    write_households(session, inputs, clustered, changes.assignment, run_id)
    report = LinkReport(
        run_id=run_id, mode="incremental" if incremental else "full", records=inputs.records.height,
        persons=len(changes.assignment), deterministic_links=int(clustered["aza_number"].is_not_null().sum()),
        probabilistic_links=int((links["method"] == "probabilistic").sum()),
        clerical_links=int((links["method"] == "clerical").sum()), review_pairs=assignment.review.height,
        unlinked_records=int(clustered["cluster"].str.starts_with("rec:").sum()),
        created=len(changes.created), merged=len(changes.merged), split=len(changes.split),
        model_version=version, seconds=round(time.perf_counter() - started, 2),
        block_counts=[asdict(c) for c in result.counts], missing_sources=inputs.missing_sources,
        refused=inputs.refused,
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


def _store(session: Session, run_id: str, inputs: LinkInputs, clustered: pl.DataFrame, links: pl.DataFrame,
           changes: IdentityChanges, review: pl.DataFrame, previous_ids: dict[str, str]) -> None:
    now = datetime.now(UTC)
    conn = session.connection()
    known = set(session.scalars(select(Person.person_id)).all())
    fresh = [(pid, run_id, "active") for pid in sorted(set(changes.assignment.values()) - known)]
    bulk_insert(conn, Person.__table__, ("person_id", "created_run", "status"), fresh)  # type: ignore[arg-type]
    bulk_insert(conn, PersonEvent.__table__, ("run_id", "at", "kind", "person_id", "cause"),  # type: ignore[arg-type]
                [(run_id, now, "created", pid, "新しい記録 / new records") for pid in changes.created])
    for absorbed, keep in changes.merged:
        session.execute(update(Person).where(Person.person_id == absorbed).values(status="merged", merged_into=keep))
        session.add(PersonEvent(run_id=run_id, at=now, kind="merged", person_id=keep, other_person_id=absorbed,
                                cause="同一人物の記録と判定（名寄せ） / records found to be the same person"))
    for original, new in changes.split:
        session.add(PersonEvent(run_id=run_id, at=now, kind="split", person_id=new, other_person_id=original,
                                cause="別人の記録と判定（名寄せ） / records found to be different people"))
    probability = dict(links.select("key_r", "match_probability").iter_rows())
    method = dict(links.select("key_r", "method").iter_rows())
    session.execute(delete(PersonLink))
    rows = [
        (changes.assignment[cluster], department, source, local_id,
         "aza_number" if aza is not None else method.get(key, "singleton"), probability.get(key), run_id)
        for key, source, department, local_id, aza, cluster in clustered.select(
            "key", "source", "department", "local_id", "aza_number", "cluster").iter_rows()
    ]
    bulk_insert(conn, PersonLink.__table__,  # type: ignore[arg-type]
                ("person_id", "department", "source", "local_id", "method", "match_probability", "run_id"), rows)
    session.execute(update(ClericalPair).where(ClericalPair.status == "open").values(status="obsolete"))
    decided = {(left, right) for left, right in session.execute(select(LinkDecision.left_key, LinkDecision.right_key)).all()}
    existing = {(p.left_key, p.right_key): p for p in session.scalars(select(ClericalPair))}
    gamma = [c for c in review.columns if c.startswith("gamma_")]
    for row in review.iter_rows(named=True):
        pair = (row["key_l"], row["key_r"])
        if pair in decided:
            continue
        levels = json.dumps({c.removeprefix("gamma_"): row[c] for c in gamma}, ensure_ascii=False)
        if pair in existing:
            existing[pair].status, existing[pair].run_id = "open", run_id
            existing[pair].match_probability, existing[pair].comparison_json = float(row["match_probability"]), levels
        else:
            session.add(ClericalPair(run_id=run_id, left_key=pair[0], right_key=pair[1], status="open",
                                     match_probability=float(row["match_probability"]), comparison_json=levels))

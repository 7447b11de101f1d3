"""An outreach run: evaluate every programme over the linked children as of a date, store the results,
and record what became of the families earlier waves wrote to.

Results are kept for everyone the department may need to look at — eligible and not receiving,
eligible with receipt not recorded anywhere, and those with a condition that could not be
checked; the counts cover everyone. A run after new exports settles the outcomes of every wave
sent before its date: a child counts as having applied or used the service when the programme's
receipt condition holds now, dated by the record that shows it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.outreach.evaluate import NOT_ELIGIBLE, evaluate_programmes
from tsunagu.outreach.inputs import PURPOSE, gather_outreach
from tsunagu.outreach.models import OutreachNotice, OutreachOutcome, OutreachResult, OutreachRun, OutreachWave
from tsunagu.outreach.programmes import ProgrammeSet
from tsunagu.privacy import AuditEvent, append
from tsunagu.vault.node import Node


@dataclass
class OutreachReport:
    run_id: str
    as_of: str
    children: int
    programmes: dict[str, dict[str, int]]
    unavailable: list[str]
    outcomes: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # wave -> programme -> counts
    seconds: float = 0.0
    unreadable: dict[str, Any] = field(default_factory=dict)  # rows that did not load, per source and item


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _stored(rows: pl.DataFrame, run_id: str) -> list[dict[str, Any]]:
    keep = rows.filter((pl.col("status") != NOT_ELIGIBLE) & (pl.col("receiving") != True).fill_null(True))  # noqa: E712
    return [{"run_id": run_id, **r} for r in keep.select(
        "programme", "person_id", "household_id", "status", "receiving", "gap", "conditions", "unchecked", "receipt_on",
    ).iter_rows(named=True)]


def run_outreach(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
                 programmes: ProgrammeSet, as_of: date, *, excluded: set[str] | None = None) -> OutreachReport:
    """``excluded``: persons whose use is suspended (利用停止): never evaluated, never written to."""
    started = time.perf_counter()
    run_id = f"{as_of.isoformat()}-{uuid.uuid4().hex[:8]}"
    inputs = gather_outreach(session, nodes, manifests, catalog, programmes.item_ids, as_of, run_id)
    people, observations = inputs.people, inputs.observations
    if excluded:
        people = people.filter(~pl.col("person_id").is_in(list(excluded)))
    result = evaluate_programmes(programmes, as_of, people, observations, unavailable=inputs.unavailable,
                                 catalog=catalog, unreadable=inputs.unreadable.subjects)
    session.add(OutreachRun(
        run_id=run_id, as_of=as_of, started_at=datetime.now(UTC), finished_at=None,
        programme_hash=programmes.hash, programmes_json=_json(programmes.resolved(as_of)),
        counts_json=_json(result.counts), unavailable_json=_json(inputs.unavailable),
        snapshots_json=_json(inputs.snapshots), children=people.height,
        unreadable_json=_json(inputs.unreadable.summary()),
    ))
    session.flush()
    rows = _stored(result.rows, run_id)
    for start in range(0, len(rows), 5000):
        session.execute(insert(OutreachResult), rows[start:start + 5000])
    outcomes = settle_outcomes(session, result.rows, programmes, run_id, as_of)
    run = session.get(OutreachRun, run_id)
    assert run is not None
    run.finished_at = datetime.now(UTC)
    append(session, AuditEvent(
        actor=f"hub:{PURPOSE}:{run_id}", role="system", organisation="hub", purpose=PURPOSE, action="outreach.run",
        outcome="allowed", reason=f"制度の対象要件の判定（{as_of.isoformat()}時点、{people.height}人）",
        items=tuple(sorted(programmes.item_ids)),
    ))
    return OutreachReport(run_id, as_of.isoformat(), people.height, result.counts, inputs.unavailable, outcomes,
                          round(time.perf_counter() - started, 2), inputs.unreadable.summary())


def settle_outcomes(session: Session, rows: pl.DataFrame, programmes: ProgrammeSet, run_id: str,
                    as_of: date) -> dict[str, dict[str, dict[str, int]]]:
    """For every wave sent on or before ``as_of``: did each noticed child's family apply or use it?"""
    waves = session.scalars(select(OutreachWave).where(OutreachWave.sent_on <= as_of)).all()
    now = {(r["person_id"], r["programme"]): (r["receiving"], r["receipt_on"])
           for r in rows.select("person_id", "programme", "receiving", "receipt_on").iter_rows(named=True)}
    summary: dict[str, dict[str, dict[str, int]]] = {}
    for wave in waves:
        session.execute(delete(OutreachOutcome).where(OutreachOutcome.wave_id == wave.wave_id))
        notices = session.scalars(select(OutreachNotice).where(OutreachNotice.wave_id == wave.wave_id)).all()
        out: list[dict[str, Any]] = []
        for notice in notices:
            for programme in json.loads(notice.programmes):
                prog = programmes.programmes.get(programme)
                if prog is None or prog.receiving is None:
                    continue  # no department records receipt: no outcome can be known
                end = wave.sent_on + timedelta(days=prog.outcome_window_days)
                for person in json.loads(notice.person_ids).get(programme, []):
                    receiving, on = now.get((person, programme), (None, None))
                    took = bool(receiving)
                    day = on or (as_of if took else None)
                    out.append({"wave_id": wave.wave_id, "run_id": run_id, "programme": programme, "person_id": person,
                                "household_id": notice.household_id, "took_up": took, "taken_on": day,
                                "in_window": took and day is not None and wave.sent_on <= day <= end})
        if out:
            session.execute(insert(OutreachOutcome), out)
        per: dict[str, dict[str, int]] = {}
        for o in out:
            entry = per.setdefault(o["programme"], {"noticed": 0, "took_up": 0, "in_window": 0})
            entry["noticed"] += 1
            entry["took_up"] += int(o["took_up"])
            entry["in_window"] += int(o["in_window"])
        summary[wave.wave_id] = per
    return summary

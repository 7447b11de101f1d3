"""A screening run: evaluate the rule set over every linked child as of a date and store the results.

A run freezes what it used — the rule set (its hash and resolved JSON), the linkage run and model
version, the export dates it read and a digest of its inputs — so the same inputs give the same
results and an earlier list can be explained later.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog
from tsunagu.catalog.manifest import ManifestSet
from tsunagu.errors import InputError
from tsunagu.link.models import LinkRun
from tsunagu.privacy import AuditEvent, append
from tsunagu.screen import RuleSet, evaluate
from tsunagu.screen.listsize import ListFill, fill
from tsunagu.screen.model import TIERS
from tsunagu.screen.runs.inputs import ScreeningInputs, gather
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.screen.runs.rows import COLUMNS, listed_rows, result_rows
from tsunagu.store.bulk import bulk_insert, column_rows, read_frame
from tsunagu.store.dialects import dialect_of
from tsunagu.vault import schema
from tsunagu.vault.node import LocalNode, Node

NOT_LISTED = TIERS[-1]
# Children evaluated at a time: the wide frame of every indicator's value and evidence is per part;
# the inputs are whole-municipality, and so are the parts' result rows until the list is filled.
# A part of 50,000 took about 0.7 GB at its peak (100,000 children, stage_memory.py).
PARTITION_PEOPLE = 25_000


@dataclass
class ScreeningReport:
    run_id: str
    as_of: str
    children: int
    by_tier: dict[str, int]
    listed: int
    no_mark: int
    first_flags: int
    worse: int
    benefit_only_flags: int
    stigma_guard_capped: int
    list_share: float  # the setting (掲載枠)
    list_capacity: int
    list_beyond: int  # children with a tier beyond the list (枠外), counted and kept
    list_overflow: int  # hard-rule children listed beyond the capacity
    rule_set_hash: str
    link_run_id: str | None
    data_digest: str
    seconds: float
    missing_sources: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _previous(session: Session, as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tiers in the latest earlier run (person_id, tier), and everyone ever listed before (person_id)."""
    last = session.execute(
        select(ScreeningRun.run_id).where(ScreeningRun.as_of <= as_of, ScreeningRun.finished_at.is_not(None))
        .order_by(ScreeningRun.as_of.desc(), ScreeningRun.started_at.desc()).limit(1)
    ).scalar()
    conn, text = session.connection(), pl.Utf8()
    tiers = read_frame(conn, select(ScreeningResult.person_id, ScreeningResult.tier)
                       .where(ScreeningResult.run_id == (last or "")), {"person_id": text, "tier": text})
    ever = read_frame(conn, select(ScreeningResult.person_id).where(ScreeningResult.in_list), {"person_id": text})
    # One tier a person (the last row, as a dict built from the rows kept it).
    return tiers.unique("person_id", keep="last", maintain_order=True), ever.unique()


def _write(conn: Connection, rows: pl.DataFrame) -> None:
    """Straight to the driver's executemany: the ORM's bulk insert leaves out each row's null values,
    so rows with and without a school or a list rank fell into separate statements (tens of
    thousands of executes for 100,000 children), and built a parameter dict per row."""
    converted = dialect_of(conn).is_sqlite
    if converted:  # SQLite stores booleans as 0/1, as sqlite_driver_value would convert them one by one
        rows = rows.with_columns(pl.col(pl.Boolean).cast(pl.Int64))
    bulk_insert(conn, ScreeningResult.__table__, COLUMNS, column_rows(rows, COLUMNS),  # type: ignore[arg-type]
                converted=converted)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def partitions(people: pl.DataFrame, observations: pl.DataFrame,
               size: int) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """The children ``size`` at a time, in their order, each part with its own observations (in
    theirs). Every indicator and rule reads one child's values only, so a child's result does
    not depend on who else is in the part; the parts' results in order are the whole run's.
    An empty population still gives one (empty) part: the run's counts come from it."""
    # Each observation's part number, found once by one join: a filter on the person ids of each
    # part in turn hashed every observation's person id once per part.
    numbered = people.select("person_id", (pl.int_range(0, pl.len(), dtype=pl.UInt32) // size).alias("_part"))
    part_of = observations.select("person_id").join(numbered, on="person_id", how="left",
                                                    maintain_order="left")["_part"]
    for number, start in enumerate(range(0, max(people.height, 1), size)):
        yield people.slice(start, size), observations.filter(part_of == number)


# What evaluate is given while the list is not filled yet: no child listed. The list is filled once
# every part is evaluated (its size is a share of all children) and joined to each part's rows.
_LIST_PENDING = (pl.DataFrame(schema={"person_id": pl.String, "in_list": pl.Boolean, "list_rank": pl.Int64}),
                 ListFill(share=0.0, capacity=0, listed=0, beyond=0, overflow=0))


@dataclass
class _Totals:
    """The parts' counts, summed."""

    by_tier: dict[str, int] = field(default_factory=lambda: {tier: 0 for tier in TIERS})
    benefit_only_flags: int = 0
    stigma_guard_capped: int = 0
    known_to_support: int = 0
    listed: int = 0
    no_mark: int = 0
    first_flags: int = 0
    worse: int = 0
    list_fill: dict[str, Any] = field(default_factory=dict)

    def add(self, counts: dict[str, Any]) -> None:
        for tier, count in counts["by_tier"].items():
            self.by_tier[tier] = self.by_tier.get(tier, 0) + int(count)
        self.benefit_only_flags += int(counts["benefit_only_flags"])
        self.stigma_guard_capped += int(counts["stigma_guard_capped"])
        self.known_to_support += int(counts["known_to_support"])

    def add_listed(self, rows: pl.DataFrame) -> None:
        listed = rows.filter(pl.col("in_list"))
        self.listed += listed.height
        self.no_mark += int(listed["no_mark"].sum())
        self.first_flags += int(listed["first_flag"].sum())
        self.worse += int((listed["trend"] == "worse").sum())

    @property
    def counts(self) -> dict[str, Any]:
        fill_counts = {k: v for k, v in self.list_fill.items() if k.startswith("list_")}
        return {"by_tier": dict(self.by_tier), "benefit_only_flags": self.benefit_only_flags,
                "stigma_guard_capped": self.stigma_guard_capped, "known_to_support": self.known_to_support,
                **fill_counts}


def _link_run(session: Session) -> tuple[str | None, str | None]:
    row = session.execute(select(LinkRun.run_id, LinkRun.model_version).where(LinkRun.finished_at.is_not(None))
                          .order_by(LinkRun.started_at.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


class ScreeningRefusedError(InputError, RuntimeError):
    """A run that could only give an empty or misleading list; the message says why."""

    code = "screening_refused"


def earliest_export(nodes: Mapping[str, Node]) -> date | None:
    """The earliest export date loaded into the vaults this process holds (a remote node keeps its own)."""
    found: list[date] = []
    for node in nodes.values():
        if isinstance(node, LocalNode):
            with node.vault.reading() as conn:
                first = conn.execute(select(func.min(schema.loads.c.export_date))).scalar()
            if isinstance(first, date):
                found.append(first)
    return min(found, default=None)


def refuse_before_data(nodes: Mapping[str, Node], as_of: date) -> None:
    """Refuse a base date before every export: no child existed in the data then, and a run with
    0 children would look like a town with no one to worry about."""
    first = earliest_export(nodes)
    if first is not None and as_of < first:
        raise ScreeningRefusedError(
            f"基準日 {as_of.isoformat()} は最も古い取込データ（出力日 {first.isoformat()}）より前です。"
            f"{first.isoformat()} 以降の日付を指定してください / --as-of is before the earliest export ({first.isoformat()})"
        )


def run_screening(session: Session, nodes: Mapping[str, Node], manifests: ManifestSet, catalog: Catalog,
                  rule_set: RuleSet, as_of: date, *, excluded: set[str] | None = None) -> ScreeningReport:
    """``excluded``: persons whose use is suspended (利用停止): never evaluated, never listed.

    Raises ScreeningRefusedError for a base date before the earliest export.
    """
    started = time.perf_counter()
    refuse_before_data(nodes, as_of)
    run_id = f"{as_of.isoformat()}-{uuid.uuid4().hex[:8]}"
    inputs: ScreeningInputs = gather(session, nodes, manifests, catalog, rule_set.item_ids, as_of, run_id)
    if excluded:
        inputs.people = inputs.people.filter(~pl.col("person_id").is_in(list(excluded)))
        inputs.observations = inputs.observations.filter(~pl.col("person_id").is_in(list(excluded)))
    previous, ever = _previous(session, as_of)
    link_run_id, link_version = _link_run(session)
    digest = inputs.digest()
    session.add(ScreeningRun(
        run_id=run_id, as_of=as_of, started_at=datetime.now(UTC), finished_at=None, rule_set_hash=rule_set.hash,
        rule_set_json=_json(rule_set.resolved(as_of)), link_run_id=link_run_id, link_model_version=link_version,
        snapshots_json=_json(inputs.snapshots), missing_sources=_json(inputs.missing_sources),
        counts_json="{}", children=inputs.people.height, data_digest=digest,
    ))
    session.flush()
    totals = _Totals()
    # One evaluation per part: its rows are kept (the JSON texts, not the wide frame of every
    # indicator) until the list, filled over every child, gives them their list columns. Each
    # part used to be evaluated twice, once for the list's order and once for its rows.
    parts: list[pl.DataFrame] = []
    evidence: list[pl.DataFrame] = []
    for people, observations in partitions(inputs.people, inputs.observations, PARTITION_PEOPLE):
        result = evaluate(rule_set, as_of, people, observations, listing=_LIST_PENDING)
        totals.add(result.counts)
        assert result.evidence is not None
        evidence.append(result.evidence)
        parts.append(result_rows(result.results, people, as_of, previous, run_id))
        del result, people, observations
    listing, list_fill = fill(pl.concat(evidence), rule_set.settings.list_share, as_of)
    totals.list_fill = list_fill.as_dict()
    del evidence
    while parts:
        rows = listed_rows(parts.pop(0), listing, ever)
        totals.add_listed(rows)
        if rows.height:
            _write(session.connection(), rows)
    counts = totals.counts
    run = session.get(ScreeningRun, run_id)
    assert run is not None
    run.counts_json, run.finished_at = _json(counts), datetime.now(UTC)
    append(session, AuditEvent(
        actor=f"hub:screen:{run_id}", role="system", organisation="hub", purpose="screening", action="screening.run",
        outcome="allowed", reason=f"一次スクリーニング（{as_of.isoformat()}時点、{inputs.people.height}人）",
        items=tuple(sorted(rule_set.item_ids)),
    ))
    return ScreeningReport(
        run_id=run_id, as_of=as_of.isoformat(), children=inputs.people.height, by_tier=counts["by_tier"],
        listed=totals.listed, no_mark=totals.no_mark, first_flags=totals.first_flags,
        worse=totals.worse, benefit_only_flags=counts["benefit_only_flags"],
        stigma_guard_capped=counts["stigma_guard_capped"], list_share=counts["list_share"],
        list_capacity=counts["list_capacity"], list_beyond=counts["list_beyond"],
        list_overflow=counts["list_overflow"], rule_set_hash=rule_set.hash, link_run_id=link_run_id,
        data_digest=digest, seconds=round(time.perf_counter() - started, 2), missing_sources=inputs.missing_sources,
        refused=inputs.refused,
    )

"""The data steward's view of quarantined rows and flagged values: list, show and export to fix them.

A quarantined row (status ``open``) was not loaded; a flagged value (status ``flagged``) belongs to a
row that was loaded without that value (see ingest.convert). The department's node also answers
which subjects have such rows (``unreadable_rows``, ``LocalNode.unreadable``): their data there
cannot be read as "none".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, select

from tsunagu.vault import schema
from tsunagu.vault.store import FLAGGED, Vault

OPEN = "open"


@dataclass(frozen=True)
class QuarantineSummary:
    department: str
    source: str
    file_name: str
    rows: int
    problems: int
    flagged_rows: int = 0  # loaded rows with a value left out
    flagged: int = 0  # the values left out


def summarise(vault: Vault) -> list[QuarantineSummary]:
    q = schema.quarantine
    query = (
        select(q.c.source, q.c.file_name, q.c.status, func.count(func.distinct(q.c.row_number)), func.count())
        .where(q.c.status.in_((OPEN, FLAGGED)))
        .group_by(q.c.source, q.c.file_name, q.c.status)
        .order_by(q.c.source, q.c.file_name)
    )
    found: dict[tuple[str, str], dict[str, int]] = {}
    with vault.reading() as conn:
        for source, file_name, status, rows, problems in conn.execute(query):
            counts = found.setdefault((source, file_name), {})
            counts[f"{status}_rows"], counts[status] = int(rows), int(problems)
    return [
        QuarantineSummary(vault.location.department, source, file_name, c.get(f"{OPEN}_rows", 0), c.get(OPEN, 0),
                          c.get(f"{FLAGGED}_rows", 0), c.get(FLAGGED, 0))
        for (source, file_name), c in found.items()
    ]


def entries(vault: Vault, source: str | None = None, file_name: str | None = None,
            row_number: int | None = None, limit: int | None = None, status: str = OPEN) -> list[dict[str, Any]]:
    """Open quarantine entries (rows not loaded), or with ``status="flagged"`` values left out of loaded rows."""
    q = schema.quarantine
    query = select(q).where(q.c.status == status)
    if source:
        query = query.where(q.c.source == source)
    if file_name:
        query = query.where(q.c.file_name == file_name)
    if row_number is not None:
        query = query.where(q.c.row_number == row_number)
    query = query.order_by(q.c.source, q.c.file_name, q.c.row_number, q.c.quarantine_id)
    if limit:
        query = query.limit(limit)
    with vault.reading() as conn:
        return [dict(r) | {"department": vault.location.department} for r in conn.execute(query).mappings()]


@dataclass(frozen=True)
class UnreadableRow:
    """One quarantined row, or one loaded row with values left out, of a snapshot in force."""

    source: str
    row_number: int
    local_id: str | None  # None: the row's own key could not be read
    whole_row: bool  # quarantined (nothing of it loaded) rather than flagged (some values left out)
    columns: frozenset[str]  # the columns whose values were left out (flagged rows)
    snapshot_date: date


def unreadable_rows(conn: Connection, sources: Sequence[str], as_of: date) -> list[UnreadableRow]:
    """Rows of ``sources`` that did not load, or loaded without some values, in the snapshots in force
    on ``as_of``: per source and partition, the loads of the newest export on or before that day.

    An older snapshot's rows are superseded by the newer export (a fixed row re-exported loads
    there), so only the snapshot the data is read from counts.
    """
    if not sources:
        return []
    lo, q = schema.loads, schema.quarantine
    newest = (
        select(lo.c.source, lo.c.partition, func.max(lo.c.export_date).label("export_date"))
        .where(lo.c.source.in_(list(sources)), lo.c.export_date <= as_of)
        .group_by(lo.c.source, lo.c.partition)
        .subquery()
    )
    in_force = (
        select(lo.c.load_id, lo.c.export_date)
        .join(newest, and_(lo.c.source == newest.c.source, lo.c.partition == newest.c.partition,
                           lo.c.export_date == newest.c.export_date))
        .subquery()
    )
    query = (
        select(q.c.source, q.c.load_id, q.c.row_number, q.c.status, q.c.column_name, q.c.local_id, in_force.c.export_date)
        .join(in_force, in_force.c.load_id == q.c.load_id)
        .where(q.c.status.in_((OPEN, FLAGGED)))
        .order_by(q.c.load_id, q.c.row_number, q.c.quarantine_id)
    )
    rows: dict[tuple[int, int, str], dict[str, Any]] = {}
    for source, load_id, row_number, status, column, local_id, export_date in conn.execute(query):
        entry = rows.setdefault((int(load_id), int(row_number), str(status)), {
            "source": source, "row_number": int(row_number), "local_id": local_id, "whole_row": status == OPEN,
            "columns": set(), "snapshot_date": _day(export_date)})
        entry["columns"].add(column)
    return [UnreadableRow(e["source"], e["row_number"], e["local_id"], e["whole_row"], frozenset(e["columns"]),
                          e["snapshot_date"]) for e in rows.values()]


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))

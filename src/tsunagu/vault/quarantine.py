"""The data steward's view of quarantined rows and flagged values: list, show and export to fix them.

A quarantined row (status ``open``) was not loaded; a flagged value (status ``flagged``) belongs to a
row that was loaded without that value (see ingest.convert).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

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

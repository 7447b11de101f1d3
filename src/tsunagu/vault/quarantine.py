"""The data steward's view of quarantined rows: list, show and export to fix them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from tsunagu.vault import schema
from tsunagu.vault.store import Vault


@dataclass(frozen=True)
class QuarantineSummary:
    department: str
    source: str
    file_name: str
    rows: int
    problems: int


def summarise(vault: Vault) -> list[QuarantineSummary]:
    q = schema.quarantine
    query = (
        select(q.c.source, q.c.file_name, func.count(func.distinct(q.c.row_number)), func.count())
        .where(q.c.status == "open")
        .group_by(q.c.source, q.c.file_name)
        .order_by(q.c.source, q.c.file_name)
    )
    with vault.reading() as conn:
        return [QuarantineSummary(vault.location.department, s, f, int(r), int(p)) for s, f, r, p in conn.execute(query)]


def entries(vault: Vault, source: str | None = None, file_name: str | None = None,
            row_number: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    q = schema.quarantine
    query = select(q).where(q.c.status == "open")
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

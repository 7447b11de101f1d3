"""Retention inside one department's vault: exports kept past their period are removed.

An export (one load) is kept for its source's period (the manifest's ``retention_years``),
counted from its export date; an item whose catalogue period is shorter loses its values from
the exports older than that, while the rest of the export stays. What goes: the export's
records, observations and quarantined rows (raw input lines are personal data too). What stays:
the load's own row (file name, hash, counts — no personal data), so re-ingesting an expired
file is still recognised as already loaded and cannot bring the data back; and the node's
request log, the department's evidence of every exchange.

The same function counts (``dry_run=True``) and deletes, with the same predicates, so a real
run removes exactly what the dry run reported for the same day.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, CursorResult, Select, and_, delete, func, select

from tsunagu.store.dialects import dialect_of
from tsunagu.vault import schema
from tsunagu.vault.store import Vault

TABLES = ("records", "observations", "quarantine")


@dataclass(frozen=True)
class SourcePeriod:
    """A source's period in years and the shorter periods of some of its items."""

    source: str
    years: int
    item_years: Mapping[str, int] = field(default_factory=dict)


@dataclass
class VaultPurge:
    department: str
    dry_run: bool
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> table -> rows
    loads: dict[str, int] = field(default_factory=dict)  # source -> exports past their period

    @property
    def total(self) -> int:
        return sum(n for tables in self.rows.values() for n in tables.values())


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _count(conn: Connection, table: Any, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


def _remove(conn: Connection, table: Any, where: ColumnElement[bool], dry_run: bool) -> int:
    if dry_run:
        return _count(conn, table, where)
    result = cast(CursorResult[Any], conn.execute(delete(table).where(where)))
    return int(result.rowcount or 0)


def _loads(source: str, older_than: date, not_older_than: date | None = None) -> Select[tuple[int]]:
    lo = schema.loads
    where = [lo.c.source == source, lo.c.export_date < older_than]
    if not_older_than is not None:
        where.append(lo.c.export_date >= not_older_than)
    return select(lo.c.load_id).where(and_(*where))


@contextmanager
def _transaction(vault: Vault, dry_run: bool) -> Iterator[Connection]:
    """One transaction; on SQLite, a real run checks the foreign keys itself, once, at the end.

    The vault has no index on ``observations.record_id``, so SQLite's per-row check of each
    deleted record scans every remaining observation (minutes on a school's vault). The
    deletion order keeps the keys intact (a load's observations and quarantined rows go before
    its records, and nothing else refers to them); ``foreign_key_check`` proves it before commit.
    """
    sqlite = dialect_of(vault.engine).is_sqlite
    with vault.engine.connect() as conn:
        if sqlite and not dry_run:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only effective outside a transaction
            conn.commit()
        try:
            yield conn
            if sqlite and not dry_run:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"保管庫 {vault.location.department}: 参照の整合性が崩れるため中止しました {broken[:3]}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if sqlite and not dry_run:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def purge_vault(vault: Vault, periods: Sequence[SourcePeriod], today: date, *, dry_run: bool) -> VaultPurge:
    """Count (dry run) or delete, in one transaction, what has outlived its period on ``today``."""
    report = VaultPurge(vault.location.department, dry_run)
    o, r, q = schema.observations, schema.records, schema.quarantine
    with _transaction(vault, dry_run) as conn:
        expired = {p.source: _loads(p.source, years_before(today, p.years)) for p in periods}
        counts = {p.source: dict.fromkeys(("records", "observations", "quarantine"), 0) for p in periods}
        # Observations refer to records: every source's go first, then quarantined rows, then records.
        for period in periods:
            counts[period.source]["observations"] += _remove(conn, o, o.c.load_id.in_(expired[period.source]), dry_run)
            for item, years in sorted(period.item_years.items()):
                if years >= period.years:
                    continue  # the export's own period already covers it
                # Only exports still within the source's period: older ones were counted above.
                shorter = _loads(period.source, years_before(today, years), years_before(today, period.years))
                counts[period.source]["observations"] += _remove(
                    conn, o, and_(o.c.item_id == item, o.c.load_id.in_(shorter)), dry_run)
        for period in periods:
            counts[period.source]["quarantine"] = _remove(conn, q, q.c.load_id.in_(expired[period.source]), dry_run)
            counts[period.source]["records"] = _remove(conn, r, r.c.load_id.in_(expired[period.source]), dry_run)
            report.loads[period.source] = _count(conn, schema.loads,
                                                 schema.loads.c.load_id.in_(expired[period.source]))
        report.rows = counts
    return report

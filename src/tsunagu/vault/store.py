"""Opening a department's vault and writing one load into it as one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain, count
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, insert, inspect, select, text, update

from tsunagu.store.dialects import create_vault_engine, dialect_of
from tsunagu.vault import schema

_BATCH = 5_000
# SQLite stores a bound NaN as NULL. Python's sqlite3 binds None through its adapter look-up, which
# costs several times a float's binding, so the column-wise writer binds NaN for NULL.
_SQLITE_NULL = float("nan")
_ROWS_PER_STATEMENT = 128
_SQLITE_MAX_PARAMETERS = 999  # the lowest limit SQLite builds have had


@dataclass(frozen=True)
class VaultLocation:
    """Where a department's vault lives: its own SQLite file, or its own PostgreSQL schema."""

    department: str
    url: str
    schema_name: str | None

    @classmethod
    def for_home(cls, department: str, vault_dir: Path, hub_url: str) -> VaultLocation:
        if hub_url.startswith("postgresql"):
            return cls(department, hub_url, f"vault_{department}")
        return cls(department, f"sqlite:///{(vault_dir / f'{department}.sqlite3').resolve()}", None)


def sqlite_value(value: object) -> object:
    """A value as the column-wise writer binds it to SQLite: dates as ISO text (as SQLAlchemy's Date
    stores them), booleans as 0/1, NULL as NaN (stored as NULL, see _SQLITE_NULL); text unchanged.
    """
    if value is None:
        return _SQLITE_NULL
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# Columns added after schema version 1 was fixed: nullable, so a vault made before them gains them
# in place (ALTER TABLE … ADD COLUMN) and its rows read as not having them (a quarantine entry made
# before ``local_id`` names nobody).
_ADDED_COLUMNS = {"records": ("locality", "region"), "quarantine": ("local_id",)}
# Indexes added after schema version 1 was fixed: a vault made before them gets them when first
# opened (one sort of the table), a new one from ``metadata.create_all``.
LOADED_TABLES = ("loads", "records", "observations", "quarantine")  # what a load writes
_ADDED_INDEXES = {"ix_records_load": ("records", "load_id"), "ix_observations_load": ("observations", "load_id")}


def _add_columns(conn: Connection, schema_name: str | None) -> None:
    for table_name, names in _ADDED_COLUMNS.items():
        present = {c["name"] for c in inspect(conn).get_columns(table_name, schema=schema_name)}
        table = table_name if schema_name is None else f'"{schema_name}".{table_name}'
        for name in names:
            if name not in present:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} TEXT"))


def _add_indexes(conn: Connection, schema_name: str | None) -> None:
    prefix = "" if schema_name is None else f'"{schema_name}".'
    for name, (table_name, column) in _ADDED_INDEXES.items():
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {prefix}{table_name} ({column})"))


class Vault:
    """One department's store. Only the department's node and its loader use this class."""

    def __init__(self, location: VaultLocation) -> None:
        self.location = location
        self.engine: Engine = create_vault_engine(location.url, location.schema_name)
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        with self.engine.begin() as conn:
            if self.location.schema_name is not None:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.location.schema_name}"'))
            schema.metadata.create_all(conn)
            _add_columns(conn, self.location.schema_name)
            _add_indexes(conn, self.location.schema_name)
            found = conn.execute(select(schema.vault_info.c.value).where(schema.vault_info.c.key == "schema_version")).scalar()
            if found is None:
                conn.execute(insert(schema.vault_info).values(key="schema_version", value=str(schema.VAULT_SCHEMA_VERSION)))
                conn.execute(insert(schema.vault_info).values(key="department", value=self.location.department))
            elif int(found) != schema.VAULT_SCHEMA_VERSION:
                raise RuntimeError(
                    f"vault {self.location.department}: schema version {found}, this tsunagu needs {schema.VAULT_SCHEMA_VERSION}"
                )

    def dispose(self) -> None:
        self.engine.dispose()

    def refresh_statistics(self) -> None:
        """After a load: the planner's statistics of the tables a load writes (PostgreSQL; see
        ``Dialect.refresh_statistics``). Never changes what is stored."""
        prefix = "" if self.location.schema_name is None else f'"{self.location.schema_name}".'
        with self.engine.begin() as conn:
            dialect_of(conn).refresh_statistics(conn, [f"{prefix}{name}" for name in LOADED_TABLES])

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def load_transaction(self) -> Iterator[Connection]:
        """A transaction for a load (LoadWriter): with SQLite's temporary storage in memory meanwhile.

        Multi-row INSERTs (see _bulk_insert) keep a statement journal, by default in a temporary
        file: tens of thousands of small writes per load, where in memory it is a few pages per
        statement. SQLite only changes this setting outside a transaction, hence here.
        """
        with self.engine.connect() as conn:
            dbapi: Any = conn.connection.driver_connection if self.location.schema_name is None else None
            previous = None
            if dbapi is not None and not dbapi.in_transaction:
                previous = int(dbapi.execute("PRAGMA temp_store").fetchone()[0])
                dbapi.execute("PRAGMA temp_store=MEMORY")
            try:
                with conn.begin():
                    yield conn
            finally:
                if previous is not None:
                    try:
                        dbapi.execute(f"PRAGMA temp_store={previous}")
                    except sqlite3.Error:
                        conn.invalidate()  # not back to the pool with a setting of this load

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def find_load(self, conn: Connection, source: str, file_hash: str) -> dict[str, Any] | None:
        row = conn.execute(
            select(schema.loads).where(and_(schema.loads.c.source == source, schema.loads.c.file_hash == file_hash))
        ).mappings().first()
        return dict(row) if row else None


class LoadWriter:
    """Writes one file's rows inside the caller's transaction; nothing is visible until commit."""

    # From this many rows (and at least as many as the vault already holds) a SQLite load drops
    # the record and observation indexes and rebuilds them at the end (see expect_rows).
    rebuild_indexes_from = 50_000

    def __init__(self, conn: Connection, source: str, file_name: str, partition: str, file_hash: str,
                 export_date: date, encoding: str) -> None:
        self.conn = conn
        self.source = source
        self.partition = partition
        self.file_name = file_name
        self.export_date = export_date
        self.valid_to = self._next_export_date()
        result = conn.execute(insert(schema.loads).values(
            source=source, file_name=file_name, partition=partition, file_hash=file_hash, export_date=export_date,
            loaded_at=datetime.now(UTC), rows_in=0, loaded=0, quarantined=0, encoding=encoding,
        ))
        assert result.inserted_primary_key is not None
        self.load_id = int(result.inserted_primary_key[0])
        self._next_record_id = int(conn.execute(select(func.coalesce(func.max(schema.records.c.record_id), 0))).scalar_one()) + 1
        self._sqlite = dialect_of(conn).is_sqlite
        self._dropped_indexes: list[str] = []
        self._records: list[tuple[Any, ...]] = []
        self._observations: list[tuple[Any, ...]] = []
        self._quarantine: list[dict[str, Any]] = []
        self.loaded = 0
        self.quarantined = 0
        self.flagged = 0

    def _day(self, value: Any) -> Any:
        """SQLite stores dates as ISO text (as SQLAlchemy's Date does); other drivers take date objects."""
        return value.isoformat() if self._sqlite and isinstance(value, date) else value

    def encode(self, value: object) -> object:
        """A value as :meth:`add_records` binds it (see :func:`sqlite_value`); other drivers take it as it is."""
        return sqlite_value(value) if self._sqlite else value

    def expect_rows(self, rows: int) -> None:
        """Prepare for ``rows`` rows: a large first load into SQLite builds its indexes once, at the end.

        Sorting all keys once is much cheaper than keeping the indexes up to date row by row when
        most of a table is new. The indexes are dropped inside this load's transaction and rebuilt
        in :meth:`finish` before the commit, so a load that fails or is rolled back leaves them as
        they were, and no committed state ever lacks them.
        """
        if not self._sqlite or rows < self.rebuild_indexes_from or rows < self._next_record_id - 1:
            return
        dbapi = self.conn.connection.driver_connection
        if not getattr(dbapi, "in_transaction", False):  # DDL outside a transaction would commit at once
            return
        found = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('records', 'observations') ORDER BY name"
        ).all()
        for name, sql in found:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
            self._dropped_indexes.append(sql)

    def _same_partition(self) -> Any:
        return and_(schema.loads.c.source == self.source, schema.loads.c.partition == self.partition)

    def _next_export_date(self) -> date | None:
        """A load older than the newest snapshot is history: it ends where the next one starts."""
        return self.conn.execute(
            select(func.min(schema.loads.c.export_date)).where(
                and_(self._same_partition(), schema.loads.c.export_date > self.export_date)
            )
        ).scalar()

    def add_record(self, row_number: int, local_id: str, subject: str, identity: dict[str, object],
                   raw: str, observations: Iterable[tuple[str, str | None, float | None, bool | None, date]]) -> None:
        record_id = self._next_record_id
        self._next_record_id += 1
        day = self._day
        valid_from, valid_to = day(self.export_date), day(self.valid_to)
        self._records.append((
            record_id, self.load_id, self.source, row_number, local_id, subject, raw, valid_from, valid_to,
            *[day(identity.get(k)) for k in IDENTITY_COLUMNS],
        ))
        for item_id, value_text, value_num, value_bool, observed_on in observations:
            self._observations.append((
                record_id, self.load_id, self.source, local_id, item_id, value_text, value_num,
                value_bool if value_bool is None or not self._sqlite else int(value_bool),
                day(observed_on), valid_from, valid_to,
            ))
        self.loaded += 1
        if len(self._records) >= _BATCH:
            self.flush()

    def add_records(self, subject: str, row_numbers: Sequence[int], local_ids: Sequence[str], raws: Sequence[str],
                    identity: Mapping[str, Sequence[object]],
                    observations: Sequence[Iterable[tuple[object, ...] | None]]) -> None:
        """Add loaded rows column-wise, values already passed through :meth:`encode`.

        ``identity`` holds the identity columns any row has (the others stay NULL); ``observations``
        holds, per row, its observations as (item_id, value_text, value_num, value_bool, observed_on)
        in the row converter's order, None for an item the row does not feed.
        """
        self.flush()  # observations get their ids in insertion order: earlier rows first
        first = self._next_record_id
        self._next_record_id += len(local_ids)
        # Values shared by every row of the load are written into the statement, not bound per row:
        # binding is most of executemany's own cost.
        shared = {"load_id": self.load_id, "source": self.source, "subject": subject,
                  "valid_from": self.export_date, "valid_to": self.valid_to}
        columns = [c for c in IDENTITY_COLUMNS if c in identity]
        records = list(zip(count(first), row_numbers, local_ids, raws, *(identity[c] for c in columns)))
        if records:
            _bulk_insert(self.conn, schema.records, ("record_id", "row_number", "local_id", "raw", *columns), records,
                         {k: v for k, v in shared.items() if k in _RECORD_COLUMNS})
        del records
        heads = list(zip(count(first), local_ids))  # (record_id, local_id) + observation: one tuple concatenation
        found = [head + o for head, row in zip(heads, observations, strict=True) for o in row if o is not None]
        if found:
            _bulk_insert(self.conn, schema.observations, _OBSERVATION_ROW_COLUMNS, found,
                         {k: v for k, v in shared.items() if k in _OBSERVATION_COLUMNS})
        self.loaded += len(local_ids)

    def add_quarantine(self, row_number: int, problems: Sequence[tuple[str, str, str]], raw: str,
                       byte_offset: int | None = None, *, local_id: str | None = None) -> None:
        """A row not loaded; ``local_id``: its key where the key's own column could be read."""
        for column, value, rule in problems:
            self._quarantine.append({
                "load_id": self.load_id, "source": self.source, "file_name": self.file_name, "row_number": row_number,
                "column_name": column, "value": value, "rule": rule, "byte_offset": byte_offset, "raw": raw,
                "status": "open", "local_id": local_id,
            })
        self.quarantined += 1

    def add_flags(self, row_number: int, problems: Sequence[tuple[str, str, str]], raw: str, *,
                  local_id: str | None = None) -> None:
        """Values of a loaded row that were left out (loaded as missing): kept for the steward as
        quarantine entries with status ``flagged`` (the row itself is not quarantined)."""
        for column, value, rule in problems:
            self._quarantine.append({
                "load_id": self.load_id, "source": self.source, "file_name": self.file_name, "row_number": row_number,
                "column_name": column, "value": value, "rule": rule, "byte_offset": None, "raw": raw,
                "status": FLAGGED, "local_id": local_id,
            })
        self.flagged += 1

    def current_records(self) -> int:
        """How many records of this source's partition are current now, before this load replaces them.

        The current records are those of the partition's newest export date (finish() closes the older
        ones), so the load table's counts give them without reading the records.
        """
        lo = schema.loads
        others = and_(self._same_partition(), lo.c.load_id != self.load_id)
        newest = select(func.max(lo.c.export_date)).where(others).scalar_subquery()
        return int(self.conn.execute(
            select(func.coalesce(func.sum(lo.c.loaded), 0)).where(and_(others, lo.c.export_date == newest))
        ).scalar_one())

    def flush(self) -> None:
        if self._records:
            _bulk_insert(self.conn, schema.records, _RECORD_COLUMNS, self._records)
            self._records = []
        if self._observations:
            _bulk_insert(self.conn, schema.observations, _OBSERVATION_COLUMNS, self._observations)
            self._observations = []
        if self._quarantine:
            self.conn.execute(insert(schema.quarantine), self._quarantine)
            self._quarantine = []

    def finish(self, rows_in: int) -> None:
        """Close the older snapshot of this source and record the counts."""
        self.flush()
        for sql in self._dropped_indexes:
            self.conn.exec_driver_sql(sql)
        self._dropped_indexes = []
        older = select(schema.loads.c.load_id).where(
            and_(self._same_partition(), schema.loads.c.export_date < self.export_date)
        )
        if self.valid_to is None and self.conn.execute(older.limit(1)).first() is not None:
            for table in (schema.records, schema.observations):
                self.conn.execute(
                    update(table)
                    .where(and_(table.c.load_id.in_(older), table.c.valid_to.is_(None)))
                    .values(valid_to=self.export_date)
                )
        self.conn.execute(
            update(schema.loads).where(schema.loads.c.load_id == self.load_id)
            .values(rows_in=rows_in, loaded=self.loaded, quarantined=self.quarantined)
        )


# The status of a quarantine entry that records a value left out of a loaded row (not a held row).
FLAGGED = "flagged"

IDENTITY_COLUMNS = (
    "aza_number", "household_number", "guardian_aza_number", "school_code", "full_name", "family_name",
    "given_name", "family_key", "given_key", "reading", "family_reading_key", "given_reading_key", "birth_date",
    "sex", "address", "address_key", "postal_code", "guardian_name", "guardian_name_key", "guardian_reading_key",
    "previous_address_key", "previous_name_key", "locality", "region",
)

_BASE_RECORD_COLUMNS = (
    "record_id", "load_id", "source", "row_number", "local_id", "subject", "raw", "valid_from", "valid_to",
)
_RECORD_COLUMNS = (*_BASE_RECORD_COLUMNS, *IDENTITY_COLUMNS)
_OBSERVATION_COLUMNS = (
    "record_id", "load_id", "source", "local_id", "item_id", "value_text", "value_num", "value_bool", "observed_on",
    "valid_from", "valid_to",
)
# What varies between the observations of one load (the rest is the same for all of them).
_OBSERVATION_ROW_COLUMNS = (
    "record_id", "local_id", "item_id", "value_text", "value_num", "value_bool", "observed_on",
)


def _bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]],
                 constants: Mapping[str, object] | None = None) -> None:
    """executemany straight to the driver: the ORM's per-row parameter processing is most of a load's time.

    ``constants`` are columns with one value for every row, written into the statement as literals.
    """
    schema_name = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    qualified = f'"{schema_name}"."{table.name}"' if schema_name else f'"{table.name}"'
    mark = dialect_of(conn).placeholder
    fixed = dict(constants or {})
    names = ", ".join(f'"{c}"' for c in (*columns, *fixed))
    row = "(" + ", ".join([mark] * len(columns) + [_literal(v) for v in fixed.values()]) + ")"
    # bandit B608 is a false positive: names from the Table metadata, values bound, constants through _literal
    insert = f"INSERT INTO {qualified} ({names}) VALUES "  # nosec B608
    if dialect_of(conn).is_sqlite and columns:
        # Many rows per statement: one statement step instead of one per row, about a quarter less
        # time for small rows such as observations. SQLite inserts multi-row VALUES in their order,
        # so ids follow the rows as with one row per statement.
        per = max(1, min(_ROWS_PER_STATEMENT, _SQLITE_MAX_PARAMETERS // len(columns)))
        whole = len(rows) - len(rows) % per
        if whole:
            conn.exec_driver_sql(insert + ", ".join([row] * per),
                                 [tuple(chain.from_iterable(rows[i : i + per])) for i in range(0, whole, per)])
            rows = rows[whole:]
    if rows:
        conn.exec_driver_sql(insert + row, rows)


def _literal(value: object) -> str:
    """A constant as SQL text; only the kinds a load's shared values have (ids, names, dates, NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, date):
        value = value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")

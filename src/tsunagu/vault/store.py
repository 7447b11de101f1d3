"""Opening a department's vault and writing one load into it as one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, create_engine, event, func, insert, select, text, update

from tsunagu.vault import schema

_BATCH = 5_000


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


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Vault:
    """One department's store. Only the department's node and its loader use this class."""

    def __init__(self, location: VaultLocation) -> None:
        self.location = location
        if location.schema_name is None:
            Path(location.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(location.url)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(location.url, pool_pre_ping=True).execution_options(
                schema_translate_map={None: location.schema_name}
            )
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        with self.engine.begin() as conn:
            if self.location.schema_name is not None:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.location.schema_name}"'))
            schema.metadata.create_all(conn)
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

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

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
        self._sqlite = conn.dialect.name == "sqlite"
        self._records: list[tuple[Any, ...]] = []
        self._observations: list[tuple[Any, ...]] = []
        self._quarantine: list[dict[str, Any]] = []
        self.loaded = 0
        self.quarantined = 0

    def _day(self, value: Any) -> Any:
        """SQLite stores dates as ISO text (as SQLAlchemy's Date does); other drivers take date objects."""
        return value.isoformat() if self._sqlite and isinstance(value, date) else value

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
            *[day(identity.get(k)) for k in _IDENTITY_COLUMNS],
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

    def add_quarantine(self, row_number: int, problems: Sequence[tuple[str, str, str]], raw: str,
                       byte_offset: int | None = None) -> None:
        for column, value, rule in problems:
            self._quarantine.append({
                "load_id": self.load_id, "source": self.source, "file_name": self.file_name, "row_number": row_number,
                "column_name": column, "value": value, "rule": rule, "byte_offset": byte_offset, "raw": raw,
                "status": "open",
            })
        self.quarantined += 1

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


_IDENTITY_COLUMNS = (
    "aza_number", "household_number", "guardian_aza_number", "school_code", "full_name", "family_name",
    "given_name", "family_key", "given_key", "reading", "family_reading_key", "given_reading_key", "birth_date",
    "sex", "address", "address_key", "postal_code", "guardian_name", "guardian_name_key", "guardian_reading_key",
    "previous_address_key", "previous_name_key",
)

_RECORD_COLUMNS = (
    "record_id", "load_id", "source", "row_number", "local_id", "subject", "raw", "valid_from", "valid_to",
    *_IDENTITY_COLUMNS,
)
_OBSERVATION_COLUMNS = (
    "record_id", "load_id", "source", "local_id", "item_id", "value_text", "value_num", "value_bool", "observed_on",
    "valid_from", "valid_to",
)


def _bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """executemany straight to the driver: the ORM's per-row parameter processing is most of a load's time."""
    schema_name = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    qualified = f'"{schema_name}"."{table.name}"' if schema_name else f'"{table.name}"'
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(f'"{c}"' for c in columns)
    conn.exec_driver_sql(f"INSERT INTO {qualified} ({names}) VALUES ({', '.join([mark] * len(columns))})", rows)

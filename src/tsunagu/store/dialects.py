"""The storage back-ends' differences, in one place (as Splink keeps its own in ``internals/dialects.py``).

tsunagu runs on SQLite (the embedded default: one file per store) and on PostgreSQL (one database,
a schema per department vault). They differ in how an engine is opened (pragmas, when a transaction
takes the write lock, the driver), how the driver takes parameters and values, and in what a bulk
write or a migration may do. Every engine tsunagu opens is made here, and code that must act
differently per back-end asks ``dialect_of(conn)`` rather than comparing ``dialect.name`` itself.
A new back-end is one more ``Dialect`` subclass registered in ``_DIALECTS`` (docs/contributing.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session

from tsunagu.errors import UnavailableError
from tsunagu.store.files import prepare_sqlite

# Execution option of the engine behind ``store.db.read_session_factory``.
READ_ONLY_OPTION = "tsunagu_read_only"
# The largest value an ``Integer`` column (every row id) holds on every back-end: PostgreSQL's
# INTEGER is 32-bit, SQLite's 64-bit. A larger number in a request names no row on either.
MAX_ROW_ID = 2**31 - 1


class BackendMissingError(UnavailableError, RuntimeError):
    """An optional database back-end was asked for but its driver is not installed."""

    code = "backend_missing"


class Dialect(ABC):
    """What one back-end does its own way. Subclasses are stateless; use the module's instances."""

    name: ClassVar[str]
    placeholder: ClassVar[str]  # the driver's parameter mark in a raw statement
    # Alembic's batch mode (copy the table) for ALTERs the back-end cannot do in place.
    batch_migrations: ClassVar[bool] = False

    @abstractmethod
    def hub_engine(self, url: str) -> Engine:
        """The hub store's engine, with this back-end's connection settings."""

    @abstractmethod
    def vault_engine(self, url: str, schema_name: str | None) -> Engine:
        """A department vault's engine (PostgreSQL: its own schema)."""

    def driver_value(self, value: Any) -> Any:
        """A value as this back-end's driver is handed it in a raw bulk statement."""
        return value

    @abstractmethod
    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> None:
        """Bring the planner's statistics of ``tables`` (names as written in SQL) up to date after a bulk load."""

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.name == "postgresql"


# -- SQLite ----------------------------------------------------------------------------------------
def _hub_sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # pysqlite would open the transaction only at the first write, so two requests could read the
    # same audit-chain head before either writes. Let SQLAlchemy emit BEGIN itself (below).
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]


def _hub_sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        # A reading transaction: a WAL snapshot, taken at its first read, that neither waits for
        # nor blocks the writer. It must not write (see ``read_session_factory``): a snapshot that
        # is behind the last commit cannot be upgraded to a write, and busy_timeout cannot help.
        conn.exec_driver_sql("BEGIN")
        return
    # A writing transaction takes the write lock when it starts, so one that reads and then writes
    # (the audit chain's head, then the next entry) never acts on a stale read; a waiting one
    # blocks (busy_timeout) instead of failing.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _vault_sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # For a new vault only (an existing file keeps its page size; WAL fixes it once set): loads
    # write hundreds of megabytes, and with 16 KiB pages committing them takes about half the CPU
    # time it takes with 4 KiB ones (ingest benchmark, 100,000 children).
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_driver_value(value: Any) -> Any:
    """A value for SQLite's driver in a raw statement: the text forms SQLAlchemy itself writes for
    DateTime and Date, booleans as 0/1 (a plain function: bulk writes call it for every value)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class SQLiteDialect(Dialect):
    name = "sqlite"
    placeholder = "?"
    batch_migrations = True

    def hub_engine(self, url: str) -> Engine:
        prepare_sqlite(url)  # a new file 0600 in a new folder 0700: it will hold children's data
        engine = create_engine(url)
        event.listen(engine, "connect", _hub_sqlite_pragmas)
        event.listen(engine, "begin", _hub_sqlite_begin)
        return engine

    def vault_engine(self, url: str, schema_name: str | None) -> Engine:
        prepare_sqlite(url)  # 0600 in a 0700 folder: a department's personal data
        engine = create_engine(url)
        event.listen(engine, "connect", _vault_sqlite_pragmas)
        return engine

    def driver_value(self, value: Any) -> Any:
        return sqlite_driver_value(value)

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> None:
        # Nothing: SQLite keeps statistics only when ANALYZE is run, and the vault's queries and
        # indexes were chosen (and measured) for its plans without them.
        return None


# -- PostgreSQL ------------------------------------------------------------------------------------
class PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"

    @staticmethod
    def _require_driver() -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise BackendMissingError(
                "PostgreSQL を使うには追加パッケージが必要です: pip install 'tsunagu[postgres]' / "
                "the PostgreSQL hub store needs the 'postgres' extra"
            ) from exc

    def hub_engine(self, url: str) -> Engine:
        self._require_driver()
        return create_engine(url, pool_pre_ping=True)

    def vault_engine(self, url: str, schema_name: str | None) -> Engine:
        engine = create_engine(url, pool_pre_ping=True)
        return engine.execution_options(schema_translate_map={None: schema_name}) if schema_name else engine

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> None:
        # A table loaded and never analysed has no statistics: the planner then took the current-record
        # index (source, valid_to) for one record's lookup and filtered every current record of the
        # source (75 ms a child page's lookup at 20,000 children, against under 1 ms by
        # (source, local_id) once analysed). Autovacuum analyses in time, when it runs at all.
        for table in tables:
            conn.execute(text(f"ANALYZE {table}"))


SQLITE = SQLiteDialect()
POSTGRESQL = PostgresDialect()
_DIALECTS: dict[str, Dialect] = {d.name: d for d in (SQLITE, POSTGRESQL)}


def dialect_for_url(url: str) -> Dialect:
    """The back-end of a database URL (``sqlite:///…``, ``postgresql+psycopg://…``)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    try:
        return _DIALECTS[scheme]
    except KeyError:
        raise BackendMissingError(
            f"この種類のデータベースには対応していません: {scheme} / unsupported database back-end {scheme!r}"
        ) from None


def dialect_of(bind: Connection | Engine | Session) -> Dialect:
    """The back-end of a connection, engine or session."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return _DIALECTS[engine.dialect.name]


def create_hub_engine(url: str) -> Engine:
    """An engine for the hub store; PostgreSQL needs the ``postgres`` extra."""
    return dialect_for_url(url).hub_engine(url)


def create_vault_engine(url: str, schema_name: str | None) -> Engine:
    """An engine for one department's vault: its own SQLite file, or its schema in PostgreSQL."""
    return dialect_for_url(url).vault_engine(url, schema_name)

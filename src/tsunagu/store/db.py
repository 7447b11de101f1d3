"""Engines, sessions and migrations for the hub store."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from tsunagu.errors import IntegrityError, UnavailableError


class BackendMissingError(UnavailableError, RuntimeError):
    """An optional database back-end was asked for but its driver is not installed."""

    code = "backend_missing"


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # pysqlite would open the transaction only at the first write, so two requests could read the
    # same audit-chain head before either writes. Let SQLAlchemy emit BEGIN itself (below).
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]


# Execution option of the engine behind ``read_session_factory``.
READ_ONLY_OPTION = "tsunagu_read_only"


def _sqlite_begin(conn: Connection) -> None:
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


def create_hub_engine(url: str) -> Engine:
    """An engine for the hub store; PostgreSQL needs the ``postgres`` extra."""
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise BackendMissingError(
                "PostgreSQL を使うには追加パッケージが必要です: pip install 'tsunagu[postgres]' / "
                "the PostgreSQL hub store needs the 'postgres' extra"
            ) from exc
        return create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions may write (on SQLite: ``BEGIN IMMEDIATE``, one at a time)."""
    return sessionmaker(engine, expire_on_commit=False)


class ReadOnlySessionError(IntegrityError, RuntimeError):
    """A session from ``read_session_factory`` was asked to write."""

    code = "read_only_session"


def _refuse_flush(session: Session, _context: object, _instances: object) -> None:
    raise ReadOnlySessionError(
        f"読み取り専用のセッションでは書き込めません（{len(session.new)} 追加・{len(session.dirty)} 変更・"
        f"{len(session.deleted)} 削除） / a read-only hub session was asked to write"
    )


def _refuse_write_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySessionError("読み取り専用のセッションでは書き込めません / a read-only hub session was asked to write")


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite a plain (deferred) transaction, so readers run side by side
    and never hold the write lock. A write through one raises ReadOnlySessionError instead of
    failing later, and only under load, with a busy snapshot."""
    factory = sessionmaker(engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False)
    event.listen(factory, "before_flush", _refuse_flush)
    event.listen(factory, "do_orm_execute", _refuse_write_statement)
    return factory


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("tsunagu.store") / "migrations"))
    # Alembic treats % as interpolation; URLs may contain it (escaped passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the hub store to ``revision`` (upgrade)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_hub_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()

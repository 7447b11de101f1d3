"""Engines, sessions and migrations for the hub store."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from tsunagu.errors import IntegrityError
from tsunagu.store.dialects import READ_ONLY_OPTION
from tsunagu.store.dialects import BackendMissingError as BackendMissingError
from tsunagu.store.dialects import create_hub_engine as create_hub_engine
from tsunagu.store.files import prepare_sqlite

if TYPE_CHECKING:
    from alembic.config import Config


def session_factory(engine: Engine, info: dict[str, object] | None = None) -> sessionmaker[Session]:
    """Sessions whose transactions may write (on SQLite: ``BEGIN IMMEDIATE``, one at a time).

    ``info`` is copied into every session's ``info``: a hub puts its catalogue and policy there.
    """
    return sessionmaker(engine, expire_on_commit=False, info=info)


@dataclass(frozen=True)
class HubStore:
    """The hub store, opened: its engine with the writing and the reading session factories.

    The one way the hub store is opened (``tsunagu.hub.Hub`` holds one; ``tests/test_layers.py``
    checks nothing else builds an engine or a session factory), so every engine has its back-end's
    settings (``store.dialects``: SQLite's pragmas) and every session the hub's ``info``.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str, info: dict[str, object] | None = None) -> HubStore:
        """Open (not migrate) the store at ``url``; ``info`` goes into every session's ``info``."""
        engine = create_hub_engine(url)
        return cls(engine, session_factory(engine, info), read_session_factory(engine, info))

    def dispose(self) -> None:
        self.engine.dispose()


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


def read_session_factory(engine: Engine, info: dict[str, object] | None = None) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite a plain (deferred) transaction, so readers run side by side
    and never hold the write lock. A write through one raises ReadOnlySessionError instead of
    failing later, and only under load, with a busy snapshot."""
    factory = sessionmaker(engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False,
                           info={**(info or {}), _READ_ONLY: True})
    event.listen(factory, "before_flush", _refuse_flush)
    event.listen(factory, "do_orm_execute", _refuse_write_statement)
    event.listen(factory, "after_transaction_end", _forget_snapshot)
    return factory


_READ_ONLY = "tsunagu.read_only"
_MEMO = "tsunagu.snapshot_memo"


def _forget_snapshot(session: Session, _transaction: object) -> None:
    session.info.pop(_MEMO, None)


def snapshot_memo(session: Session) -> dict[Hashable, Any] | None:
    """Answers already read in ``session``'s current transaction, when it is a reading session (None
    otherwise): it cannot write and reads one snapshot, so an answer stays true until the transaction
    ends (then the memo is dropped). A child's page asked the same child's latest result nine times."""
    if not session.info.get(_READ_ONLY):
        return None
    memo: dict[Hashable, Any] = session.info.setdefault(_MEMO, {})
    return memo


# The newest migration (tests/store/test_migrations.py checks it is alembic's head). A store
# already at it is not handed to alembic: importing alembic and running its environment cost about
# half a CPU-second on every command that opens the hub.
HEAD_REVISION = "0022_outreach"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("tsunagu.store") / "migrations"))
    # Alembic treats % as interpolation; URLs may contain it (escaped passwords).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the hub store to ``revision`` (upgrade)."""
    prepare_sqlite(url)  # alembic's own engine must not be the one that creates the file 0644
    if revision == "head" and stored_revision(url) == HEAD_REVISION:
        return
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def stored_revision(url: str) -> str | None:
    """The revision alembic recorded in the store, read without alembic (None: not migrated yet)."""
    engine = create_hub_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return None if row is None else str(row[0])
    except DBAPIError:
        return None  # no alembic_version table: a new store
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_hub_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()

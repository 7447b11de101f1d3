"""The back-ends' differences in one module: engines, placeholders, values, migrations' batch mode."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tsunagu.errors import UnavailableError
from tsunagu.hub import Hub
from tsunagu.store.dialects import POSTGRESQL, SQLITE, create_vault_engine, dialect_for_url, dialect_of


def test_a_url_names_its_back_end() -> None:
    assert dialect_for_url("sqlite:////tmp/x.sqlite3") is SQLITE
    assert dialect_for_url("postgresql+psycopg://u@h/db") is POSTGRESQL
    with pytest.raises(UnavailableError, match="mysql"):
        dialect_for_url("mysql://u@h/db")


def test_each_back_end_has_its_own_placeholder_values_and_migration_mode() -> None:
    assert (SQLITE.placeholder, POSTGRESQL.placeholder) == ("?", "%s")
    assert SQLITE.batch_migrations and not POSTGRESQL.batch_migrations
    moment = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
    assert SQLITE.driver_value(moment) == "2026-04-01 09:30:00.000000"
    assert SQLITE.driver_value(date(2026, 4, 1)) == "2026-04-01"
    assert SQLITE.driver_value(True) == 1 and SQLITE.driver_value("x") == "x"
    assert POSTGRESQL.driver_value(moment) is moment


def test_the_hub_engine_on_each_back_end_is_recognised(any_hub: Hub) -> None:
    with any_hub.engine.connect() as conn:
        assert dialect_of(conn) is any_hub.dialect
        if any_hub.dialect.is_sqlite:
            # The hub's own pragmas: foreign keys on, WAL (a raw create_engine would have neither).
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with any_hub.sessions() as session:
        assert dialect_of(session) is any_hub.dialect


def test_a_sqlite_vault_engine_makes_its_folder_and_sets_its_pragmas(tmp_path: Path) -> None:
    engine = create_vault_engine(f"sqlite:///{tmp_path / 'vaults' / 'schools.sqlite3'}", None)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16384
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        engine.dispose()
    assert (tmp_path / "vaults").is_dir()

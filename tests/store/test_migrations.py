from pathlib import Path

import pytest
from sqlalchemy import inspect

from tsunagu.store.db import create_hub_engine, current_revision, downgrade, migrate
from tsunagu.store.registry import hub_metadata


def _tables(url: str) -> set[str]:
    engine = create_hub_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    migrate(url)
    assert current_revision(url) is not None
    # The migrations build exactly the tables the models declare.
    assert _tables(url) == set(hub_metadata().tables)
    downgrade(url, "base")
    assert current_revision(url) is None
    assert _tables(url) == set()
    migrate(url)
    assert _tables(url) == set(hub_metadata().tables)


def test_migrations_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'hub.sqlite3'}")


@pytest.mark.postgres
def test_migrations_up_and_down_on_postgres(pg_url: str) -> None:
    _round_trip(pg_url)


def test_head_revision_is_alembics_head() -> None:
    """``migrate`` skips alembic when the store is at HEAD_REVISION: a stale constant would leave a
    new migration unapplied on every existing home."""
    from alembic.script import ScriptDirectory

    from tsunagu.store.db import HEAD_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads() == [HEAD_REVISION]


def test_a_store_at_head_is_left_alone_and_one_behind_is_upgraded(tmp_path: Path) -> None:
    from tsunagu.store.db import HEAD_REVISION, stored_revision

    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    assert stored_revision(url) is None
    migrate(url)
    assert stored_revision(url) == HEAD_REVISION
    downgrade(url, "-1")
    assert stored_revision(url) != HEAD_REVISION
    migrate(url)
    assert stored_revision(url) == HEAD_REVISION
    assert _tables(url) == set(hub_metadata().tables)

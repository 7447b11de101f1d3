"""Alembic environment: runs the hub migrations on SQLite (batch mode) or PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tsunagu.store.db import create_hub_engine
from tsunagu.store.dialects import dialect_of
from tsunagu.store.registry import hub_metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=hub_metadata(),
        render_as_batch=dialect_of(connection).batch_migrations,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_hub_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


run_online()

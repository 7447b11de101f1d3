"""Shared fixtures of the privacy tests: a migrated, empty hub store per test, on each back-end."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from support.hubs import settings_for
from support.postgres import fresh_database
from tsunagu.hub import Hub
from tsunagu.store.db import migrate


@pytest.fixture(scope="module")
def pg_module_url(pg_url: str) -> Iterator[str]:
    """One migrated PostgreSQL database for this module; each test starts from empty tables."""
    with fresh_database("tsunagu_privacy") as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (quicker than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "hub.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


PRIVACY_TABLES = "audit_entries, audit_checkpoints, privacy_break_glass_grants, privacy_notifications"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty hub store for each test, on each back-end."""
    if request.param == "sqlite":
        target = tmp_path / "hub.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_module_url")
    hub = Hub(settings_for(tmp_path, url))
    eng = hub.engine
    if request.param == "postgres":
        # Emptying the append-only tables is an operator's act: triggers off, truncate, triggers on.
        with eng.begin() as conn:
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
            conn.execute(text(f"TRUNCATE {PRIVACY_TABLES} RESTART IDENTITY"))
            conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_checkpoints ENABLE TRIGGER USER"))
    try:
        yield eng
    finally:
        hub.close()

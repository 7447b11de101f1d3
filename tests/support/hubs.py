"""A municipality's ``Hub`` for tests: an empty migrated one per back-end, or one on a built home."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.postgres import fresh_database
from tsunagu.config import Settings, load_settings
from tsunagu.hub import Hub

BACKENDS = ("sqlite", "postgres")


def settings_for(folder: Path, database_url: str) -> Settings:
    """Settings of a test home on ``database_url`` whatever ``TSUNAGU_DATABASE_URL`` says (the
    environment wins over values given to ``Settings``, so the URL is set after it is built)."""
    settings = Settings(home=folder)
    settings.database_url = database_url
    return settings


@contextmanager
def empty_hub(backend: str, folder: Path) -> Iterator[Hub]:
    """An empty, migrated hub store on ``backend`` (PostgreSQL: a database of its own, dropped afterwards)."""
    if backend == "sqlite":
        with Hub.open(settings_for(folder, f"sqlite:///{folder / 'hub.sqlite3'}")) as hub:
            yield hub
        return
    with fresh_database("tsunagu_hub") as url, Hub.open(settings_for(folder, url)) as hub:
        yield hub


@contextmanager
def hub_of(home: Path, *, migrate_store: bool = False) -> Iterator[Hub]:
    """The hub of a built home (its settings as the commands load them)."""
    with Hub(load_settings(home), migrate_store=migrate_store) as hub:
        yield hub

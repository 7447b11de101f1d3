"""A municipality's ``Hub`` for tests: an empty migrated one per back-end, or one on a built home.

With ``TSUNAGU_TEST_DATABASE_URL`` set (``support.postgres``) the shared fixtures build every home on
PostgreSQL: ``new_home`` gives it a database of its own, ``copy_home`` copies a built home's
database with its folder, and the database is dropped when the fixture ends. Without it they are
the usual SQLite homes (one folder each).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import yaml

from support.postgres import TEST_DATABASE_URL, fresh_database
from tsunagu.config import CONFIG_FILE, Settings, load_settings
from tsunagu.home import init_home
from tsunagu.hub import Hub
from tsunagu.municipality import Municipality
from tsunagu.vault.node import Node

BACKENDS = ("sqlite", "postgres")
# The back-end of the homes the shared fixtures build (the switch above).
DEFAULT_BACKEND = "postgres" if TEST_DATABASE_URL else "sqlite"
ON_POSTGRES = DEFAULT_BACKEND == "postgres"
TOWN = Municipality("272205", "つなぐ市")


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
def default_hub(folder: Path) -> Iterator[Hub]:
    """An empty migrated hub on the suite's back-end (SQLite, or PostgreSQL under the switch)."""
    with empty_hub(DEFAULT_BACKEND, folder) as hub:
        yield hub


@contextmanager
def hub_of(home: Path, *, migrate_store: bool = False) -> Iterator[Hub]:
    """The hub of a built home (its settings as the commands load them)."""
    with Hub(load_settings(home), migrate_store=migrate_store) as hub:
        yield hub


@contextmanager
def database_scope(scope: str) -> Iterator[None]:
    """Databases that ``new_home``/``copy_home`` make for ``scope`` ("test" or "session") are dropped
    when this ends (the root conftest opens one per test and one per session)."""
    with ExitStack() as stack:
        _SCOPES[scope] = stack
        try:
            yield
        finally:
            del _SCOPES[scope]


_SCOPES: dict[str, ExitStack] = {}


def home_database(*, template: Path | None = None, scope: str = "test") -> str | None:
    """Under the switch, a database of its own for a home (a copy of the home ``template``'s), dropped
    at the end of ``scope``; else ``None`` (the home keeps its SQLite files in its folder)."""
    if not ON_POSTGRES:
        return None
    return own_database(template_url=load_settings(template).hub_url if template is not None else None,
                         scope=scope)


def own_database(*, template_url: str | None = None, scope: str = "test") -> str:
    """A PostgreSQL database of its own (a copy of the one at ``template_url``), dropped at the end of ``scope``."""
    if scope not in _SCOPES:
        raise RuntimeError(f"no database scope {scope!r} is open (a session fixture must pass scope='session')")
    return _SCOPES[scope].enter_context(fresh_database("tsunagu_home", template=template_url))


def hub_settings(folder: Path, *, scope: str = "test") -> Settings:
    """Settings of a bare hub store in ``folder`` on the suite's back-end (no home file)."""
    url = own_database(scope=scope) if ON_POSTGRES else f"sqlite:///{folder / 'hub.sqlite3'}"
    return settings_for(folder, url)


def copy_hub(settings: Settings, folder: Path, *, scope: str = "test") -> Settings:
    """A copy of the hub store of ``settings`` (its SQLite file, or its PostgreSQL database) in ``folder``."""
    if ON_POSTGRES:
        return settings_for(folder, own_database(template_url=settings.hub_url, scope=scope))
    target = folder / "hub.sqlite3"
    shutil.copy(settings.hub_url.removeprefix("sqlite:///"), target)
    return settings_for(folder, f"sqlite:///{target}")


def new_home(folder: Path, municipality: Municipality = TOWN, *, scope: str = "test") -> Settings:
    """A new, initialised home in ``folder`` on the suite's back-end; its settings."""
    init_home(folder, municipality, database_url=home_database(scope=scope))
    return load_settings(folder)


def copy_home(source: Path, target: Path, *, scope: str = "test") -> Path:
    """A copy of the built home ``source`` at ``target`` (with its PostgreSQL database under the switch)."""
    shutil.copytree(source, target)
    url = home_database(template=source, scope=scope)
    if url is not None:
        set_database_url(target, url)
    return target


def set_database_url(home: Path, url: str) -> None:
    """Point a home's file at another database (the copy of its own)."""
    path = home / CONFIG_FILE
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    body["database_url"] = url
    path.write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")


def nodes_of(settings: Settings, *, scope: str = "test") -> dict[str, Node]:
    """Every department's node of a home, opened as the commands open them: through its ``Hub`` (on
    PostgreSQL the nodes need the hub's engine to find the vaults' schemas). The hub is closed at the
    end of ``scope``; closing the nodes before that (``close_nodes``) is fine."""
    if scope not in _SCOPES:
        raise RuntimeError(f"no scope {scope!r} is open (a session or module fixture must pass scope='session')")
    hub = _SCOPES[scope].enter_context(Hub(settings))
    return hub.nodes()

"""Shared fixtures: a fresh PostgreSQL database per test session, when the server answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.municipality import SmallTown, build_small_town
from support.postgres import fresh_database

# A small built home copied fresh per test (`home`, `template_home`): the service and web tests' fixtures.
pytest_plugins = ["work.homes"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database created for this session and dropped after it."""
    with fresh_database("tsunagu_test") as url:
        yield url


@pytest.fixture(scope="session")
def monkeypatch_session() -> Iterator[pytest.MonkeyPatch]:
    patch = pytest.MonkeyPatch()
    patch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    yield patch
    patch.undo()


@pytest.fixture(scope="session")
def small_town(tmp_path_factory: pytest.TempPathFactory, monkeypatch_session: pytest.MonkeyPatch) -> SmallTown:
    """A 1,500-child synthetic municipality, ingested into a home (built once per test session)."""
    return build_small_town(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="session")
def linked_town(small_town: SmallTown, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small town's home after one full linkage run."""
    import shutil

    from tsunagu.config import load_settings
    from tsunagu.ingest.manifest import manifests_for_home
    from tsunagu.link.run import run_linkage
    from tsunagu.store.db import create_hub_engine, session_factory
    from tsunagu.vault.topology import close_nodes, open_nodes

    home = tmp_path_factory.mktemp("linked-town") / "home"
    shutil.copytree(small_town.home, home)
    settings = load_settings(home)
    engine = create_hub_engine(settings.hub_url)
    nodes = open_nodes(settings)
    try:
        with session_factory(engine).begin() as session:
            run_linkage(session, nodes, manifests_for_home(home))
    finally:
        close_nodes(nodes)
        engine.dispose()
    return home

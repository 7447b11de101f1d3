"""Shared fixtures: a fresh PostgreSQL database per test session, when the server answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hubs import BACKENDS, copy_home, database_scope, empty_hub, hub_of
from support.municipality import SmallTown, build_small_town
from support.postgres import fresh_database
from tsunagu.hub import Hub

# A small built home copied fresh per test (`home`, `template_home`): the service and web tests' fixtures.
pytest_plugins = ["work.homes"]


@pytest.fixture(scope="session", autouse=True)
def _session_databases() -> Iterator[None]:
    """Databases of session-wide homes (under TSUNAGU_TEST_DATABASE_URL), dropped at the end."""
    with database_scope("session"):
        yield


@pytest.fixture(autouse=True)
def _test_databases() -> Iterator[None]:
    """Databases of one test's homes (under TSUNAGU_TEST_DATABASE_URL), dropped after it."""
    with database_scope("test"):
        yield


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


@pytest.fixture(params=[BACKENDS[0], pytest.param(BACKENDS[1], marks=pytest.mark.postgres)])
def any_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """An empty migrated ``Hub`` on each back-end: the one fixture per back-end for store-level tests."""
    if request.param == "postgres":
        request.getfixturevalue("pg_url")  # the PostgreSQL server is up
    with empty_hub(request.param, tmp_path) as hub:
        yield hub


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[Hub]:
    with empty_hub("sqlite", tmp_path) as hub:
        yield hub


@pytest.fixture
def postgres_hub(tmp_path: Path, pg_url: str) -> Iterator[Hub]:
    with empty_hub("postgres", tmp_path) as hub:
        yield hub


@pytest.fixture(scope="session")
def small_town(tmp_path_factory: pytest.TempPathFactory, monkeypatch_session: pytest.MonkeyPatch) -> SmallTown:
    """A 1,500-child synthetic municipality, ingested into a home (built once per test session)."""
    return build_small_town(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="session")
def linked_town(small_town: SmallTown, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small town's home after one full linkage run."""
    from tsunagu.link.run import run_linkage

    home = copy_home(small_town.home, tmp_path_factory.mktemp("linked-town") / "home", scope="session")
    with hub_of(home) as hub, hub.sessions.begin() as session:
        run_linkage(session, hub.nodes(), hub.manifests)
    return home

"""Shared fixtures: a fresh PostgreSQL database per test session, when the server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.municipality import SmallTown, build_small_town

PG_ADMIN_URL = os.environ.get("TSUNAGU_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")


def _admin_connect() -> object:
    import psycopg

    dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database created for this session and dropped after it.

    The PostgreSQL path must be tested, so an unreachable server fails the test rather than
    skipping it (.ci/run starts the server).
    """
    name = f"tsunagu_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_connect()
    admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(  # type: ignore[attr-defined]
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]


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

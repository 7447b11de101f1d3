"""Shared fixtures: a fresh PostgreSQL database per test session, when the server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

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

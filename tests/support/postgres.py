"""Databases of their own on the test PostgreSQL server, created and dropped around a test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PG_ADMIN_URL = os.environ.get("TSUNAGU_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")


def admin_connect() -> Any:
    import psycopg

    dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """The URL of an empty database named ``<prefix>_<random>``, dropped afterwards.

    The PostgreSQL path must be tested, so an unreachable server fails the test rather than
    skipping it (.ci/run starts the server).
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = admin_connect()
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()

"""Databases of their own on the test PostgreSQL server, created and dropped around a test.

``TSUNAGU_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://root@127.0.0.1:5432/test``) is the switch
that runs the whole suite on PostgreSQL: every home and hub the shared fixtures build then gets a
database of its own on that server (``support.hubs``). Without it the PostgreSQL-marked tests still use
the server, at ``TSUNAGU_TEST_PG`` or the default below.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TEST_DATABASE_URL = os.environ.get("TSUNAGU_TEST_DATABASE_URL") or None
PG_ADMIN_URL = TEST_DATABASE_URL or os.environ.get("TSUNAGU_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")


def admin_connect() -> Any:
    import psycopg

    dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def database_of(url: str) -> str:
    """The database name at the end of a URL made by ``fresh_database``."""
    return url.rsplit("/", 1)[1]


@contextmanager
def fresh_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """The URL of an empty database named ``<prefix>_<random>`` (or a copy of the database at the URL
    ``template``), dropped afterwards.

    A database per test rather than a schema: a home keeps its department vaults in schemas of fixed
    names (``vault_<department>``) beside the hub's tables, so two homes cannot share a database.
    The PostgreSQL path must be tested, so an unreachable server fails the test rather than
    skipping it (.ci/run starts the server).
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = admin_connect()
    try:
        if template is None:
            admin.execute(f'CREATE DATABASE "{name}"')
        else:
            # A copy is made from the template's files, which no one may be connected to meanwhile.
            source = database_of(template)
            _disconnect(admin, source)
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        _disconnect(admin, name)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _disconnect(admin: Any, name: str) -> None:
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                  (name,))

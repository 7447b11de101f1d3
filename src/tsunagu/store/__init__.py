"""The hub store: what the hub itself holds (never a copy of a department's tables).

SQLAlchemy models and Alembic migrations with one migration path for the embedded SQLite file
and PostgreSQL.
"""

from tsunagu.store.db import create_hub_engine, migrate, session_factory

__all__ = ["create_hub_engine", "migrate", "session_factory"]

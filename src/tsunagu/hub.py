"""The hub's view of a home: its store and the departments' nodes, opened together for one job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.config import Settings
from tsunagu.store.db import create_hub_engine, migrate, session_factory
from tsunagu.vault.node import Node
from tsunagu.vault.topology import close_nodes, open_nodes


@contextmanager
def hub_with_nodes(settings: Settings) -> Iterator[tuple[sessionmaker[Session], dict[str, Node]]]:
    """Sessions on the (migrated) hub store and every department's node; both closed afterwards."""
    migrate(settings.hub_url)
    engine = create_hub_engine(settings.hub_url)
    nodes = open_nodes(settings)
    try:
        yield session_factory(engine), nodes
    finally:
        close_nodes(nodes)
        engine.dispose()

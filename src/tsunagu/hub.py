"""One municipality's working set, opened once: ``Hub``.

Built from ``Settings``: the hub store's engine with its writing and reading session factories,
the departments' nodes (from the topology, opened on first use), the manifests, the catalogue, the
access policy, the screening rule set and the keys. Commands, the staff app's state, the demo and
the benchmarks receive one; nothing else opens the hub store or reads those files.

    with Hub.open(settings) as hub:                 # migrates the hub store first
        with hub.sessions.begin() as session:       # a writing transaction
            run_screening(session, hub.nodes(), hub.manifests, hub.catalog, hub.rule_set(), as_of)
        with hub.unit() as session: ...             # one unit of work (a refusal commits too)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.catalog import SESSION_CATALOG, Catalog, default_catalog
from tsunagu.catalog.manifest import ManifestSet, manifests_for_home
from tsunagu.config import Settings
from tsunagu.privacy import NoteCipher, Policy, default_policy, load_note_cipher, load_or_create_signing_key
from tsunagu.privacy.keyfiles import load_or_create_search_secret
from tsunagu.privacy.policy import SESSION_POLICY
from tsunagu.store.db import HubStore, migrate
from tsunagu.store.dialects import Dialect, dialect_for_url
from tsunagu.vault.http.hub_audit import HubExchangeLog
from tsunagu.vault.node import Node
from tsunagu.vault.topology import close_nodes, open_nodes

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tsunagu.screen import RuleSet
    from tsunagu.vault.http.client import ExchangeRecord


class Hub:
    """A municipality's hub store, nodes, vocabulary, policy, rules and keys, for one job or one app.

    The engine is made at construction (it connects at first use); the nodes, manifests and keys
    are opened when first asked for, and kept; the rule set is read each time it is asked for (a
    long-running app sees a changed rule file). ``close()`` (or leaving the ``with`` block) closes
    the nodes and the engine.
    """

    def __init__(self, settings: Settings, *, migrate_store: bool = False,
                 on_exchange: Callable[[ExchangeRecord], None] | None = None) -> None:
        self.settings = settings
        if migrate_store:
            migrate(settings.hub_url)
        # Every session carries this municipality's vocabulary and policy (``catalog_of``/``policy_of``):
        # the services below the hub take sessions, so that is how they reach them.
        vocabulary: dict[str, object] = {SESSION_CATALOG: self.catalog, SESSION_POLICY: self.policy}
        self.store = HubStore.open(settings.hub_url, vocabulary)
        self.engine: Engine = self.store.engine
        self.sessions: sessionmaker[Session] = self.store.sessions
        self.read_sessions: sessionmaker[Session] = self.store.read_sessions
        self._on_exchange = on_exchange
        self._nodes: dict[str, Node] | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, *, migrate_store: bool = True,
             on_exchange: Callable[[ExchangeRecord], None] | None = None) -> Hub:
        """The hub of ``settings``' home, its store migrated first (unless ``migrate_store=False``)."""
        return cls(settings, migrate_store=migrate_store, on_exchange=on_exchange)

    # -- the store -------------------------------------------------------------------------------
    @property
    def dialect(self) -> Dialect:
        return dialect_for_url(self.settings.hub_url)

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One unit of work: commits at the end, a policy refusal included (``work.unit.unit_of_work``)."""
        # The work layer is imported when a unit is first asked for: a linkage run or an ingest
        # uses plain sessions, and the work layer brings the screening model with it.
        from tsunagu.work.unit import unit_of_work

        with unit_of_work(self.sessions) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit that only reads (and records its reads): ``work.unit.reading_unit``."""
        from tsunagu.work.unit import reading_unit

        with reading_unit(self.read_sessions, self.sessions) as session:
            yield session

    # -- the departments' nodes ------------------------------------------------------------------
    def nodes(self) -> dict[str, Node]:
        """Every department's node, as the topology says; opened on first use and kept until ``close()``."""
        with self._lock:
            if self._nodes is None:
                # Every exchange with a remote node reaches this hub's audit chain (in the unit of work
                # that made it, else when the nodes close); ``on_exchange`` is called as well.
                log = HubExchangeLog(self.settings, self._on_exchange, sessions=self.sessions,
                                     key=lambda: self.signing_key)
                self._nodes = open_nodes(self.settings, on_exchange=log, hub=self.store, manifests=self.manifests)
            return self._nodes

    # -- the vocabulary, policy and rules --------------------------------------------------------
    @cached_property
    def manifests(self) -> ManifestSet:
        """The home's own manifests (``home/manifests``), else the packaged ones."""
        return manifests_for_home(self.settings.home)

    @property
    def catalog(self) -> Catalog:
        return default_catalog()

    @property
    def policy(self) -> Policy:
        return default_policy()

    @property
    def rules_path(self) -> Path:
        return self.settings.rules_path

    def rule_set(self, municipality_code: str | None = None) -> RuleSet:
        """The screening rules in force here: the national baseline with this municipality's changes."""
        # Imported here: a linkage run or an ingest does not screen (the screening model is a tenth
        # of a second of imports for every command).
        from tsunagu.screen import load_rule_set

        code = municipality_code if municipality_code is not None else self.settings.municipality_code
        return load_rule_set(self.rules_path, code)

    # -- keys --------------------------------------------------------------------------------------
    @cached_property
    def note_cipher(self) -> NoteCipher:
        """The case notes' key ring (created on first use)."""
        return load_note_cipher(self.settings.home, self.settings.note_key)

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        """The hub's audit-checkpoint signing key (created on first use)."""
        return load_or_create_signing_key(self.settings.home)

    @cached_property
    def search_secret(self) -> bytes:
        """The key of the hashed search terms (created on first use; ``link.searchkeys``)."""
        return load_or_create_search_secret(self.settings.home)

    def load_keys(self) -> None:
        """Load (or create) both keys now: a server should fail at its start, not at a first request."""
        _ = (self.note_cipher, self.signing_key, self.search_secret)

    # -- lifetime ----------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._nodes is not None:
                close_nodes(self._nodes)
                self._nodes = None
        self.store.dispose()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


@contextmanager
def hub_with_nodes(settings: Settings) -> Iterator[tuple[sessionmaker[Session], dict[str, Node]]]:
    """Sessions on the (migrated) hub store and every department's node; both closed afterwards.

    Kept for code written before ``Hub``: new code opens ``Hub.open(settings)`` and asks it.
    """
    with Hub.open(settings) as hub:
        yield hub.sessions, hub.nodes()

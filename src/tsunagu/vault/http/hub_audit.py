"""The hub's side of every node exchange, in the hub's audit chain — whoever opened the nodes.

An HTTP node calls its ``on_exchange`` hook once per call: released, partial, refused by the
node, or unavailable (a tampered, replayed or unreadable answer included). ``HubExchangeLog`` is
the hook ``open_nodes`` installs by default (``tsunagu.hub.Hub.nodes()`` gives it the hub's own
sessions and signing key), so a refused or tampered answer leaves a trace at the hub even when
the caller forgot to subscribe. An exchange made inside a unit of work (a web
request, a command's transaction) joins that unit's transaction; one made elsewhere (the linkage
run's gathering threads) is kept and written in one transaction of its own when the nodes are
closed (``close_nodes``), after the job's own transaction has ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.config import Settings
from tsunagu.privacy.audit import AuditEvent, append, unit_session
from tsunagu.privacy.checkpoint import load_or_create_signing_key
from tsunagu.vault.http.client import ExchangeRecord

EXCHANGE_ACTION = "node.exchange"
# The node's answer → the audit's outcome: a refusal by the node is a denial; a failed or
# suspicious exchange (tampered, replayed, unreadable, down) an error.
OUTCOMES = {"released": "allowed", "partial": "allowed", "refused": "denied"}


def exchange_event(record: ExchangeRecord) -> AuditEvent:
    detail = (f"{record.department} {record.kind}: {record.outcome}（{record.rows}行、試行{record.attempts}回、"
              f"HTTP {record.status if record.status is not None else '-'}、digest {record.digest or '-'}、"
              f"nonce {record.nonce or '-'}）: {record.reason}")
    return AuditEvent(
        actor=record.requester[:200], role=record.role[:64], organisation=f"node:{record.department}"[:200],
        purpose=record.purpose[:64], action=EXCHANGE_ACTION, outcome=OUTCOMES.get(record.outcome, "error"),
        reason=detail, rule=f"node.{record.outcome}"[:100], items=record.items, request_id=record.request_id[:64],
        at=record.at,
    )


class HubExchangeLog:
    """An ``on_exchange`` hook that records every exchange in the hub's audit chain.

    ``sessions`` are the hub's and ``key`` gives its signing key (``Hub.nodes()`` passes its own);
    without ``key`` the log reads the key from the home. It opens no store of its own: the exchanges
    made outside a unit of work are written through ``sessions`` when the nodes close.
    """

    def __init__(self, settings: Settings, also: Callable[[ExchangeRecord], None] | None = None, *,
                 sessions: sessionmaker[Session],
                 key: Callable[[], Ed25519PrivateKey] | None = None) -> None:
        self.settings = settings
        self.also = also
        self.pending: list[AuditEvent] = []
        self._sessions = sessions
        self._key_source = key
        self._lock = threading.Lock()
        self._signing_key: Ed25519PrivateKey | None = None

    def __call__(self, record: ExchangeRecord) -> None:
        event = exchange_event(record)
        session = unit_session()
        if session is not None:
            append(session, event, key=self._key())
        else:
            with self._lock:
                self.pending.append(event)
        if self.also is not None:
            self.also(record)

    def _key(self) -> Ed25519PrivateKey:
        # Loaded on the first exchange, not when the nodes are opened: a job that asks no remote node
        # needs no key.
        with self._lock:
            if self._signing_key is None:
                self._signing_key = (self._key_source() if self._key_source is not None
                                     else load_or_create_signing_key(self.settings.home))
            return self._signing_key

    def flush(self) -> int:
        """Write the exchanges made outside any unit of work; returns how many."""
        with self._lock:
            events, self.pending = self.pending, []
        if not events:
            return 0
        self._write(self._sessions, events)
        return len(events)

    def _write(self, sessions: sessionmaker[Session], events: list[AuditEvent]) -> None:
        key = self._key()
        with sessions.begin() as session:
            for event in events:
                append(session, event, key=key)


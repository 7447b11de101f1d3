"""The units of work every staff action runs in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.privacy import AuditQueue, defer_appends
from tsunagu.privacy.audit import bind_unit_session
from tsunagu.work.errors import Refused


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction that also commits when the policy refused: the refusal's audit entry (the only
    thing written before the service refused) must stay on record."""
    session = factory()
    try:
        with bind_unit_session(session):
            yield session
        session.commit()
    except Refused:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def reading_unit(read_factory: sessionmaker[Session], write_factory: sessionmaker[Session]) -> Iterator[Session]:
    """For an action that only reads (and records its reads): lists, a child's page, the dashboard.

    The work runs in a reading session (``store.db.read_session_factory``: on SQLite it neither
    waits for nor holds the write lock) and its audit entries are queued; when the work is done —
    or refused, as ``unit_of_work`` commits a refusal — they are appended in one short writing
    transaction, before the caller can answer. Any other error drops them with the work.
    """
    session = read_factory()
    queue = defer_appends(session)
    try:
        with bind_unit_session(session):
            yield session
    except Refused:
        _record(session, queue, write_factory)
        raise
    except BaseException:
        session.close()
        raise
    _record(session, queue, write_factory)


# One gate per writing session factory (per hub): see _record.
_gates: WeakKeyDictionary[sessionmaker[Session], threading.Lock] = WeakKeyDictionary()
_gates_lock = threading.Lock()


def _gate(write_factory: sessionmaker[Session]) -> threading.Lock:
    with _gates_lock:
        return _gates.setdefault(write_factory, threading.Lock())


def _record(session: Session, queue: AuditQueue, write_factory: sessionmaker[Session]) -> None:
    session.close()  # end the read snapshot first: nothing of it is needed to append
    if not queue.entries:
        return
    # The requests of this process take turns here rather than in SQLite's busy handler, which
    # sleeps 1, 2, 5 … 100 ms between tries and so left a waiting request asleep long after the
    # lock was free (audit writes of 8 parallel child pages: p95 0.48 s, max 1.1 s). Other
    # processes (workers, the CLI) still meet at the database's own lock.
    with _gate(write_factory), write_factory.begin() as writer:
        queue.write(writer)

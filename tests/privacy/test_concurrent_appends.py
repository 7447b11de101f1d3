"""Concurrent requests append to one audit chain without forks or lost entries (SQLite hub)."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.queues import Queue

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from tsunagu.config import Settings
from tsunagu.hub import Hub
from tsunagu.privacy import AuditEvent, append, verify
from tsunagu.privacy.models import AuditCheckpoint, AuditEntry

THREADS, EACH = 8, 15


def test_parallel_transactions_each_append_and_the_chain_verifies(sqlite_hub: Hub) -> None:
    sessions = sqlite_hub.sessions
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(EACH):
                with sessions.begin() as session:
                    # read first, as a web request does, then append in the same transaction
                    session.scalar(select(func.count()).select_from(AuditEntry))
                    append(session, AuditEvent(actor=f"user{n}", role="centre_caseworker", organisation="x",
                                               purpose="screening", action="candidates.list", outcome="allowed",
                                               reason=f"request {i}"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == THREADS * EACH
        report = verify(session)
    assert report.ok, report


PROCESSES, REQUESTS, SHOWN = 2, 12, 25


def _worker_process(settings: Settings, n: int, key_pem: bytes, failures: Queue[str]) -> None:
    """One server worker: reading units that each queue a list's entries, appended at their end."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, Ed25519PrivateKey)
        with Hub(settings) as hub:
            for i in range(REQUESTS):
                with hub.reading() as session:
                    session.scalar(select(func.count()).select_from(AuditEntry))  # the read, in a snapshot
                    for child in range(SHOWN):
                        append(session, AuditEvent(
                            actor=f"worker{n}", role="centre_caseworker", organisation="x", purpose="screening",
                            action="candidates.list", outcome="allowed", reason=f"request {i}",
                            person_id=f"P{child:04d}"), key=key, checkpoint_every=100)
    except BaseException as exc:  # reported to the parent, which asserts none came
        failures.put(f"worker {n}: {exc!r}")


def test_two_worker_processes_append_queued_lists_and_the_chain_verifies(sqlite_hub: Hub) -> None:
    """``tsunagu serve --workers 2``: two processes write the chain; SQLite's write lock (BEGIN
    IMMEDIATE) orders them, so no entry is lost, none forks the chain, and the checkpoints each
    process signs on the way verify."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    context = multiprocessing.get_context("fork")
    failures: Queue[str] = context.Queue()
    workers = [context.Process(target=_worker_process, args=(sqlite_hub.settings, n, pem, failures))
               for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    assert failures.empty(), failures.get()
    with sqlite_hub.sessions() as session:
        actors = session.execute(select(AuditEntry.actor, func.count()).group_by(AuditEntry.actor)).all()
        assert sorted(actors) == [(f"worker{n}", REQUESTS * SHOWN) for n in range(PROCESSES)]
        report = verify(session, key.public_key())
        checkpoints = session.scalar(select(func.count()).select_from(AuditCheckpoint))
    assert report.ok, report
    assert checkpoints == PROCESSES * REQUESTS * SHOWN // 100  # each batch of 25 ends on a multiple of 100 in turn

"""Concurrent requests append to one audit chain without forks or lost entries (SQLite hub)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tsunagu.hub import Hub
from tsunagu.privacy import AuditEvent, append, verify
from tsunagu.privacy.models import AuditEntry

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

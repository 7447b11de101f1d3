"""The reading unit: a read-only request reads beside others and appends its audit entries at the end,
in one short writing transaction — refusals recorded, failures leaving nothing, the chain whole."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.hub import Hub
from tsunagu.privacy import AuditEntry, AuditEvent, append, verify
from tsunagu.store.db import ReadOnlySessionError, read_session_factory, session_factory
from tsunagu.work.candidates import CandidateFilter, list_candidates
from tsunagu.work.errors import Refused
from tsunagu.work.models import UseSuspension
from tsunagu.work.unit import reading_unit, unit_of_work
from work.builders import Home


def _entries(factory: sessionmaker[Session]) -> list[AuditEntry]:
    with factory() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _event(actor: str, reason: str, outcome: str = "allowed") -> AuditEvent:
    return AuditEvent(actor=actor, role="centre_caseworker", organisation="family_centre", purpose="screening",
                      action="candidates.list", outcome=outcome, reason=reason)


def test_a_reading_unit_records_its_reads_when_it_ends_in_one_run_of_the_chain(home: Home) -> None:
    before = len(_entries(home.factory))
    reads = read_session_factory(home.engine)
    with reading_unit(reads, home.factory) as session:
        page = list_candidates(session, home.subject("cw1"), "screening", CandidateFilter())
        with home.factory.begin() as other:  # another request appends while this one is still reading
            append(other, _event("other", "meanwhile"))
        assert len(_entries(home.factory)) == before + 1  # nothing of this unit's is written yet
    after = _entries(home.factory)[before:]
    assert [e.actor for e in after] == ["other"] + ["cw1"] * (1 + len(page.rows))
    ours = [e.seq for e in after if e.actor == "cw1"]
    assert ours == list(range(ours[0], ours[0] + len(ours)))  # appended together, nothing in between
    assert {e.person_id for e in after if e.person_id} == {r.person_id for r in page.rows}
    with home.factory() as session:
        assert verify(session).ok


def test_a_refusal_in_a_reading_unit_is_recorded_and_a_failure_leaves_nothing(home: Home) -> None:
    reads = read_session_factory(home.engine)
    before = len(_entries(home.factory))
    with pytest.raises(Refused), reading_unit(reads, home.factory) as session:
        list_candidates(session, home.subject("admin1"), "screening", CandidateFilter())
    refused = _entries(home.factory)[before:]
    assert [(e.actor, e.outcome) for e in refused] == [("admin1", "denied")]
    with pytest.raises(RuntimeError, match="the page failed"), reading_unit(reads, home.factory) as session:
        list_candidates(session, home.subject("cw1"), "screening", CandidateFilter())
        raise RuntimeError("the page failed")  # e.g. rendering: the reads were never shown
    assert len(_entries(home.factory)) == before + 1


def test_a_reading_session_refuses_to_write(home: Home) -> None:
    reads = read_session_factory(home.engine)
    with reads() as session:
        session.add(UseSuspension(person_id="P0001", since=datetime.now(UTC), reason="test", active=True))
        with pytest.raises(ReadOnlySessionError):
            session.flush()
    with home.factory() as session:
        assert session.scalar(select(func.count()).select_from(UseSuspension)) == 0


@pytest.fixture
def hub(any_hub: Hub) -> Engine:
    """An empty migrated hub on each back-end (the shared ``any_hub`` fixture)."""
    return any_hub.engine


THREADS, EACH, PER_READ = 6, 10, 5


def test_reading_and_writing_units_in_parallel_keep_one_whole_chain(hub: Engine) -> None:
    writes, reads = session_factory(hub), read_session_factory(hub)
    errors: list[BaseException] = []

    def reader(n: int) -> None:
        try:
            for i in range(EACH):
                with reading_unit(reads, writes) as session:
                    session.scalar(select(func.count()).select_from(AuditEntry))  # read first, as a page does
                    for k in range(PER_READ):
                        append(session, _event(f"reader{n}", f"read {i}.{k}"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def writer(n: int) -> None:
        try:
            for i in range(EACH):
                with unit_of_work(writes) as session:
                    session.scalar(select(func.count()).select_from(AuditEntry))
                    append(session, _event(f"writer{n}", f"write {i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader if n % 2 else writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    rows = _entries(writes)
    readers, writers = THREADS // 2, THREADS - THREADS // 2
    assert len(rows) == readers * EACH * PER_READ + writers * EACH
    for n in range(1, THREADS, 2):  # each reading unit's entries sit together, in the order they were decided
        mine = [(e.seq, e.reason) for e in rows if e.actor == f"reader{n}"]
        for i in range(EACH):
            unit_rows = [(seq, reason) for seq, reason in mine if reason.startswith(f"read {i}.")]
            assert [r for _, r in unit_rows] == [f"read {i}.{k}" for k in range(PER_READ)]
            assert unit_rows[-1][0] - unit_rows[0][0] == PER_READ - 1
    with writes() as session:
        report = verify(session)
    assert report.ok, report

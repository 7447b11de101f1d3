"""A reading session's memo: kept for one transaction (one snapshot), never for a writing session."""

from __future__ import annotations

from sqlalchemy import text

from tsunagu.hub import Hub
from tsunagu.store.db import snapshot_memo


def test_a_reading_session_remembers_answers_for_its_transaction_only(sqlite_hub: Hub) -> None:
    with sqlite_hub.read_sessions() as reading:
        reading.execute(text("SELECT 1"))  # the snapshot begins
        memo = snapshot_memo(reading)
        assert memo is not None
        memo["answer"] = 42
        assert snapshot_memo(reading) == {"answer": 42}
        reading.rollback()  # a new transaction may see newer rows: nothing remembered carries over
        reading.execute(text("SELECT 1"))
        assert snapshot_memo(reading) == {}
    with sqlite_hub.sessions() as writing:
        assert snapshot_memo(writing) is None

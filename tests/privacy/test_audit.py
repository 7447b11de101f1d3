"""The audit chain on SQLite and PostgreSQL: append, tamper detection, checkpoints, triggers."""

from __future__ import annotations

import hashlib
import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tsunagu.privacy import (
    AuditCheckpoint,
    AuditEntry,
    AuditEvent,
    ChainBrokenError,
    PrivacyNotification,
    Subject,
    VerifyReport,
    access_history,
    append,
    authorise,
    checkpoint,
    defer_appends,
    load_or_create_signing_key,
    public_key_hex,
    query_log,
    verify,
)
from tsunagu.privacy.chain import entry_hash
from tsunagu.privacy.checkpoint import checkpoint_message
from tsunagu.store.db import session_factory

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)




@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _event(i: int, person: str | None = None) -> AuditEvent:
    return AuditEvent(
        actor=f"user-{i % 3}", role="centre_caseworker", organisation="family_centre", purpose="assessment",
        action="child.items.read", outcome="allowed", reason="許可（ルール centre.child_read）", rule="centre.child_read",
        person_id=person or f"P{i % 4:04d}", items=("absence_days", "school_aid"), at=T0 + timedelta(minutes=i),
    )


def _fill(engine: Engine, n: int, key: Ed25519PrivateKey | None = None, every: int = 1000) -> None:
    with session_factory(engine).begin() as session:
        for i in range(n):
            append(session, _event(i), key=key, checkpoint_every=every)


def _tamper(engine: Engine, *statements: str) -> None:
    """What someone with the database owner's rights can do once the triggers are out of the way."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
        else:
            for trigger in ("audit_entries_no_update", "audit_entries_no_delete",
                            "audit_checkpoints_no_update", "audit_checkpoints_no_delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            conn.execute(text(statement))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_checkpoints ENABLE TRIGGER USER"))


def _report(engine: Engine, key: Ed25519PrivateKey | None = None) -> VerifyReport:
    with session_factory(engine)() as session:
        return verify(session, key.public_key() if key else None)


def test_an_untouched_chain_verifies(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 10, key, every=4)
    report = _report(engine, key)
    assert report.ok and report.problem is None
    assert (report.entries_checked, report.checkpoints_checked, report.head_seq) == (10, 2, 10)
    with session_factory(engine)() as session:
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert [r.seq for r in rows] == list(range(1, 11))
        assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(rows))
        assert rows[0].at == T0 or rows[0].at.replace(tzinfo=UTC) == T0
        assert [c.upto_seq for c in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id))] == [4, 8]


@pytest.mark.parametrize(
    ("statements", "kind", "seq"),
    [
        (["UPDATE audit_entries SET purpose = 'statistics' WHERE seq = 4"], "changed", 4),
        (["UPDATE audit_entries SET items = '[]' WHERE seq = 1"], "changed", 1),
        (["DELETE FROM audit_entries WHERE seq = 4"], "deleted", 4),
        (["DELETE FROM audit_entries WHERE seq IN (4, 5)"], "deleted", 4),
        (["UPDATE audit_entries SET seq = -1 WHERE seq = 4", "UPDATE audit_entries SET seq = 4 WHERE seq = 5",
          "UPDATE audit_entries SET seq = 5 WHERE seq = -1"], "reordered", 4),
        (["DELETE FROM audit_entries WHERE seq = 4"] + [f"UPDATE audit_entries SET seq = {s - 1} WHERE seq = {s}"
                                                         for s in range(5, 9)], "deleted", 4),
    ],
    ids=["changed", "changed-first", "deleted", "deleted-two", "reordered", "deleted-renumbered"],
)
def test_tampering_is_found_at_the_right_seq(
    engine: Engine, statements: list[str], kind: str, seq: int
) -> None:
    _fill(engine, 8)
    assert _report(engine).ok
    _tamper(engine, *statements)
    report = _report(engine)
    assert not report.ok
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == (kind, seq), report.problem
    assert f"seq {seq}" in report.problem.message


def _forge_insert_at(engine: Engine, seq: int, *, proper_hash: bool) -> None:
    """Shift entries from ``seq`` up by one and put a forged entry in the hole."""
    with session_factory(engine)() as session:
        head = session.scalar(select(func.max(AuditEntry.seq))) or 0
        prev = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == seq - 1))
    forged = AuditEntry(
        seq=seq, at=T0, request_id="forged", actor="intruder", role="centre_caseworker", organisation="family_centre",
        purpose="assessment", action="child.view", person_id="P0001", items="[]", outcome="allowed",
        reason="許可", rule="centre.child_read",
        # prev_hash is unique, so a forger cannot reuse the real predecessor's hash.
        prev_hash=hashlib.sha256(f"{prev}-forged".encode()).hexdigest(),
    )
    forged.entry_hash = entry_hash(forged) if proper_hash else "f" * 64
    shifts = [f"UPDATE audit_entries SET seq = {s + 1} WHERE seq = {s}" for s in range(head, seq - 1, -1)]
    insert = (
        "INSERT INTO audit_entries (seq, at, request_id, actor, role, organisation, purpose, action, person_id, items, "
        f"outcome, reason, rule, prev_hash, entry_hash) VALUES ({seq}, '{T0.strftime('%Y-%m-%d %H:%M:%S.%f')}+00:00', "
        f"'forged', 'intruder', 'centre_caseworker', 'family_centre', 'assessment', 'child.view', 'P0001', '[]', "
        f"'allowed', '許可', 'centre.child_read', '{forged.prev_hash}', '{forged.entry_hash}')"
    )
    if engine.dialect.name == "sqlite":
        insert = insert.replace("+00:00'", "'")
    _tamper(engine, *shifts, insert)


@pytest.mark.parametrize("proper_hash", [True, False], ids=["forged-with-valid-hash", "forged-with-bad-hash"])
def test_an_inserted_entry_is_found(engine: Engine, proper_hash: bool) -> None:
    _fill(engine, 8)
    _forge_insert_at(engine, 4, proper_hash=proper_hash)
    report = _report(engine)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("inserted", 4), report.problem


def test_a_rewritten_chain_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    _fill(engine, 6, key, every=6)
    _fill(engine, 2, key, every=6)
    # Rewrite entry 3 and re-hash everything after it, as a careful forger without the key would.
    with session_factory(engine)() as session:
        rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    statements = []
    prev = rows[1].entry_hash
    for row in rows[2:]:
        row.prev_hash = prev
        if row.seq == 3:
            row.purpose = "statistics"
        row.entry_hash = entry_hash(row)
        prev = row.entry_hash
    # prev_hash is unique: clear the old values before writing the new ones.
    statements += [f"UPDATE audit_entries SET prev_hash = 'tmp{r.seq}', entry_hash = 'tmpe{r.seq}' WHERE seq = {r.seq}"
                   for r in rows[2:]]
    statements += [f"UPDATE audit_entries SET purpose = '{r.purpose}', prev_hash = '{r.prev_hash}', "
                   f"entry_hash = '{r.entry_hash}' WHERE seq = {r.seq}" for r in rows[2:]]
    _tamper(engine, *statements)
    report = _report(engine, key)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("checkpoint_head", 6)


def test_a_forged_checkpoint_signature_is_found(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 8, key, every=4)
    _tamper(engine, f"UPDATE audit_checkpoints SET signature = '{'ab' * 64}' WHERE upto_seq = 8")
    report = _report(engine, key)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("checkpoint_signature", 8)
    assert report.problem.checkpoint_id is not None


def test_a_checkpoint_signed_with_another_key_is_found_when_the_hub_key_is_given(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    _fill(engine, 4)
    intruder = Ed25519PrivateKey.generate()
    with session_factory(engine).begin() as session:
        checkpoint(session, intruder)
    # Self-consistent without the hub's key (integrity, not authorship) ...
    assert _report(engine).ok
    # ... and caught with it.
    report = _report(engine, key)
    assert report.problem is not None and report.problem.kind == "checkpoint_key"


def test_a_truncated_tail_is_found_through_the_checkpoint(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 8, key, every=8)
    _tamper(engine, "DELETE FROM audit_entries WHERE seq >= 7")
    report = _report(engine, key)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("deleted", 7)


def test_a_prefix_purged_under_a_signed_checkpoint_still_verifies(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 8, key, every=4)
    _tamper(engine, "DELETE FROM audit_entries WHERE seq <= 4")
    report = _report(engine, key)
    assert report.ok and report.purged_upto == 4 and report.entries_checked == 4
    _tamper(engine, "DELETE FROM audit_entries WHERE seq = 5")
    report = _report(engine, key)
    assert report.problem is not None and (report.problem.kind, report.problem.seq) == ("deleted", 1)


def test_the_database_refuses_update_and_delete(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 3, key, every=2)
    for statement in (
        "UPDATE audit_entries SET reason = 'x' WHERE seq = 2",
        "DELETE FROM audit_entries WHERE seq = 2",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET head_hash = 'x'",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_entries"))
    assert _report(engine, key).ok


def test_append_never_commits_a_rolled_back_read_leaves_no_entry(engine: Engine) -> None:
    session = session_factory(engine)()
    append(session, _event(0))
    session.rollback()
    session.close()
    with session_factory(engine)() as check:
        assert check.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_checkpoint_refuses_to_sign_over_damage_and_append_tells_the_privacy_officer(
    engine: Engine, key: Ed25519PrivateKey
) -> None:
    _fill(engine, 3, key, every=4)
    _tamper(engine, "UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 2")
    with pytest.raises(ChainBrokenError, match="seq 2"), session_factory(engine).begin() as session:
        checkpoint(session, key)
    _fill(engine, 1, key, every=4)  # the 4th entry: a checkpoint is due but must not be signed
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0
        notes = list(session.scalars(select(PrivacyNotification)))
    assert [n.kind for n in notes] == ["audit_chain_broken"]
    assert "seq 2" in notes[0].text


def test_a_missing_key_delays_the_checkpoint_but_never_skips_it(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 5, None, every=4)
    _fill(engine, 1, key, every=4)
    with session_factory(engine)() as session:
        assert [c.upto_seq for c in session.scalars(select(AuditCheckpoint))] == [6]
        cp = session.scalars(select(AuditCheckpoint)).one()
        assert cp.public_key == public_key_hex(key)
        key.public_key().verify(bytes.fromhex(cp.signature), checkpoint_message(cp.upto_seq, cp.head_hash, cp.at))


def test_queued_entries_join_the_chain_together_with_one_checkpoint(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 3, key, every=10)
    with session_factory(engine)() as reading:
        queue = defer_appends(reading)
        for i in range(3, 25):
            assert append(reading, _event(i), key=key, checkpoint_every=10) is None
        assert reading.scalar(select(func.count()).select_from(AuditEntry)) == 3  # queued, not written
    with session_factory(engine).begin() as session:
        seqs = queue.write(session)
    assert seqs == list(range(4, 26)) and queue.entries == []
    report = _report(engine, key)
    assert report.ok and (report.entries_checked, report.head_seq) == (25, 25)
    with session_factory(engine)() as session:
        # the batch crossed seq 10 and 20: one checkpoint, after its last entry
        assert [c.upto_seq for c in session.scalars(select(AuditCheckpoint))] == [25]


def test_a_queued_batch_over_damage_tells_the_privacy_officer_once(engine: Engine, key: Ed25519PrivateKey) -> None:
    _fill(engine, 3, key, every=4)
    _tamper(engine, "UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 2")
    for _ in range(2):  # 3 + 6 = 9, then 15: each batch crosses a multiple of 4 once or twice
        with session_factory(engine)() as reading:
            queue = defer_appends(reading)
            for i in range(6):
                append(reading, _event(i), key=key, checkpoint_every=4)
        with session_factory(engine).begin() as session:
            queue.write(session)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0
        notes = list(session.scalars(select(PrivacyNotification)))
    assert [n.kind for n in notes] == ["audit_chain_broken"] * 2  # one per batch that crossed an interval


def test_access_history_is_the_familys_data_tracker(engine: Engine) -> None:
    centre = Subject("c-7", "centre_caseworker", "family_centre")
    teacher = Subject("t-3", "teacher", "school-012")
    with session_factory(engine).begin() as session:
        authorise(session, centre, "child.items.read", "assessment", person_id="P1", items=["school_aid"],
                  relationship="municipality", sensitivity=2, now=T0)
        authorise(session, teacher, "child.view", "assessment", person_id="P1", relationship="none", now=T0)
        authorise(session, centre, "child.view", "assessment", person_id="P2", relationship="municipality", now=T0)
    with session_factory(engine)() as session:
        history = access_history(session, "P1")
        assert len(query_log(session, actor="c-7")) == 2
    assert [(r.role_label, r.organisation, r.purpose_label, r.action_label, r.outcome_label) for r in history] == [
        ("こども家庭センター職員", "family_centre", "二次アセスメント", "データ項目の値の閲覧", "許可"),
        ("担任", "school-012", "二次アセスメント", "子どもの概要の閲覧", "拒否"),
    ]
    assert history[0].items == ("school_aid",) and history[0].at == T0
    assert not hasattr(history[0], "actor")  # the family learns the body and role, not the staff member


# The advisory lock is PostgreSQL's; SQLite serialises writers with its file lock (and a busy
# writer gets an error to retry, never a fork: seq and prev_hash are unique).
@pytest.mark.parametrize("engine", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_concurrent_appends_on_postgres_never_fork(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                with session_factory(engine).begin() as session:
                    append(session, _event(n * 100 + i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = _report(engine)
    assert report.ok and report.entries_checked == 60


def test_signing_key_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path)
    path = tmp_path / "keys" / "hub_ed25519.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert public_key_hex(load_or_create_signing_key(tmp_path)) == public_key_hex(first)


def test_an_unknown_outcome_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="outcome"), Session(engine) as session:
        append(session, AuditEvent("u", "teacher", "o", "assessment", "child.view", "maybe", "?"))

"""The hash chain itself: canonical hashing of an entry, the chain head, and walking the chain.

Each entry's hash covers its own sequence number and its predecessor's hash, so a changed,
deleted, inserted or reordered entry breaks the chain at a place we can name. ``walk`` not only
finds the first break but says what kind it most likely is, because "seq 41 was deleted" is what
an auditor can act on, where "hash mismatch at 42" is not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tsunagu.privacy.models import AuditCheckpoint, AuditEntry
from tsunagu.store.dialects import dialect_of

GENESIS_HASH = "0" * 64
# Key of the PostgreSQL advisory lock that serialises appends ("tsunaudt").
AUDIT_LOCK_KEY = int.from_bytes(b"tsunaudt", "big")

ProblemKind = Literal[
    "changed", "deleted", "inserted", "reordered", "checkpoint_signature", "checkpoint_head", "checkpoint_key",
    "anchor",
]


@dataclass(frozen=True)
class ChainProblem:
    kind: ProblemKind
    seq: int
    message: str
    checkpoint_id: int | None = None


def utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; everything we store is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_at(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class ChainLink(Protocol):
    """An entry as the chain is checked: an ``AuditEntry`` or a plain row of its table (``entry_rows``:
    a walk over a checkpoint's thousand entries as ORM objects cost twice the CPU)."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def entry_hash(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...


# The fields an entry's hash covers, besides its seq and time (prev_hash included: the chain).
HASHED_FIELDS = ("request_id", "actor", "role", "organisation", "purpose", "action", "person_id", "items", "outcome",
                 "reason", "rule", "prev_hash")


def values_hash(values: Mapping[str, Any]) -> str:
    """sha256 of an entry given as its column values (``seq``, ``at`` and ``HASHED_FIELDS``)."""
    payload = {"seq": values["seq"], "at": format_at(values["at"]), **{name: values[name] for name in HASHED_FIELDS}}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def entry_hash(entry: AuditEntry | ChainLink, *, seq: int | None = None) -> str:
    """sha256 of the entry's fields and its prev_hash (``seq`` overrides, to test shifted places)."""
    return values_hash({"seq": entry.seq if seq is None else seq, "at": entry.at,
                        **{name: getattr(entry, name) for name in HASHED_FIELDS}})


def lock_chain(session: Session) -> None:
    """Serialise writers of the chain until the end of the caller's transaction.

    PostgreSQL: a transaction-scoped advisory lock (re-entrant within the transaction). SQLite
    serialises writers with its database lock; the unique prev_hash is the last guard against forks.
    """
    if dialect_of(session).is_postgresql:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def chain_head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the last entry; after a purge of everything, the last checkpoint's."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if row is not None:
        return int(row[0]), str(row[1])
    cp = session.execute(
        select(AuditCheckpoint.upto_seq, AuditCheckpoint.head_hash).order_by(AuditCheckpoint.upto_seq.desc()).limit(1)
    ).first()
    return (int(cp[0]), str(cp[1])) if cp is not None else (0, GENESIS_HASH)


def entry_rows(session: Session, after_seq: int) -> Iterable[ChainLink]:
    """The entries after ``after_seq`` in seq order, as plain rows read in batches."""
    table = AuditEntry.__table__
    rows = session.execute(select(table).where(table.c.seq > after_seq).order_by(table.c.seq)
                           .execution_options(yield_per=500))
    return rows  # a Row has the columns as attributes


def first_seq(session: Session) -> int | None:
    value = session.scalar(select(func.min(AuditEntry.seq)))
    return int(value) if value is not None else None


@dataclass
class WalkResult:
    problem: ChainProblem | None = None
    count: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    hashes: dict[int, str] = field(default_factory=dict)


def _valid_at(entry: ChainLink, seq: int) -> bool:
    return entry_hash(entry, seq=seq) == entry.entry_hash


def _inserted(seq: int) -> ChainProblem:
    return ChainProblem("inserted", seq, f"seq {seq} に偽のアクセス記録が挿入されています（以降の連番がずれています）")


def _classify(
    entry: ChainLink, following: ChainLink | None, seq: int, prev: str, before_prev: str | None
) -> ChainProblem | None:
    if entry.seq > seq:
        missing = f"seq {seq}" if entry.seq == seq + 1 else f"seq {seq}〜{entry.seq - 1}"
        return ChainProblem("deleted", seq, f"{missing} のアクセス記録が削除されています（連番の欠落）")
    if _valid_at(entry, entry.seq):
        if entry.prev_hash == prev:
            return None
        if following is not None and _valid_at(following, following.seq - 1) and following.prev_hash == prev:
            return _inserted(entry.seq)
        if entry.seq == 1:
            return ChainProblem("changed", 1, "seq 1 のアクセス記録が書き換えられています（先頭の前ハッシュが不正）")
        return ChainProblem(
            "changed", entry.seq - 1,
            f"seq {entry.seq - 1} のアクセス記録が書き換えられ、ハッシュも再計算されています"
            f"（seq {entry.seq} の前ハッシュと一致しません）",
        )
    if (
        following is not None and following.seq == entry.seq + 1
        and _valid_at(entry, entry.seq + 1) and _valid_at(following, entry.seq)
    ):
        return ChainProblem(
            "reordered", entry.seq, f"seq {entry.seq} と seq {entry.seq + 1} のアクセス記録の順序が入れ替えられています"
        )
    if before_prev is not None and _valid_at(entry, entry.seq - 1) and entry.prev_hash == before_prev:
        return _inserted(entry.seq - 1)
    if following is not None and _valid_at(following, following.seq - 1) and following.prev_hash == prev:
        return _inserted(entry.seq)
    if _valid_at(entry, entry.seq + 1):
        return ChainProblem(
            "deleted", entry.seq, f"seq {entry.seq} のアクセス記録が削除され、以降の連番が詰められています"
        )
    return ChainProblem("changed", entry.seq, f"seq {entry.seq} のアクセス記録の内容が変更されています（ハッシュ不一致）")


def walk(
    entries: Iterable[ChainLink], *, start_seq: int = 1, start_prev: str = GENESIS_HASH, keep: frozenset[int] = frozenset()
) -> WalkResult:
    """Check entries (in seq order) from ``start_seq``; stop at the first problem.

    ``keep``: sequence numbers whose entry hash to return (the checkpoints' heads).
    """
    result = WalkResult(last_seq=start_seq - 1, last_hash=start_prev)
    seq, prev, before_prev = start_seq, start_prev, None
    iterator = iter(entries)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        problem = _classify(current, following, seq, prev, before_prev)
        if problem is not None:
            result.problem = problem
            return result
        if current.seq in keep:
            result.hashes[current.seq] = current.entry_hash
        result.count += 1
        result.last_seq, result.last_hash = current.seq, current.entry_hash
        seq, prev, before_prev = seq + 1, current.entry_hash, prev
        current = following
    return result

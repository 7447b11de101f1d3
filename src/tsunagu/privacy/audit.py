"""Appending to the audit chain, reading it back, and the family's data tracker.

``append`` never commits: the entry belongs to the caller's transaction, the same one as the
read it records, so a read that is rolled back leaves no entry and an entry cannot be lost
while its read is kept. A request that only reads may instead queue its entries
(``defer_appends``) and write them in one short transaction before it answers (``AuditQueue``).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tsunagu.privacy.chain import chain_head, lock_chain, utc, values_hash
from tsunagu.privacy.checkpoint import ChainBrokenError, checkpoint, last_checkpoint
from tsunagu.privacy.models import OUTCOMES, AuditEntry, PrivacyNotification
from tsunagu.privacy.policy import Decision, Subject, policy_of

DEFAULT_CHECKPOINT_EVERY = 1000

# Audit events that are not policy actions (they record the privacy machinery itself).
ACCEPT_DROP_EVENT = "sources.accept_drop"
EVENT_LABELS = {
    "break_glass.open": "緊急閲覧（ブレークグラス）の開始",
    "node.exchange": "部署ノードとのやり取り",
    "users.approve": "利用者の承認（職務の分離）",
    ACCEPT_DROP_EVENT: "保留された取込（記録の大幅な減少）の承認",
    # 転居時の引継ぎ (tsunagu.handover): the system's steps, named for the family's access history
    "handover.detect": "転出・転入の検知（引継ぎの課題）", "handover.detect_run": "転出・転入の検知の実行",
    "handover.deliver": "ケース移管・情報提供の送付", "handover.receipt": "引継ぎ先からの受領・受理の通知",
    "handover.receive": "他の市町村からの引継ぎの受領", "handover.escalate": "引継ぎの期限超過（督促）",
    "handover.packages.http": "他の市町村からの送付（受付拒否）", "handover.receipts.http": "他の市町村からの通知（受付拒否）",
}
OUTCOME_LABELS = {"allowed": "許可", "denied": "拒否", "error": "エラー"}


@dataclass(frozen=True)
class AuditEvent:
    """What to record; ``append`` adds seq, time (if not given) and the hashes."""

    actor: str
    role: str
    organisation: str
    purpose: str
    action: str
    outcome: str
    reason: str
    rule: str = ""
    person_id: str | None = None
    items: tuple[str, ...] = ()
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime | None = None

    @classmethod
    def from_decision(
        cls,
        subject: Subject,
        decision: Decision,
        action: str,
        purpose: str,
        *,
        person_id: str | None = None,
        items: Sequence[str] = (),
        request_id: str | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        return cls(
            actor=subject.user_id, role=subject.role, organisation=subject.organisation, purpose=purpose,
            action=action, outcome="allowed" if decision.allowed else "denied", reason=decision.reason,
            rule=decision.rule, person_id=person_id, items=tuple(items),
            request_id=request_id or uuid.uuid4().hex, at=at,
        )


@dataclass(frozen=True)
class _Queued:
    event: AuditEvent
    key: Ed25519PrivateKey | None
    checkpoint_every: int


class AuditQueue:
    """Entries decided in a reading transaction, to be appended in one short writing transaction.

    A request that only reads (a list, a child's page) decides in a read snapshot, which on SQLite
    neither waits for nor blocks the writer; only the append itself needs the chain's lock. The
    caller writes the queue (``write``) before the response leaves, and drops it when the request
    fails: as with ``append`` in one transaction, no read is answered without its entries and no
    entry is left for a read that was not answered.
    """

    def __init__(self) -> None:
        self.entries: list[_Queued] = []

    def write(self, session: Session) -> list[int]:
        """Append the queued entries, in order, in ``session``'s (writing) transaction; empty the queue.
        Returns their sequence numbers."""
        queued, self.entries = self.entries, []
        if not queued:
            return []
        # One request signs with one key; the queue is appended as a whole, so a checkpoint falls due
        # at most once, after its last entry (the earliest interval any entry asked for).
        keys = [q.key for q in queued if q.key is not None]
        every = min(q.checkpoint_every for q in queued)
        # One INSERT of plain rows: a list shows 25 children, each its own entry, and building and
        # flushing them as ORM objects was a fifth of the list's CPU. The entries are those
        # ``append`` would write (same values, same hashes: ``_chained``).
        values = _chained(session, [q.event for q in queued])
        session.execute(insert(AuditEntry), values)
        _maybe_checkpoint(session, keys[0] if keys else None, values[-1]["seq"], every, len(values))
        return [v["seq"] for v in values]


_QUEUE = "tsunagu.privacy.audit_queue"


def defer_appends(session: Session) -> AuditQueue:
    """From now on ``append`` on ``session`` queues its entry instead of writing it (see AuditQueue)."""
    queue: AuditQueue = session.info.setdefault(_QUEUE, AuditQueue())
    return queue


def append(
    session: Session,
    entry: AuditEvent,
    *,
    key: Ed25519PrivateKey | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
) -> AuditEntry | None:
    """Add ``entry`` to the chain inside the caller's transaction (flushed, never committed).

    With ``key``, a signed checkpoint is written once ``checkpoint_every`` entries have been
    added since the last one. Without a key no checkpoint is due here; the next append that has
    the key (or ``tsunagu audit checkpoint``) catches up, so a missing key delays, never skips.
    On a session given to ``defer_appends`` the entry is queued instead and None is returned.
    """
    if entry.outcome not in OUTCOMES:
        raise ValueError(f"outcome は {', '.join(OUTCOMES)} のいずれかです: {entry.outcome!r}")
    queue: AuditQueue | None = session.info.get(_QUEUE)
    if queue is not None:
        queue.entries.append(_Queued(entry, key, checkpoint_every))
        return None
    return _append_rows(session, [entry], key, checkpoint_every)[0]


def _chained(session: Session, entries: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    """The column values of ``entries`` as the next links of the chain (seq, prev_hash, entry_hash),
    under the chain's lock (``lock_chain``; on SQLite the writing transaction's own lock)."""
    lock_chain(session)
    seq, prev_hash = chain_head(session)
    # An entry queued without a time gets the time it joins the chain, so times follow seq order.
    now = utc(datetime.now(UTC))
    rows = []
    for entry in entries:
        seq += 1
        values: dict[str, Any] = {
            "seq": seq, "at": utc(entry.at) if entry.at is not None else now, "request_id": entry.request_id,
            "actor": entry.actor, "role": entry.role, "organisation": entry.organisation, "purpose": entry.purpose,
            "action": entry.action, "person_id": entry.person_id,
            "items": json.dumps(list(entry.items), ensure_ascii=False, separators=(",", ":")),
            "outcome": entry.outcome, "reason": entry.reason, "rule": entry.rule, "prev_hash": prev_hash,
        }
        values["entry_hash"] = prev_hash = values_hash(values)
        rows.append(values)
    return rows


def _append_rows(
    session: Session, entries: Sequence[AuditEvent], key: Ed25519PrivateKey | None, checkpoint_every: int
) -> list[AuditEntry]:
    rows = [AuditEntry(**values) for values in _chained(session, entries)]
    session.add_all(rows)
    session.flush()
    _maybe_checkpoint(session, key, rows[-1].seq, checkpoint_every, len(rows))
    return rows


def _maybe_checkpoint(session: Session, key: Ed25519PrivateKey | None, seq: int, every: int, added: int) -> None:
    """A checkpoint once ``every`` entries follow the last one (``seq``: the newest, ``added`` just now)."""
    if key is None or every <= 0:
        return
    last = last_checkpoint(session)
    since = seq - (last.upto_seq if last is not None else 0)
    if since < every:
        return
    # ``checkpoint`` checks the entries it signs over first (from the last anchored or signed head) and
    # raises before writing anything: one walk of the interval, where checking here as well walked it
    # twice (a quarter of a second in the request that happened to cross the interval).
    try:
        checkpoint(session, key)
        return
    except ChainBrokenError as exc:
        problem = exc.problem
    # Refusing the caller's read because the log was tampered with would stop support work;
    # instead no checkpoint is signed over the damage and the privacy officer is told (once per
    # interval, not on every append: when these ``added`` entries crossed a multiple of it).
    if since % every < added:
        session.add(PrivacyNotification(
            created_at=datetime.now(UTC), kind="audit_chain_broken", subject="system", person_id=None,
            text=f"アクセス記録の連鎖に問題があるため、チェックポイントの署名を見送りました: {problem.message}。"
                 "`tsunagu audit verify` で確認してください。",
        ))
        session.flush()


def query_log(
    session: Session,
    *,
    person_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Entries in chain order, filtered; the newest ``limit`` ones when a limit is given."""
    stmt = select(AuditEntry)
    if person_id is not None:
        stmt = stmt.where(AuditEntry.person_id == person_id)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= utc(since))
    if limit is not None:
        rows = list(session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(limit)))
        return rows[::-1]
    return list(session.scalars(stmt.order_by(AuditEntry.seq)))


@dataclass(frozen=True)
class AccessRecord:
    """One line of a disclosure response: which body touched the person's data, when and why.

    The individual staff member is left out on purpose: the family is told the role and the
    organisation (as X-Road's data tracker does); the actor stays in the audit log for oversight.
    """

    seq: int
    at: datetime
    role: str
    role_label: str
    organisation: str
    purpose: str
    purpose_label: str
    action: str
    action_label: str
    outcome: str
    outcome_label: str
    items: tuple[str, ...]
    break_glass: bool


def access_history(session: Session, person_id: str) -> list[AccessRecord]:
    """Every recorded access to ``person_id``'s data, oldest first (the data tracker)."""
    policy = policy_of(session)
    records = []
    for row in query_log(session, person_id=person_id):
        role = policy.roles.get(row.role)
        action = policy.actions.get(row.action)
        records.append(AccessRecord(
            seq=row.seq,
            at=utc(row.at),
            role=row.role,
            role_label=role.label if role else row.role,
            organisation=row.organisation,
            purpose=row.purpose,
            purpose_label=policy.purposes.get(row.purpose, row.purpose),
            action=row.action,
            action_label=action.label if action else EVENT_LABELS.get(row.action, row.action),
            outcome=row.outcome,
            outcome_label=OUTCOME_LABELS.get(row.outcome, row.outcome),
            items=tuple(json.loads(row.items)),
            break_glass=row.rule.startswith("break_glass"),
        ))
    return records


# The session of the unit of work running in this thread, if any: records that arrive from below
# (a node exchange) join its transaction — or its queue, for a reading unit — instead of opening
# a second writer that would wait for the unit's own write lock on SQLite.
_unit_session: ContextVar[tuple[Session, int] | None] = ContextVar("tsunagu_unit_session", default=None)


@contextmanager
def bind_unit_session(session: Session) -> Iterator[None]:
    token = _unit_session.set((session, threading.get_ident()))
    try:
        yield
    finally:
        _unit_session.reset(token)


def unit_session() -> Session | None:
    """The unit's session bound in this thread (never one bound in another thread: sessions are not shared)."""
    bound = _unit_session.get()
    if bound is None or bound[1] != threading.get_ident():
        return None
    return bound[0]

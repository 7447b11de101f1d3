"""Appending to the audit chain, reading it back, and the family's data tracker.

``append`` never commits: the entry belongs to the caller's transaction, the same one as the
read it records, so a read that is rolled back leaves no entry and an entry cannot be lost
while its read is kept.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy.chain import chain_head, entry_hash, lock_chain, utc
from tsunagu.privacy.checkpoint import checkpoint, last_checkpoint, unsigned_segment_problem
from tsunagu.privacy.models import OUTCOMES, AuditEntry, PrivacyNotification
from tsunagu.privacy.policy import Decision, Subject, default_policy

DEFAULT_CHECKPOINT_EVERY = 1000

# Audit events that are not policy actions (they record the privacy machinery itself).
EVENT_LABELS = {"break_glass.open": "緊急閲覧（ブレークグラス）の開始"}
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


def append(
    session: Session,
    entry: AuditEvent,
    *,
    key: Ed25519PrivateKey | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
) -> AuditEntry:
    """Add ``entry`` to the chain inside the caller's transaction (flushed, never committed).

    With ``key``, a signed checkpoint is written once ``checkpoint_every`` entries have been
    added since the last one. Without a key no checkpoint is due here; the next append that has
    the key (or ``tsunagu audit checkpoint``) catches up, so a missing key delays, never skips.
    """
    if entry.outcome not in OUTCOMES:
        raise ValueError(f"outcome は {', '.join(OUTCOMES)} のいずれかです: {entry.outcome!r}")
    lock_chain(session)
    head_seq, head_hash = chain_head(session)
    row = AuditEntry(
        seq=head_seq + 1,
        at=utc(entry.at or datetime.now(UTC)),
        request_id=entry.request_id,
        actor=entry.actor,
        role=entry.role,
        organisation=entry.organisation,
        purpose=entry.purpose,
        action=entry.action,
        person_id=entry.person_id,
        items=json.dumps(list(entry.items), ensure_ascii=False, separators=(",", ":")),
        outcome=entry.outcome,
        reason=entry.reason,
        rule=entry.rule,
        prev_hash=head_hash,
    )
    row.entry_hash = entry_hash(row)
    session.add(row)
    session.flush()
    if key is not None and checkpoint_every > 0:
        _maybe_checkpoint(session, key, row, checkpoint_every)
    return row


def _maybe_checkpoint(session: Session, key: Ed25519PrivateKey, row: AuditEntry, every: int) -> None:
    last = last_checkpoint(session)
    since = row.seq - (last.upto_seq if last is not None else 0)
    if since < every:
        return
    problem = unsigned_segment_problem(session)
    if problem is None:
        checkpoint(session, key)
        return
    # Refusing the caller's read because the log was tampered with would stop support work;
    # instead no checkpoint is signed over the damage and the privacy officer is told (once per
    # interval, not on every append).
    if since % every == 0:
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
    policy = default_policy()
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

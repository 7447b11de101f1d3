"""Break-glass (緊急閲覧): a justified, short, loudly recorded unlock of one person's record.

It exists for "not my case, but a child may be in danger now" — a caseworker on night duty,
a child-guidance intake about a child the centre has not assigned. So it unlocks only what the
relationship rule refused; it never lends a role an action, purpose or sensitivity level the
policy withholds (``Policy.overridable``). Each unlock writes an audit entry and a notice to the
privacy officer in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.errors import RefusedError
from tsunagu.privacy.audit import AuditEvent, append
from tsunagu.privacy.chain import utc
from tsunagu.privacy.models import BreakGlassGrant, PrivacyNotification
from tsunagu.privacy.policy import DENY_RELATIONSHIP, JST, Decision, Policy, Subject, policy_of

MIN_JUSTIFICATION_CHARS = 20
MAX_MINUTES = 120
EVENT = "break_glass.open"


class BreakGlassRefused(RefusedError):
    """Break-glass was refused; ``reason`` says why, in Japanese."""

    code = "break_glass_refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Grant:
    id: int
    user_id: str
    role: str
    person_id: str
    action: str
    purpose: str
    created_at: datetime
    expires_at: datetime
    justification: str


def _grant(row: BreakGlassGrant) -> Grant:
    return Grant(row.id, row.user_id, row.role, row.person_id, row.action, row.purpose,
                 utc(row.created_at), utc(row.expires_at), row.justification)


def break_glass(
    session: Session,
    subject: Subject,
    action: str,
    purpose: str,
    person_id: str,
    justification: str,
    minutes: int = 30,
    *,
    relationship: str = "none",
    sensitivity: int = 1,
    holder: str | None = None,
    now: datetime | None = None,
    key: Ed25519PrivateKey | None = None,
    policy: Policy | None = None,
) -> Grant:
    """Unlock ``person_id``'s record for ``subject`` for ``minutes``; raise BreakGlassRefused if not allowed.

    The grant covers every break-glass read action (child.view, child.items.read) for this
    purpose. Nothing is committed here: the caller commits with its own transaction.
    """
    policy = policy or policy_of(session)
    moment = utc(now or datetime.now(UTC))
    role = policy.role(subject.role)
    spec = policy.action(action)
    policy.purpose_label(purpose)
    if len(justification.strip()) < MIN_JUSTIFICATION_CHARS:
        raise BreakGlassRefused(
            f"緊急閲覧の理由は{MIN_JUSTIFICATION_CHARS}文字以上で具体的に書いてください"
            f"（現在{len(justification.strip())}文字）。後で個人情報保護担当が確認します。"
        )
    if not 1 <= minutes <= MAX_MINUTES:
        raise BreakGlassRefused(f"緊急閲覧の時間は1〜{MAX_MINUTES}分です（指定: {minutes}分）。")
    if not role.break_glass:
        raise BreakGlassRefused(f"{role.label}は緊急閲覧を使えない役割です（法定の守秘義務のある専門職のみ）。")
    if not spec.break_glass:
        raise BreakGlassRefused(f"「{spec.label}」は緊急閲覧の対象ではありません（閲覧の操作のみ）。")
    decision = policy.decide(subject, action, purpose, relationship=relationship, sensitivity=sensitivity,
                             holder=holder, now=moment)
    if decision.allowed:
        raise BreakGlassRefused(f"通常の権限で扱えるため緊急閲覧は不要です（{decision.reason}）。")
    if decision.rule != DENY_RELATIONSHIP or not policy.overridable(
        subject, action, purpose, sensitivity=sensitivity, holder=holder, now=moment
    ):
        raise BreakGlassRefused(f"緊急閲覧で解除できるのは担当関係による制限だけです。{decision.reason}")
    row = BreakGlassGrant(
        created_at=moment, expires_at=moment + timedelta(minutes=minutes), user_id=subject.user_id,
        role=subject.role, organisation=subject.organisation, action=action, purpose=purpose,
        person_id=person_id, justification=justification.strip(),
    )
    session.add(row)
    session.flush()
    until = row.expires_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    purpose_label = policy.purpose_label(purpose)
    session.add(PrivacyNotification(
        created_at=moment, kind="break_glass", subject=subject.user_id, person_id=person_id,
        text=f"{role.label} {subject.user_id}（{subject.organisation}）が本人 {person_id} の記録を緊急閲覧しました"
             f"（目的: {purpose_label}、{until} まで）。理由: {row.justification}",
    ))
    append(session, AuditEvent(
        actor=subject.user_id, role=subject.role, organisation=subject.organisation, purpose=purpose,
        action=EVENT, outcome="allowed", rule=f"break_glass.{row.id}", person_id=person_id, items=(action,),
        reason=f"緊急閲覧を開始（{until} まで）。理由: {row.justification}", at=moment,
    ), key=key)
    return _grant(row)


def active_grant(
    session: Session, subject: Subject, purpose: str, person_id: str, now: datetime | None = None
) -> Grant | None:
    moment = utc(now or datetime.now(UTC))
    row = session.scalars(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == subject.user_id,
            BreakGlassGrant.role == subject.role,
            BreakGlassGrant.person_id == person_id,
            BreakGlassGrant.purpose == purpose,
            BreakGlassGrant.created_at <= moment,
            BreakGlassGrant.expires_at > moment,
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    ).first()
    return _grant(row) if row is not None else None


def decide_with_grants(
    session: Session,
    subject: Subject,
    action: str,
    purpose: str,
    *,
    person_id: str,
    relationship: str = "none",
    sensitivity: int = 1,
    holder: str | None = None,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> Decision:
    """``decide``, plus any active break-glass grant of this subject for this person and purpose."""
    policy = policy or policy_of(session)
    moment = utc(now or datetime.now(UTC))
    decision = policy.decide(subject, action, purpose, relationship=relationship, sensitivity=sensitivity,
                             holder=holder, now=moment)
    if decision.allowed or decision.rule != DENY_RELATIONSHIP:
        return decision
    if not policy.overridable(subject, action, purpose, sensitivity=sensitivity, holder=holder, now=moment):
        return decision
    grant = active_grant(session, subject, purpose, person_id, moment)
    if grant is None:
        return decision
    until = grant.expires_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    return Decision(
        True,
        f"緊急閲覧により許可（{until} まで、理由: {grant.justification}）。通常は拒否: {decision.reason}",
        f"break_glass.{grant.id}",
        break_glass=True,
    )

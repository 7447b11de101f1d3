"""The one place the work layer asks the privacy core: relationship, suspension, decide-and-record.

Every service that reads or writes a child's data goes through ``guard`` (one child) or
``list_scope`` + ``authorise`` (many children), so the audit entry is written in the caller's
transaction together with the work it records. A refusal raises ``Refused`` after its audit
entry has been added: the caller commits, so refused attempts stay on record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.catalog import Catalog, catalog_of
from tsunagu.privacy import AuditEvent, Decision, Policy, Subject, append, authorise
from tsunagu.privacy.policy import policy_of
from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.store.db import snapshot_memo
from tsunagu.work.errors import Refused, Suspended
from tsunagu.work.models import CaseAssignment, UseSuspension

# Strongest first, as the policy documents them.
RELATIONSHIPS = ("assigned_case", "same_school", "municipality", "none")
# Only the privacy officer handles a suspended child's record (to answer the family's request).
SUSPENSION_ROLES = frozenset({"privacy_officer"})
SUSPENDED_RULE = "work.use_suspended"


def organisation_schools(organisation: str) -> set[str]:
    """An SSW may cover several schools: the organisation lists their codes, comma-separated."""
    return {part.strip() for part in organisation.split(",") if part.strip()}


def is_centre_wide(policy: Policy, role: str) -> bool:
    """A role the policy lets act on the whole municipality (some rule grants ``municipality``)."""
    return any(
        role in rule.roles and rule.relationships is not None and "municipality" in rule.relationships
        for rule in policy.spec.rules
    )


def is_assigned(session: Session, user_id: str, person_id: str) -> bool:
    memo = snapshot_memo(session)
    if memo is None:
        return _is_assigned(session, user_id, person_id)
    key = ("is_assigned", user_id, person_id)
    if key not in memo:
        memo[key] = _is_assigned(session, user_id, person_id)
    return bool(memo[key])


def _is_assigned(session: Session, user_id: str, person_id: str) -> bool:
    found = session.scalars(
        select(CaseAssignment.id).where(
            CaseAssignment.user_id == user_id, CaseAssignment.person_id == person_id, CaseAssignment.ended_at.is_(None)
        ).limit(1)
    ).first()
    return found is not None


def assigned_persons(session: Session, user_id: str) -> set[str]:
    return set(session.scalars(
        select(CaseAssignment.person_id).where(CaseAssignment.user_id == user_id, CaseAssignment.ended_at.is_(None))
    ))


def latest_result(session: Session, person_id: str) -> ScreeningResult | None:
    """The child's result in the newest run that has one (its school code is the hub's enrolment)."""
    memo = snapshot_memo(session)
    if memo is None:
        return _latest_result(session, person_id)
    key = ("latest_result", person_id)
    if key not in memo:
        memo[key] = _latest_result(session, person_id)
    found: ScreeningResult | None = memo[key]
    return found


def _latest_result(session: Session, person_id: str) -> ScreeningResult | None:
    return session.scalars(
        select(ScreeningResult)
        .join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
        .where(ScreeningResult.person_id == person_id)
        .order_by(ScreeningRun.as_of.desc(), ScreeningRun.started_at.desc())
        .limit(1)
    ).first()


def relationship(session: Session, subject: Subject, person_id: str) -> str:
    """The user's relationship to the child: assigned_case > same_school > municipality > none.

    same_school compares the school code of the child's latest screening result with the
    user's organisation; municipality is given to the roles the policy treats as centre-wide.
    """
    if is_assigned(session, subject.user_id, person_id):
        return "assigned_case"
    result = latest_result(session, person_id)
    if result is not None and result.school_code and result.school_code in organisation_schools(subject.organisation):
        return "same_school"
    if is_centre_wide(policy_of(session), subject.role):
        return "municipality"
    return "none"


def suspended_persons(session: Session) -> set[str]:
    return set(session.scalars(select(UseSuspension.person_id).where(UseSuspension.active.is_(True))))


def is_suspended(session: Session, person_id: str) -> bool:
    memo = snapshot_memo(session)
    if memo is None:
        return _is_suspended(session, person_id)
    key = ("is_suspended", person_id)
    if key not in memo:
        memo[key] = _is_suspended(session, person_id)
    return bool(memo[key])


def _is_suspended(session: Session, person_id: str) -> bool:
    found = session.scalars(
        select(UseSuspension.id).where(UseSuspension.person_id == person_id, UseSuspension.active.is_(True)).limit(1)
    ).first()
    return found is not None


def item_sensitivity(catalog: Catalog, items: Sequence[str]) -> int:
    return max((catalog.items[i].sensitivity for i in items if i in catalog.items), default=1)


def guard(
    session: Session,
    subject: Subject,
    action: str,
    purpose: str,
    person_id: str,
    *,
    items: Sequence[str] = (),
    sensitivity: int | None = None,
    holder: str | None = None,
    key: Ed25519PrivateKey | None = None,
) -> Decision:
    """Decide and record one child's action; raise Refused (already recorded) when refused."""
    if subject.role not in SUSPENSION_ROLES and is_suspended(session, person_id):
        reason = "拒否（利用停止）: 本人からの請求により、この子どもの情報の利用は停止されています。個人情報保護担当にお問い合わせください。"
        append(session, AuditEvent(
            actor=subject.user_id, role=subject.role, organisation=subject.organisation, purpose=purpose,
            action=action, outcome="denied", reason=reason, rule=SUSPENDED_RULE, person_id=person_id,
            items=tuple(items),
        ), key=key)
        raise Suspended(reason)
    level = sensitivity if sensitivity is not None else item_sensitivity(catalog_of(session), items)
    decision = authorise(
        session, subject, action, purpose, person_id=person_id, items=items,
        relationship=relationship(session, subject, person_id), sensitivity=level, holder=holder, key=key,
    )
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    return decision


@dataclass(frozen=True)
class Scope:
    """Which children a list may show: relationships the policy grants for the list action."""

    relationships: frozenset[str]
    schools: frozenset[str]
    assigned: frozenset[str]

    @property
    def broadest(self) -> str:
        for name in ("municipality", "same_school", "assigned_case"):
            if name in self.relationships:
                return name
        return "none"

    def covers(self, person_id: str, school_code: str | None) -> bool:
        if "municipality" in self.relationships:
            return True
        if "same_school" in self.relationships and school_code is not None and school_code in self.schools:
            return True
        return "assigned_case" in self.relationships and person_id in self.assigned

    def relationship_to(self, person_id: str, school_code: str | None) -> str:
        if person_id in self.assigned:
            return "assigned_case"
        if school_code is not None and school_code in self.schools:
            return "same_school"
        return "municipality" if "municipality" in self.relationships else "none"


def list_scope(
    session: Session, subject: Subject, action: str, purpose: str, *, sensitivity: int = 2,
    key: Ed25519PrivateKey | None = None,
) -> tuple[Scope, Decision]:
    """The children ``subject`` may see in a list, decided and recorded once.

    A relationship is usable when the policy allows the action under it; municipality only
    for centre-wide roles and same_school only with a school organisation, as ``relationship``
    would give them child by child. Raises Refused (recorded) when no relationship is usable.
    """
    schools = frozenset(organisation_schools(subject.organisation))
    candidates = ["assigned_case"]
    if schools:
        candidates.append("same_school")
    policy = policy_of(session)
    if is_centre_wide(policy, subject.role):
        candidates.append("municipality")
    usable = frozenset(r for r in candidates
                       if policy.allows(subject, action, purpose, relationship=r, sensitivity=sensitivity))
    scope = Scope(usable, schools, frozenset(assigned_persons(session, subject.user_id)) if usable else frozenset())
    decision = authorise(session, subject, action, purpose, relationship=scope.broadest, sensitivity=sensitivity,
                         key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    return scope, decision


def record_listed(
    session: Session, subject: Subject, decision: Decision, action: str, purpose: str, person_ids: Sequence[str],
    *, key: Ed25519PrivateKey | None = None, items: Sequence[str] = (),
) -> None:
    """One audit entry per child shown, so each family's access history names the list view."""
    at = datetime.now(UTC)
    for person_id in person_ids:
        append(session, AuditEvent.from_decision(subject, decision, action, purpose, person_id=person_id,
                                                 items=items, at=at), key=key)


def authorise_any(
    session: Session, subject: Subject, actions: Sequence[str], purpose: str, *,
    key: Ed25519PrivateKey | None = None,
) -> Decision:
    """For views several system actions may open (e.g. sources: stewards load, administrators manage).

    The first action the policy allows is decided and recorded; if none is allowed the first is
    recorded as refused and Refused is raised. One entry either way.
    """
    chosen = next((a for a in actions if policy_of(session).allows(subject, a, purpose)), actions[0])
    decision = authorise(session, subject, chosen, purpose, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    return decision

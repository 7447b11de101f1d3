"""ケースの状況と担当: 未確認 → 確認中 → 支援中 → 見守り → 終結, with owner, team and history.

The status moves by an explicit change with a reason, and with the work already recorded: a
second-stage review opens the case (確認中), an active plan means 支援中, closing the last plan
ends it (終結). Those moves happen inside the review's or plan's own authorised transaction
(``on_review`` and friends) and are kept in the history as automatic.

Owning a case gives the owner the ``assigned_case`` relationship (a ``case_assignments`` row the
case remembers), ended when the case is transferred, so a 児相 or SSW colleague given a case can
open it and a former owner stops seeing it through the case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.privacy.policy import Policy, policy_of
from tsunagu.work.access import guard, relationship
from tsunagu.work.cases.models import Case, CaseEvent
from tsunagu.work.errors import Invalid
from tsunagu.work.models import CaseAssignment, SupportPlan, User
from tsunagu.work.notes import seal, unseal

STATUSES = ("未確認", "確認中", "支援中", "見守り", "終結")
UNCHECKED, CHECKING, SUPPORTING, WATCHING, CLOSED = STATUSES
OPEN_STATUSES = (CHECKING, SUPPORTING, WATCHING)
MIN_REASON_CHARS = 5
# Case status and owner tell that a body knows the child: sensitivity 2 (as a domain other than abuse).
STATUS_SENSITIVITY = 2
EVENT_LABELS = {"status": "状況の変更", "assign": "担当の割当・引継ぎ", "auto": "記録にともなう変更",
                "ledger": "進行管理台帳"}


@dataclass(frozen=True)
class CaseEventView:
    at: datetime
    actor_name: str
    kind_label: str
    from_status: str | None
    to_status: str | None
    from_owner_name: str
    to_owner_name: str
    reason: str | None  # None: the reader may not see free text


@dataclass(frozen=True)
class CaseView:
    person_id: str
    status: str
    owner: str | None
    owner_name: str
    team: str
    opened_at: datetime | None
    known: bool  # a body has taken the child up (any status but 未確認)
    history: tuple[CaseEventView, ...]


def names(session: Session, user_ids: Iterable[str | None] | None = None) -> dict[str, str]:
    """Display names of accounts (staff, never children): pages show people, not user ids."""
    stmt = select(User.user_id, User.display_name)
    wanted = None if user_ids is None else {u for u in user_ids if u}
    if wanted is not None:
        if not wanted:
            return {}
        stmt = stmt.where(User.user_id.in_(wanted))
    return {uid: name for uid, name in session.execute(stmt).all()}


def can_own_cases(policy: Policy, role: str) -> bool:
    """A role some rule lets write cases (not the administrator, privacy officer or data steward)."""
    return any(role in rule.roles and "case.write" in rule.actions for rule in policy.spec.rules)


def case_handlers(session: Session) -> list[tuple[str, str]]:
    """(user id, name and role) of active accounts that may be given a case."""
    policy = policy_of(session)
    rows = session.execute(select(User.user_id, User.display_name, User.role).where(User.disabled.is_(False))
                           .order_by(User.display_name)).all()
    return [(uid, f"{name}（{policy.role(role).label}）") for uid, name, role in rows if can_own_cases(policy, role)]


def team_of(policy: Policy, user: User) -> str:
    departments = policy.catalog.departments
    if user.organisation in departments:
        return departments[user.organisation].name
    return policy.role(user.role).label


def get_case(session: Session, person_id: str) -> Case | None:
    return session.scalars(select(Case).where(Case.person_id == person_id)).first()


def _ensure(session: Session, person_id: str) -> Case:
    found = get_case(session, person_id)
    if found is not None:
        return found
    now = datetime.now(UTC)
    row = Case(person_id=person_id, status=UNCHECKED, owner=None, team="", assignment_id=None, opened_at=now,
               updated_at=now)
    session.add(row)
    session.flush()
    return row


def _event(session: Session, case: Case, actor: str, kind: str, *, to_status: str | None = None,
           to_owner: str | None = None, reason: str = "", cipher: NoteCipher) -> None:
    session.add(CaseEvent(
        person_id=case.person_id, at=datetime.now(UTC), actor=actor, kind=kind,
        from_status=case.status if to_status is not None else None, to_status=to_status,
        from_owner=case.owner if kind == "assign" else None, to_owner=to_owner, reason_enc=seal(cipher, reason),
    ))


def _move(session: Session, subject: Subject, case: Case, status: str, reason: str, cipher: NoteCipher,
          kind: str) -> None:
    _event(session, case, subject.user_id, kind, to_status=status, reason=reason, cipher=cipher)
    case.status, case.updated_at = status, datetime.now(UTC)
    session.flush()


def _active_plans(session: Session, person_id: str) -> int:
    return len(list(session.scalars(select(SupportPlan.id).where(
        SupportPlan.person_id == person_id, SupportPlan.status == "active"))))


def change_status(
    session: Session, subject: Subject, purpose: str, person_id: str, *, status: str, reason: str,
    cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> CaseView:
    """An explicit change with its reason (``case.write``)."""
    guard(session, subject, "case.write", purpose, person_id, sensitivity=STATUS_SENSITIVITY, key=key)
    if status not in STATUSES:
        raise Invalid(f"状況は {'・'.join(STATUSES)} のいずれかです。", field="status")
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise Invalid(f"変更の理由を{MIN_REASON_CHARS}文字以上で書いてください。", field="reason")
    case = _ensure(session, person_id)
    if case.status == status:
        raise Invalid(f"すでに「{status}」です。", field="status")
    if status == CLOSED and _active_plans(session, person_id):
        raise Invalid("支援中の支援方針があります。支援方針を終結してから、ケースを終結してください。", field="status")
    _move(session, subject, case, status, reason, cipher, "status")
    return case_view(session, person_id, cipher, notes=True)


def assign_owner(
    session: Session, subject: Subject, purpose: str, person_id: str, *, owner: str, team: str = "", reason: str = "",
    cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> CaseView:
    """Give the case to ``owner`` (assignment, or transfer when it had one) — ``case.write``.

    Only an account whose role may handle cases can own one; the owner gets ``assigned_case``
    through the case, and a previous owner's case assignment ends.
    """
    guard(session, subject, "case.write", purpose, person_id, sensitivity=STATUS_SENSITIVITY, key=key)
    user = session.get(User, owner)
    if user is None or user.disabled:
        raise Invalid("担当者を選んでください（有効な利用者ではありません）。", field="owner")
    policy = policy_of(session)
    if not can_own_cases(policy, user.role):
        raise Invalid(f"{user.display_name}さんの役割（{policy.role(user.role).label}）はケースを担当できません。", field="owner")
    case = _ensure(session, person_id)
    if case.owner == owner and (not team.strip() or team.strip() == case.team):
        raise Invalid(f"すでに{user.display_name}さんの担当です。", field="owner")
    if case.owner is not None and len(reason.strip()) < MIN_REASON_CHARS:
        raise Invalid(f"引継ぎの理由を{MIN_REASON_CHARS}文字以上で書いてください。", field="reason")
    now = datetime.now(UTC)
    if case.assignment_id is not None and case.owner != owner:
        previous = session.get(CaseAssignment, case.assignment_id)
        if previous is not None and previous.ended_at is None:
            previous.ended_at = now
        case.assignment_id = None
    if case.assignment_id is None:
        held = session.scalars(select(CaseAssignment).where(
            CaseAssignment.user_id == owner, CaseAssignment.person_id == person_id,
            CaseAssignment.ended_at.is_(None))).first()
        if held is None:  # an assignment made otherwise (a class, an administrator's) is left alone
            row = CaseAssignment(user_id=owner, person_id=person_id, assigned_at=now, assigned_by=subject.user_id)
            session.add(row)
            session.flush()
            case.assignment_id = row.id
    _event(session, case, subject.user_id, "assign", to_owner=owner, reason=reason, cipher=cipher)
    case.owner, case.team, case.updated_at = owner, team.strip() or team_of(policy, user), now
    session.flush()
    return case_view(session, person_id, cipher, notes=True)


def read_case(
    session: Session, subject: Subject, purpose: str, person_id: str, *, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None, items: Sequence[str] = (),
) -> CaseView:
    """The case with its history (``case.read``); reasons only for roles that may read free text (3).

    ``items``: what else the page shows with it (the child's name from the registry), recorded together.
    """
    guard(session, subject, "case.read", purpose, person_id, items=items, sensitivity=STATUS_SENSITIVITY, key=key)
    notes = policy_of(session).allows(subject, "case.read", purpose, relationship=relationship(session, subject, person_id),
                   sensitivity=3)
    return case_view(session, person_id, cipher, notes=notes)


def case_view(session: Session, person_id: str, cipher: NoteCipher, *, notes: bool) -> CaseView:
    """The case as stored (callers have guarded the read)."""
    case = get_case(session, person_id)
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.person_id == person_id)
                                  .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())))
    who = names(session, [e.actor for e in events] + [e.from_owner for e in events] + [e.to_owner for e in events]
                + [case.owner if case else None])
    history = tuple(CaseEventView(
        e.at, who.get(e.actor, "（システム）"), EVENT_LABELS.get(e.kind, "その他"), e.from_status, e.to_status,
        who.get(e.from_owner or "", ""), who.get(e.to_owner or "", ""),
        unseal(cipher, e.reason_enc) if notes else None,
    ) for e in events)
    if case is None:
        return CaseView(person_id, UNCHECKED, None, "", "", None, False, history)
    return CaseView(person_id, case.status, case.owner, who.get(case.owner or "", ""), case.team, case.opened_at,
                    case.status != UNCHECKED, history)


# --- moves that follow the work already recorded (inside its authorised transaction) ------------

def _auto(session: Session, subject: Subject, person_id: str, status: str, reason: str, cipher: NoteCipher,
          when: Iterable[str]) -> None:
    case = _ensure(session, person_id)
    if case.status in when:
        _move(session, subject, case, status, reason, cipher, "auto")


def on_review(session: Session, subject: Subject, person_id: str, cipher: NoteCipher) -> None:
    """A recorded second-stage review opens the case (or reopens a closed one)."""
    _auto(session, subject, person_id, CHECKING, "二次アセスメントを記録", cipher, (UNCHECKED, CLOSED))


def on_plan(session: Session, subject: Subject, person_id: str, cipher: NoteCipher) -> None:
    _auto(session, subject, person_id, SUPPORTING, "支援方針を作成", cipher, (UNCHECKED, CHECKING, WATCHING, CLOSED))


def on_plan_closed(session: Session, subject: Subject, person_id: str, cipher: NoteCipher) -> None:
    """Closing the last active plan closes the case (a remaining plan keeps it 支援中)."""
    if not _active_plans(session, person_id):
        _auto(session, subject, person_id, CLOSED, "支援方針を終結", cipher, (SUPPORTING,))


def statuses(session: Session) -> dict[str, tuple[str, str | None]]:
    """person id -> (status, owner) of every case (a few hundred rows: the candidate list joins in memory)."""
    return {pid: (status, owner) for pid, status, owner in
            session.execute(select(Case.person_id, Case.status, Case.owner)).all()}

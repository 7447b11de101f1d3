"""担当の割当: which user works with which child — what makes the policy's ``assigned_case``.

A teacher's class is expressed the same way (the policy's assigned_case for a teacher is "my
class"): the school's roster assigns its pupils to the class teacher. Assigning is account
administration (``users.manage``) and is recorded against the child, so the family's access
history shows who was given access to their child's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import Subject, authorise
from tsunagu.work.access import latest_result, organisation_schools
from tsunagu.work.errors import Invalid, Refused
from tsunagu.work.models import CaseAssignment, User

# A teacher's assignment is their class: pupils of their own school only (the school of the child's
# latest screening result, the hub's enrolment — as ``work.access.relationship`` uses it).
SCHOOL_BOUND_ROLES = frozenset({"teacher"})


@dataclass(frozen=True)
class AssignmentView:
    id: int
    user_id: str
    person_id: str
    assigned_at: datetime
    assigned_by: str


def _manage(session: Session, subject: Subject, person_id: str, key: Ed25519PrivateKey | None) -> None:
    decision = authorise(session, subject, "users.manage", "administration", person_id=person_id, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


def assign(session: Session, subject: Subject, user_id: str, person_id: str, *,
           key: Ed25519PrivateKey | None = None) -> AssignmentView:
    _manage(session, subject, person_id, key)
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise Invalid(f"利用者 {user_id} はいないか、無効です。", field="user_id")
    if user.role in SCHOOL_BOUND_ROLES:
        result = latest_result(session, person_id)
        if result is None or result.school_code not in organisation_schools(user.organisation):
            raise Invalid(f"利用者 {user_id} の学校（{user.organisation}）に在籍している子どもではないため、担当にできません。"
                          "担任の学級は自校の児童生徒だけです。", field="person_id")
    existing = session.scalars(select(CaseAssignment).where(
        CaseAssignment.user_id == user_id, CaseAssignment.person_id == person_id,
        CaseAssignment.ended_at.is_(None))).first()
    row = existing or CaseAssignment(user_id=user_id, person_id=person_id, assigned_at=datetime.now(UTC),
                                     assigned_by=subject.user_id)
    session.add(row)
    session.flush()
    return AssignmentView(row.id, row.user_id, row.person_id, row.assigned_at, row.assigned_by)


def unassign(session: Session, subject: Subject, user_id: str, person_id: str, *,
             key: Ed25519PrivateKey | None = None) -> int:
    _manage(session, subject, person_id, key)
    rows = list(session.scalars(select(CaseAssignment).where(
        CaseAssignment.user_id == user_id, CaseAssignment.person_id == person_id,
        CaseAssignment.ended_at.is_(None))))
    for row in rows:
        row.ended_at = datetime.now(UTC)
    session.flush()
    return len(rows)

"""The case section of a child's page: status, owner, team, 要対協 registration and record counts.

Offered only to roles the policy lets read cases under their relationship to the child (a pure
check first, so a teacher's page view records no refused case read); the read itself is decided
and recorded by ``read_case``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.privacy.policy import policy_of
from tsunagu.work.access import guard
from tsunagu.work.cases.ledger import LEDGER_SENSITIVITY, entry_of
from tsunagu.work.cases.models import CaseContact, CaseMeeting
from tsunagu.work.cases.status import STATUS_SENSITIVITY, CaseView, read_case


@dataclass(frozen=True)
class CasePanel:
    case: CaseView
    may_write: bool
    ledger_category: str | None  # None: not registered, or not visible to the reader
    ledger_next: date | None
    contacts: int
    meetings: int

    @property
    def ledger_overdue(self) -> bool:
        return self.ledger_next is not None and self.ledger_next < datetime.now(UTC).date()


def case_panel(
    session: Session, subject: Subject, purpose: str, person_id: str, relationship: str, *, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> CasePanel | None:
    if not policy_of(session).allows(subject, "case.read", purpose, relationship=relationship, sensitivity=STATUS_SENSITIVITY):
        return None
    case = read_case(session, subject, purpose, person_id, cipher=cipher, key=key)
    category, due, contacts, meetings = None, None, 0, 0
    if policy_of(session).allows(subject, "case.read", purpose, relationship=relationship, sensitivity=LEDGER_SENSITIVITY):
        guard(session, subject, "case.read", purpose, person_id, sensitivity=LEDGER_SENSITIVITY, key=key)
        entry = entry_of(session, person_id)
        if entry is not None and entry.closed_on is None:
            category, due = entry.category, entry.next_review_on
        contacts = int(session.scalar(select(func.count()).select_from(CaseContact)
                                      .where(CaseContact.person_id == person_id)) or 0)
        meetings = int(session.scalar(select(func.count()).select_from(CaseMeeting)
                                      .where(CaseMeeting.person_id == person_id)) or 0)
    may_write = policy_of(session).allows(subject, "case.write", "support_coordination", relationship=relationship,
                       sensitivity=STATUS_SENSITIVITY)
    return CasePanel(case, may_write, category, due, contacts, meetings)

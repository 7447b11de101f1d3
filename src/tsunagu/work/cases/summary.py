"""The case summary for a meeting (ケース概要) and the 実務者会議 agenda, as data for the PDFs.

Printing is its own action (``case.print`` for one child, ``ledger.print`` for the agenda): a
printed copy leaves the system, so each print is decided and recorded, naming the child (for the
agenda, each child on it) and the resident-registry record its name came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.vault.node import Node
from tsunagu.work.access import guard, latest_result
from tsunagu.work.cases.ledger import LedgerRow, entry_of, ledger
from tsunagu.work.cases.names import NAME_ITEM, NO_NAME, Identity, identities
from tsunagu.work.cases.records import ContactView, MeetingView, contacts_of, meetings_of
from tsunagu.work.cases.status import CaseView, case_view, names
from tsunagu.work.models import SupportPlan
from tsunagu.work.plans import PlanView, plans_of


@dataclass
class CaseSummary:
    identity: Identity
    case: CaseView
    tier: str | None
    school_code: str | None
    grade: int | None
    ledger_category: str | None
    ledger_lead: str | None
    ledger_next: date | None
    plans: list[PlanView]
    contacts: list[ContactView]
    meetings: list[MeetingView]
    printed_by: str
    printed_at: datetime
    people: dict[str, str] = field(default_factory=dict)


def case_summary(
    session: Session, subject: Subject, purpose: str, person_id: str, *, nodes: Mapping[str, Node],
    cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> CaseSummary:
    guard(session, subject, "case.print", purpose, person_id, items=(NAME_ITEM,), sensitivity=3,
          key=key)
    identity = identities(session, subject, purpose, [person_id], nodes).get(person_id, Identity(NO_NAME, "", ""))
    result = latest_result(session, person_id)
    entry = entry_of(session, person_id)
    open_entry = entry is not None and entry.closed_on is None
    plans = plans_of(session, person_id, cipher, notes=True)
    creators = [p.created_by for p in plans] + [f.owner for p in plans for f in p.follow_ups]
    return CaseSummary(
        identity, case_view(session, person_id, cipher, notes=True),
        result.tier if result else None, result.school_code if result else None, result.grade if result else None,
        entry.category if entry and open_entry else None, entry.lead_agency if entry and open_entry else None,
        entry.next_review_on if entry and open_entry else None,
        plans, contacts_of(session, person_id, cipher), meetings_of(session, person_id, cipher),
        names(session, [subject.user_id]).get(subject.user_id, ""), datetime.now(UTC), names(session, creators),
    )


@dataclass(frozen=True)
class AgendaRow:
    row: LedgerRow
    identity: Identity
    active_plans: int


def agenda(
    session: Session, subject: Subject, purpose: str, meeting_on: date, *, nodes: Mapping[str, Node],
    key: Ed25519PrivateKey | None = None,
) -> list[AgendaRow]:
    """The open entries due by ``meeting_on`` (``ledger.print``: one entry per child printed)."""
    rows = ledger(session, subject, purpose, due_by=meeting_on, action="ledger.print", key=key, nodes=nodes)
    ids = {r.person_id: Identity(r.name, "", r.birth_date) for r in rows if r.name}
    plans = {pid for pid in session.scalars(select(SupportPlan.person_id).where(
        SupportPlan.status == "active", SupportPlan.person_id.in_([r.person_id for r in rows])))}
    return [AgendaRow(r, ids.get(r.person_id, Identity(NO_NAME, "", "")), int(r.person_id in plans)) for r in rows]

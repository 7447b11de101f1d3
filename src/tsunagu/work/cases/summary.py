"""The case summary for a meeting (ケース概要) and the 実務者会議 agenda, as data for the PDFs.

Printing is its own action (``case.print`` for one child, ``ledger.print`` for the agenda): a
printed copy leaves the system, so each print is decided and recorded, naming the child (for the
agenda, each child on it) and the resident-registry record its name came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.link.models import PersonLink
from tsunagu.privacy import NoteCipher, Subject
from tsunagu.privacy.records import record_item
from tsunagu.vault.node import Node, NodeRequest
from tsunagu.work.access import guard, latest_result
from tsunagu.work.cases.ledger import LedgerRow, entry_of, ledger
from tsunagu.work.cases.records import ContactView, MeetingView, contacts_of, meetings_of
from tsunagu.work.cases.status import CaseView, case_view, names
from tsunagu.work.models import SupportPlan
from tsunagu.work.plans import PlanView, plans_of

SPINE = "juki_jumin"
REGISTRY = "resident_registry"
NAME_FIELDS = ("full_name", "reading", "birth_date")
NO_NAME = "（氏名を取得できません）"


@dataclass(frozen=True)
class Identity:
    name: str
    reading: str
    birth_date: str


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


def identities(session: Session, subject: Subject, purpose: str, person_ids: Sequence[str],
               nodes: Mapping[str, Node]) -> dict[str, Identity]:
    """Names from the resident registry's node, which applies its own release rules to the role."""
    links = dict(session.execute(select(PersonLink.person_id, PersonLink.local_id).where(
        PersonLink.person_id.in_(list(person_ids)), PersonLink.source == SPINE)).all())
    node = nodes.get(REGISTRY)
    if node is None or not links:
        return {}
    request = NodeRequest(requester=subject.user_id, role=subject.role, purpose=purpose, fields=NAME_FIELDS)
    try:
        frame = node.identifiers(request, local_ids=[(SPINE, local) for local in links.values()]).data
    except Exception:  # refused or down: the printout says the name could not be had, it does not fail
        return {}
    by_local = {str(r["local_id"]): r for r in frame.iter_rows(named=True)}
    found = {}
    for pid, local in links.items():
        row = by_local.get(local)
        if row is not None:
            birth = row.get("birth_date")
            found[pid] = Identity(str(row.get("full_name") or ""), str(row.get("reading") or ""),
                                  birth.isoformat() if isinstance(birth, date) else str(birth or ""))
    return found


def case_summary(
    session: Session, subject: Subject, purpose: str, person_id: str, *, nodes: Mapping[str, Node],
    cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> CaseSummary:
    guard(session, subject, "case.print", purpose, person_id, items=(record_item(REGISTRY, SPINE),), sensitivity=3,
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
    rows = ledger(session, subject, purpose, due_by=meeting_on, action="ledger.print", key=key)
    ids = identities(session, subject, purpose, [r.person_id for r in rows], nodes)
    plans = {pid for pid in session.scalars(select(SupportPlan.person_id).where(
        SupportPlan.status == "active", SupportPlan.person_id.in_([r.person_id for r in rows])))}
    return [AgendaRow(r, ids.get(r.person_id, Identity(NO_NAME, "", "")), int(r.person_id in plans)) for r in rows]

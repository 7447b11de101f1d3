"""The case records a package carries (``legal.yaml``: case_history, contacts, meetings, ledger).

Each section is a list of rows of one shape — the day, what happened, and the record's free text
(``None`` in a 情報提供, which carries no free text) — so the page and the PDF show them alike.
Staff are never named (a case's owner, a contact's staff member, a meeting's people): the receiver
learns which agencies were involved and calls the package's contact person.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher
from tsunagu.work.cases.models import Case, CaseContact, CaseEvent, CaseMeeting, LedgerEntry
from tsunagu.work.cases.records import CONTACT_KINDS
from tsunagu.work.cases.status import EVENT_LABELS
from tsunagu.work.notes import unseal

CASE_SECTIONS = ("case_history", "contacts", "meetings", "ledger")
# What the audit entry of a package names for these sections (they are hub records, not catalogue items).
RECORD_ITEMS = {"case_history": "case:history", "contacts": "case:contacts", "meetings": "case:meetings",
                "ledger": "case:ledger"}

Row = dict[str, Any]


def _row(day: Any, what: str, detail: str | None) -> Row:
    return {"date": day.date().isoformat() if hasattr(day, "date") else day.isoformat(), "what": what,
            "detail": detail}


def case_history(session: Session, person_id: str, cipher: NoteCipher, free_text: bool) -> list[Row]:
    """Each change of status (and the owner's, without names), oldest first; the status now last."""
    rows: list[Row] = []
    for event in session.scalars(select(CaseEvent).where(CaseEvent.person_id == person_id).order_by(CaseEvent.at)):
        change = EVENT_LABELS.get(event.kind, event.kind)
        if event.to_status:
            change += f": {event.from_status or '（なし）'} → {event.to_status}"
        elif event.to_owner is not None:
            change += "（担当者の変更）"
        rows.append(_row(event.at, change, unseal(cipher, event.reason_enc) or None if free_text else None))
    case = session.scalars(select(Case).where(Case.person_id == person_id)).first()
    if case is not None:
        rows.append(_row(case.updated_at, f"現在の状況: {case.status}（開始 {case.opened_at.date().isoformat()}）", None))
    return rows


def contacts(session: Session, person_id: str, cipher: NoteCipher) -> list[Row]:
    found = session.scalars(select(CaseContact).where(CaseContact.person_id == person_id)
                            .order_by(CaseContact.contact_on, CaseContact.id))
    return [_row(c.contact_on, f"{CONTACT_KINDS.get(c.kind, c.kind)}（相手: {cipher.decrypt(c.counterpart_enc)}）",
                 cipher.decrypt(c.summary_enc)) for c in found]


def meetings(session: Session, person_id: str, cipher: NoteCipher) -> list[Row]:
    rows = []
    for m in session.scalars(select(CaseMeeting).where(CaseMeeting.person_id == person_id)
                             .order_by(CaseMeeting.held_on, CaseMeeting.id)):
        agencies = "、".join(f"{a['agency']}（{a['role']}）" if a.get("role") else str(a["agency"])
                            for a in json.loads(cipher.decrypt(m.attendees_enc)))
        review = f"、次回見直し {m.next_review_on.isoformat()}" if m.next_review_on else ""
        rows.append(_row(m.held_on, f"出席機関: {agencies}{review}", cipher.decrypt(m.decisions_enc)))
    return rows


def ledger(session: Session, person_id: str) -> list[Row]:
    entry = session.scalars(select(LedgerEntry).where(LedgerEntry.person_id == person_id)).first()
    if entry is None:
        return []
    closed = f"、終結 {entry.closed_on.isoformat()}" if entry.closed_on else "（登録中）"
    return [_row(entry.registered_on, f"登録: {entry.category}、主担当機関 {entry.lead_agency}",
                 None), _row(entry.last_reviewed_on, f"最終の進行管理: 次回 {entry.next_review_on.isoformat()}{closed}",
                             None)]


def section(name: str, session: Session, person_id: str, cipher: NoteCipher, free_text: bool) -> list[Row]:
    """One case section of a package (the kind's ``free_text`` decides whether reasons travel)."""
    if name == "case_history":
        return case_history(session, person_id, cipher, free_text)
    if name == "contacts":
        return contacts(session, person_id, cipher) if free_text else []
    if name == "meetings":
        return meetings(session, person_id, cipher) if free_text else []
    return ledger(session, person_id)

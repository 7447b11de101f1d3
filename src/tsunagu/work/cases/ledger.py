"""進行管理台帳: the children registered with the 要保護児童対策地域協議会 (要対協).

The national guidance (要保護児童対策地域協議会設置・運営指針) asks the coordinating body to review
every registered case at the 実務者会議 at least once every three months. So every entry carries
its next review date, never more than three months after the last review; an entry past it is
overdue, and the list for a 実務者会議 is every open entry due by the meeting's date.

Registration says the child is 要保護・要支援 or a 特定妊婦: sensitivity 3 throughout.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.vault.node import Node
from tsunagu.work.access import guard, list_scope, record_listed, suspended_persons
from tsunagu.work.cases.models import CaseEvent, LedgerEntry
from tsunagu.work.cases.names import NAME_ITEM, identities
from tsunagu.work.cases.status import UNCHECKED, names, statuses
from tsunagu.work.cases.worklists import latest_schools_and_tiers
from tsunagu.work.errors import Invalid
from tsunagu.work.notes import seal

CATEGORIES = ("要保護児童", "要支援児童", "特定妊婦")
REVIEW_MONTHS = 3
LEDGER_SENSITIVITY = 3


@dataclass(frozen=True)
class LedgerRow:
    person_id: str
    category: str
    lead_agency: str
    registered_on: date
    last_reviewed_on: date
    next_review_on: date
    closed_on: date | None
    case_status: str
    owner_name: str
    overdue: bool
    school_code: str | None
    name: str = ""  # from the resident registry, when the page asked for names
    birth_date: str = ""


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (11-30 + 3 months is 02-28 or 02-29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest_review_date(reviewed_on: date) -> date:
    return add_months(reviewed_on, REVIEW_MONTHS)


def _check_next(reviewed_on: date, next_review_on: date | None) -> date:
    limit = latest_review_date(reviewed_on)
    if next_review_on is None:
        return limit
    if next_review_on <= reviewed_on:
        raise Invalid("次回の確認日は確認した日より後の日付にしてください。", field="next_review_on")
    if next_review_on > limit:
        raise Invalid(f"進行管理は少なくとも3か月に1回です。次回の確認日は {limit.isoformat()} までにしてください。", field="next_review_on")
    return next_review_on


def _log(session: Session, subject: Subject, person_id: str, text: str, cipher: NoteCipher) -> None:
    session.add(CaseEvent(person_id=person_id, at=datetime.now(UTC), actor=subject.user_id, kind="ledger",
                          from_status=None, to_status=None, from_owner=None, to_owner=None,
                          reason_enc=seal(cipher, text)))


def entry_of(session: Session, person_id: str) -> LedgerEntry | None:
    return session.scalars(select(LedgerEntry).where(LedgerEntry.person_id == person_id)).first()


def register(
    session: Session, subject: Subject, purpose: str, person_id: str, *, category: str, lead_agency: str,
    registered_on: date, next_review_on: date | None, cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
) -> LedgerEntry:
    """Register the child with the 要対協 (``case.write``); a closed entry is registered again."""
    guard(session, subject, "case.write", purpose, person_id, sensitivity=LEDGER_SENSITIVITY, key=key)
    if category not in CATEGORIES:
        raise Invalid(f"登録の種別は {'・'.join(CATEGORIES)} のいずれかです。", field="category")
    if not lead_agency.strip():
        raise Invalid("主担当機関を入力してください。", field="lead_agency")
    due = _check_next(registered_on, next_review_on)
    row = entry_of(session, person_id)
    if row is not None and row.closed_on is None:
        raise Invalid("この子どもは進行管理台帳に登録されています。")
    now = datetime.now(UTC)
    if row is None:
        row = LedgerEntry(person_id=person_id)
        session.add(row)
    row.category, row.lead_agency, row.registered_on = category, lead_agency.strip(), registered_on
    row.last_reviewed_on, row.next_review_on, row.closed_on = registered_on, due, None
    row.updated_by, row.updated_at = subject.user_id, now
    _log(session, subject, person_id, f"進行管理台帳に登録（{category}、主担当機関: {lead_agency.strip()}）", cipher)
    session.flush()
    return row


def review(
    session: Session, subject: Subject, purpose: str, person_id: str, *, reviewed_on: date,
    next_review_on: date | None, lead_agency: str = "", close: bool = False, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> LedgerEntry:
    """Record a 進行管理 review (at a 実務者会議): the next date, a new lead agency, or the end of registration."""
    guard(session, subject, "case.write", purpose, person_id, sensitivity=LEDGER_SENSITIVITY, key=key)
    row = entry_of(session, person_id)
    if row is None or row.closed_on is not None:
        raise Invalid("この子どもは進行管理台帳に登録されていません。")
    if reviewed_on < row.last_reviewed_on:
        raise Invalid("確認した日が前回の確認より前です。", field="reviewed_on")
    if reviewed_on > datetime.now(UTC).date():
        raise Invalid("確認した日に未来の日付は入力できません。", field="reviewed_on")
    row.last_reviewed_on = reviewed_on
    if close:
        row.closed_on = reviewed_on
        text = "進行管理を終了（台帳から終結）"
    else:
        row.next_review_on = _check_next(reviewed_on, next_review_on)
        text = f"進行管理の確認（次回 {row.next_review_on.isoformat()}）"
    if lead_agency.strip() and lead_agency.strip() != row.lead_agency:
        text += f"、主担当機関を {row.lead_agency} から {lead_agency.strip()} に変更"
        row.lead_agency = lead_agency.strip()
    row.updated_by, row.updated_at = subject.user_id, datetime.now(UTC)
    _log(session, subject, person_id, text, cipher)
    session.flush()
    return row


def read_entry(session: Session, subject: Subject, purpose: str, person_id: str, *,
               key: Ed25519PrivateKey | None = None) -> LedgerEntry | None:
    guard(session, subject, "case.read", purpose, person_id, sensitivity=LEDGER_SENSITIVITY, key=key)
    return entry_of(session, person_id)


def ledger(
    session: Session, subject: Subject, purpose: str, *, due_by: date | None = None, include_closed: bool = False,
    today: date | None = None, action: str = "case.list", key: Ed25519PrivateKey | None = None,
    nodes: Mapping[str, Node] | None = None,
) -> list[LedgerRow]:
    """The ledger in the user's scope (overdue first, then by next review date), each child recorded.

    ``due_by``: only open entries due by that day — the list for the 実務者会議 held on it.
    """
    scope, decision = list_scope(session, subject, action, purpose, sensitivity=LEDGER_SENSITIVITY, key=key)
    day = today or datetime.now(UTC).date()
    hidden = suspended_persons(session)
    query = select(LedgerEntry).order_by(LedgerEntry.next_review_on, LedgerEntry.person_id)
    if not include_closed or due_by is not None:
        query = query.where(LedgerEntry.closed_on.is_(None))
    if due_by is not None:
        query = query.where(LedgerEntry.next_review_on <= due_by)
    cases = statuses(session)
    rows: list[LedgerRow] = []
    entries = list(session.scalars(query))
    latest = latest_schools_and_tiers(session, (e.person_id for e in entries))
    for entry in entries:
        if entry.person_id in hidden:
            continue
        school = latest.get(entry.person_id, (None, None))[0]
        if not scope.covers(entry.person_id, school):
            continue
        status, owner = cases.get(entry.person_id, (UNCHECKED, None))
        rows.append(LedgerRow(entry.person_id, entry.category, entry.lead_agency, entry.registered_on,
                              entry.last_reviewed_on, entry.next_review_on, entry.closed_on, status, owner or "",
                              entry.closed_on is None and entry.next_review_on < day, school))
    who = names(session, [r.owner_name for r in rows])
    named = identities(session, subject, purpose, [r.person_id for r in rows], nodes) if nodes is not None else {}
    rows = [LedgerRow(**{**r.__dict__, "owner_name": who.get(r.owner_name, ""),
                         "name": named[r.person_id].name if r.person_id in named else "",
                         "birth_date": named[r.person_id].birth_date if r.person_id in named else ""}) for r in rows]
    rows.sort(key=lambda r: (r.closed_on is not None, not r.overdue, r.next_review_on, r.person_id))
    record_listed(session, subject, decision, action, purpose, [r.person_id for r in rows], key=key,
                  items=(NAME_ITEM,) if named else ())
    return rows

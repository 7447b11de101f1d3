"""Which children's case records have outlived their period (``hub_retention.yaml``: case_records).

A child's case records — the case with its history of status and owner, the contact log, the
個別ケース検討会議 records and the 進行管理台帳 entry — expire together, never one table before the
others: a meeting record without the case it belongs to, or a ledger entry without its history,
would be worse than either. They expire when nothing is open (the case is 終結 or there is none,
the ledger entry is closed or there is none), the last of them is older than the period, and the
child is past ``until_age`` (児童相談所運営指針: a 児童記録票 is kept until the child is 25). The hub
holds no birth dates; the age is the latest screening result's (its age on its run's day). A child
with no result left (a family long gone, whose results have expired too) is counted by years alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.screen.runs.models import ScreeningResult, ScreeningRun
from tsunagu.work.cases.models import Case, CaseContact, CaseEvent, CaseMeeting, LedgerEntry
from tsunagu.work.cases.status import CLOSED

_DAYS_PER_YEAR = 365.2425


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite returns stored moments without their zone; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _last_activity(session: Session) -> dict[str, datetime]:
    """Per child: the latest day of any of its case records (a case's own last change included)."""
    last: dict[str, datetime] = {}

    def see(person: str, moment: datetime | None) -> None:
        if moment is not None:
            moment = _aware(moment)
            last[person] = max(last.get(person, moment), moment)

    for person, at in session.execute(select(Case.person_id, Case.updated_at)):
        see(person, at)
    for person, at in session.execute(select(CaseEvent.person_id, func.max(CaseEvent.at)).group_by(CaseEvent.person_id)):
        see(person, at)
    for person, on in session.execute(select(CaseContact.person_id, func.max(CaseContact.contact_on))
                                      .group_by(CaseContact.person_id)):
        see(person, _moment(on) if on is not None else None)
    for person, on in session.execute(select(CaseMeeting.person_id, func.max(CaseMeeting.held_on))
                                      .group_by(CaseMeeting.person_id)):
        see(person, _moment(on) if on is not None else None)
    for person, updated, closed in session.execute(select(LedgerEntry.person_id, LedgerEntry.updated_at,
                                                          LedgerEntry.closed_on)):
        see(person, updated)
        see(person, _moment(closed) if closed is not None else None)
    return last


def _open(session: Session) -> set[str]:
    """Children with a case not closed or a ledger entry still registered: never expired."""
    cases = session.scalars(select(Case.person_id).where(Case.status != CLOSED))
    ledger = session.scalars(select(LedgerEntry.person_id).where(LedgerEntry.closed_on.is_(None)))
    return {*cases, *ledger}


def _reaches_age(session: Session, persons: set[str], age: int) -> dict[str, date]:
    """The day each child (whose age the hub knows) reaches ``age``, from its latest screening result."""
    rows = session.execute(
        select(ScreeningResult.person_id, ScreeningResult.age, ScreeningRun.as_of)
        .join(ScreeningRun, ScreeningRun.run_id == ScreeningResult.run_id)
        .where(ScreeningResult.person_id.in_(sorted(persons)), ScreeningResult.age.is_not(None))
        .order_by(ScreeningRun.as_of))
    return {person: as_of + timedelta(days=round((age - known) * _DAYS_PER_YEAR))
            for person, known, as_of in rows if known is not None}


def plan_cases(session: Session, before: datetime, today: date, until_age: int | None) -> dict[str, list[int]]:
    """Ids of the case records (table → ids) whose child's records have all outlived the period."""
    last = _last_activity(session)
    expired = {person for person, moment in last.items() if moment < before} - _open(session)
    if until_age is not None and expired:
        reaches = _reaches_age(session, expired, until_age)
        expired = {person for person in expired if reaches.get(person, date.min) <= today}
    people = sorted(expired)
    return {
        "case_events": sorted(session.scalars(select(CaseEvent.id).where(CaseEvent.person_id.in_(people)))),
        "case_contacts": sorted(session.scalars(select(CaseContact.id).where(CaseContact.person_id.in_(people)))),
        "case_meetings": sorted(session.scalars(select(CaseMeeting.id).where(CaseMeeting.person_id.in_(people)))),
        "ledger_entries": sorted(session.scalars(select(LedgerEntry.id).where(LedgerEntry.person_id.in_(people)))),
        "cases": sorted(session.scalars(select(Case.id).where(Case.person_id.in_(people)))),
    }

"""連絡記録 and 個別ケース検討会議: what was done with whom, and what the agencies agreed.

Both are free text about a child and its family (sensitivity 3): written and read under
``case.write`` / ``case.read`` and sealed with the NoteCipher. A meeting lists each attending
agency with the people who came and the role the agency took on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject
from tsunagu.work.access import guard
from tsunagu.work.cases.models import CaseContact, CaseMeeting
from tsunagu.work.cases.status import names
from tsunagu.work.errors import Invalid
from tsunagu.work.models import User

CONTACT_KINDS = {"phone": "電話", "interview": "面談", "home_visit": "家庭訪問", "agency": "関係機関連絡"}
RECORD_SENSITIVITY = 3
MAX_TEXT = 4000
# The meeting form's attendee rows as one field (a refusal about them is shown beside the rows).
ATTENDEES = "attendees"


@dataclass(frozen=True)
class ContactView:
    id: int
    contact_on: date
    kind: str
    kind_label: str
    staff_name: str
    counterpart: str
    summary: str


@dataclass(frozen=True)
class Attendee:
    agency: str
    people: str
    role: str


@dataclass(frozen=True)
class MeetingView:
    id: int
    held_on: date
    attendees: tuple[Attendee, ...]
    decisions: str
    next_review_on: date | None
    created_by_name: str


def _text(value: str, label: str, field: str, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise Invalid(f"{label}を入力してください。", field=field)
    if len(text) > MAX_TEXT:
        raise Invalid(f"{label}は{MAX_TEXT}文字以内で入力してください。", field=field)
    return text


def _not_future(day: date, label: str, field: str, today: date | None) -> None:
    if day > (today or datetime.now(UTC).date()):
        raise Invalid(f"{label}に未来の日付は入力できません。", field=field)


def record_contact(
    session: Session, subject: Subject, purpose: str, person_id: str, *, contact_on: date, kind: str, staff: str,
    counterpart: str, summary: str, cipher: NoteCipher, key: Ed25519PrivateKey | None = None,
    today: date | None = None,
) -> ContactView:
    guard(session, subject, "case.write", purpose, person_id, sensitivity=RECORD_SENSITIVITY, key=key)
    if kind not in CONTACT_KINDS:
        raise Invalid(f"種別は {'・'.join(CONTACT_KINDS.values())} のいずれかです。", field="kind")
    _not_future(contact_on, "連絡日", "contact_on", today)
    user = session.get(User, staff)
    if user is None or user.disabled:
        raise Invalid("対応した職員を選んでください。", field="staff")
    row = CaseContact(
        person_id=person_id, contact_on=contact_on, kind=kind, staff=staff,
        counterpart_enc=cipher.encrypt(_text(counterpart, "相手", "counterpart")),
        summary_enc=cipher.encrypt(_text(summary, "内容", "summary")),
        created_by=subject.user_id, created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return _contact(row, {staff: user.display_name}, cipher)


def parse_attendees(lines: Sequence[tuple[str, str, str]]) -> tuple[Attendee, ...]:
    """(agency, people, role) rows as the form sends them; blank rows are skipped, a role needs an agency."""
    found = []
    for agency, people, role in lines:
        agency, people, role = agency.strip(), people.strip(), role.strip()
        if not (agency or people or role):
            continue
        if not agency:
            raise Invalid("出席者の行には機関名を入力してください。", field=ATTENDEES)
        found.append(Attendee(agency, people, role))
    if len(found) < 2:
        raise Invalid("個別ケース検討会議には2つ以上の機関の出席を記録してください。", field=ATTENDEES)
    return tuple(found)


def record_meeting(
    session: Session, subject: Subject, purpose: str, person_id: str, *, held_on: date,
    attendees: Sequence[Attendee], decisions: str, next_review_on: date | None, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None, today: date | None = None,
) -> MeetingView:
    guard(session, subject, "case.write", purpose, person_id, sensitivity=RECORD_SENSITIVITY, key=key)
    _not_future(held_on, "開催日", "held_on", today)
    if len(attendees) < 2:
        raise Invalid("個別ケース検討会議には2つ以上の機関の出席を記録してください。", field=ATTENDEES)
    text = _text(decisions, "決定事項", "decisions")
    if next_review_on is not None and next_review_on <= held_on:
        raise Invalid("次回の見直し日は開催日より後の日付にしてください。", field="next_review_on")
    blob = json.dumps([{"agency": a.agency, "people": a.people, "role": a.role} for a in attendees], ensure_ascii=False)
    row = CaseMeeting(person_id=person_id, held_on=held_on, attendees_enc=cipher.encrypt(blob),
                      decisions_enc=cipher.encrypt(text), next_review_on=next_review_on, created_by=subject.user_id,
                      created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return _meeting(row, names(session, [subject.user_id]), cipher)


def _contact(row: CaseContact, who: dict[str, str], cipher: NoteCipher) -> ContactView:
    return ContactView(row.id, row.contact_on, row.kind, CONTACT_KINDS.get(row.kind, row.kind),
                       who.get(row.staff, ""), cipher.decrypt(row.counterpart_enc), cipher.decrypt(row.summary_enc))


def _meeting(row: CaseMeeting, who: dict[str, str], cipher: NoteCipher) -> MeetingView:
    attendees = tuple(Attendee(a["agency"], a["people"], a["role"]) for a in json.loads(cipher.decrypt(row.attendees_enc)))
    return MeetingView(row.id, row.held_on, attendees, cipher.decrypt(row.decisions_enc), row.next_review_on,
                       who.get(row.created_by, ""))


def contacts_of(session: Session, person_id: str, cipher: NoteCipher) -> list[ContactView]:
    """Newest first. Callers have guarded the read at sensitivity 3."""
    rows = list(session.scalars(select(CaseContact).where(CaseContact.person_id == person_id)
                                .order_by(CaseContact.contact_on.desc(), CaseContact.id.desc())))
    who = names(session, [r.staff for r in rows])
    return [_contact(r, who, cipher) for r in rows]


def meetings_of(session: Session, person_id: str, cipher: NoteCipher) -> list[MeetingView]:
    rows = list(session.scalars(select(CaseMeeting).where(CaseMeeting.person_id == person_id)
                                .order_by(CaseMeeting.held_on.desc(), CaseMeeting.id.desc())))
    who = names(session, [r.created_by for r in rows])
    return [_meeting(r, who, cipher) for r in rows]


def read_records(
    session: Session, subject: Subject, purpose: str, person_id: str, *, cipher: NoteCipher,
    key: Ed25519PrivateKey | None = None,
) -> tuple[list[ContactView], list[MeetingView]]:
    """The contact log and the meetings (``case.read`` at sensitivity 3)."""
    guard(session, subject, "case.read", purpose, person_id, sensitivity=RECORD_SENSITIVITY, key=key)
    return contacts_of(session, person_id, cipher), meetings_of(session, person_id, cipher)

"""The case the 児童相談所 and the こども家庭センター both hold: one view, recorded acts, receipts.

One status, one lead agency, the latest safety check (目視確認) either side recorded, the next
planned contact, and messages — the same rows for both sides, so both see the same status. A
hand-up (centre → 児相, 送致) or a hand-back (児相 → centre, 送致 / 指導委託) is a recorded act; it is
not done until the other side records its receipt (the lesson of the 目黒 and 野田 cases: a file
sent is not a hand-over). A hand-up opens an intake on the 児相's list at once, with its
safety-check due time counted from the hand-up. The other agency's intake details (concern,
reporter) stay with that agency; the shared view shows what both may see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import NoteCipher, Subject, authorise
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.notes import seal, unseal
from tsunagu.work.urgency.intake import AGENCY_LABELS, agency_of, assess_intake
from tsunagu.work.urgency.items import default_items
from tsunagu.work.urgency.models import Assessment, Intake, SharedAct, SharedCase

STATUSES = ("調査中", "一時保護中", "在宅支援", "指導委託中", "施設入所・里親委託", "終結")
HAND_KINDS = {"hand_up": ("送致",), "hand_back": ("送致", "指導委託")}
KIND_LABELS = {"message": "連絡", "status": "状況の変更", "hand_up": "送致（センター→児相）",
               "hand_back": "送致・指導委託（児相→センター）"}
OTHER = {"cgc": "centre", "centre": "cgc"}
SENSITIVITY = 3


def _allow(session: Session, subject: Subject, action: str, person_id: str | None,
           key: Ed25519PrivateKey | None) -> str:
    """Both agencies hold a shared case: their staff act under own_agency; anyone else is refused."""
    agency = agency_of(subject)
    decision = authorise(session, subject, action, "support_coordination", person_id=person_id,
                         relationship="own_agency" if agency else "none", sensitivity=SENSITIVITY, key=key)
    if not decision.allowed or agency is None:
        raise Refused(decision.reason, decision)
    return agency


@dataclass(frozen=True)
class SharedView:
    id: int
    person_id: str
    lead_agency: str
    lead_label: str
    status: str
    next_contact_on: date | None
    next_contact_by: str | None
    latest_check: datetime | None
    latest_check_by: str | None
    acts: list[dict[str, Any]]
    pending_for_me: list[int]  # hand-overs waiting for the viewer's agency to acknowledge
    updated_at: datetime


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _case(session: Session, case_id: int) -> SharedCase:
    found = session.get(SharedCase, case_id)
    if found is None:
        raise NotFound(f"共有ケース {case_id} はありません。")
    return found


def _view(session: Session, case: SharedCase, agency: str, cipher: NoteCipher) -> SharedView:
    check = session.scalars(select(Intake).where(Intake.person_id == case.person_id,
                                                 Intake.safety_checked_at.is_not(None))
                            .order_by(Intake.safety_checked_at.desc()).limit(1)).first()
    acts = list(session.scalars(select(SharedAct).where(SharedAct.case_id == case.id).order_by(SharedAct.id)))
    return SharedView(
        case.id, case.person_id, case.lead_agency, AGENCY_LABELS[case.lead_agency], case.status,
        case.next_contact_on, AGENCY_LABELS.get(case.next_contact_by or "", None),
        _aware(check.safety_checked_at) if check else None, AGENCY_LABELS[check.agency] if check else None,
        [{"id": a.id, "at": _aware(a.at), "kind": a.kind, "label": KIND_LABELS[a.kind], "detail": a.detail,
          "from": AGENCY_LABELS[a.from_agency], "to": AGENCY_LABELS[a.to_agency], "actor": a.actor,
          "note": unseal(cipher, a.note_enc), "intake_id": a.intake_id if a.to_agency == agency else None,
          "received_at": _aware(a.received_at), "received_by": a.received_by,
          "needs_receipt": a.kind in HAND_KINDS} for a in acts],
        [a.id for a in acts if a.kind in HAND_KINDS and a.to_agency == agency and a.received_at is None],
        _aware(case.updated_at) or datetime.now(UTC),
    )


def open_case(session: Session, subject: Subject, person_id: str, *, status: str, cipher: NoteCipher,
              key: Ed25519PrivateKey | None = None) -> SharedView:
    """Open (or return) the one shared case of a child; the opening agency leads until a hand-over."""
    agency = _allow(session, subject, "shared.write", person_id, key)
    if status not in STATUSES:
        raise Invalid(f"状況は {'・'.join(STATUSES)} のいずれかです。")
    existing = session.scalars(select(SharedCase).where(SharedCase.person_id == person_id,
                                                        SharedCase.status != "終結")).first()
    if existing is not None:
        return _view(session, existing, agency, cipher)
    now = datetime.now(UTC)
    case = SharedCase(person_id=person_id, lead_agency=agency, status=status, created_by=subject.user_id,
                      created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    return _view(session, case, agency, cipher)


def get_case(session: Session, subject: Subject, case_id: int, *, cipher: NoteCipher,
             key: Ed25519PrivateKey | None = None) -> SharedView:
    case = _case(session, case_id)
    agency = _allow(session, subject, "shared.read", case.person_id, key)
    return _view(session, case, agency, cipher)


def list_cases(session: Session, subject: Subject, *, cipher: NoteCipher,
               key: Ed25519PrivateKey | None = None) -> list[SharedView]:
    agency = _allow(session, subject, "shared.list", None, key)
    views = []
    for case in session.scalars(select(SharedCase).order_by(SharedCase.updated_at.desc())):
        _allow(session, subject, "shared.list", case.person_id, key)  # one entry per child listed
        views.append(_view(session, case, agency, cipher))
    return views


def _act(session: Session, case: SharedCase, kind: str, agency: str, subject: Subject, *, note: str, detail: str = "",
         cipher: NoteCipher, intake_id: int | None = None) -> SharedAct:
    now = datetime.now(UTC)
    act = SharedAct(case_id=case.id, at=now, kind=kind, detail=detail, from_agency=agency, to_agency=OTHER[agency],
                    actor=subject.user_id, note_enc=seal(cipher, note), intake_id=intake_id)
    session.add(act)
    case.updated_at = now
    session.flush()
    return act


def send_message(session: Session, subject: Subject, case_id: int, *, note: str, cipher: NoteCipher,
                 key: Ed25519PrivateKey | None = None) -> SharedView:
    case = _case(session, case_id)
    agency = _allow(session, subject, "shared.write", case.person_id, key)
    if not note.strip():
        raise Invalid("連絡の内容を入力してください。")
    _act(session, case, "message", agency, subject, note=note, cipher=cipher)
    return _view(session, case, agency, cipher)


def set_status(session: Session, subject: Subject, case_id: int, *, status: str, next_contact_on: date | None,
               note: str, cipher: NoteCipher, key: Ed25519PrivateKey | None = None) -> SharedView:
    """Only the lead agency changes the status and the next contact (the other side sends a message)."""
    case = _case(session, case_id)
    agency = _allow(session, subject, "shared.write", case.person_id, key)
    if agency != case.lead_agency:
        raise Invalid(f"状況を変えられるのは主担当機関（{AGENCY_LABELS[case.lead_agency]}）です。連絡で伝えてください。")
    if status not in STATUSES:
        raise Invalid(f"状況は {'・'.join(STATUSES)} のいずれかです。")
    case.status, case.next_contact_on, case.next_contact_by = status, next_contact_on, agency
    _act(session, case, "status", agency, subject, note=note, detail=status, cipher=cipher)
    return _view(session, case, agency, cipher)


def hand_over(session: Session, subject: Subject, case_id: int, *, kind: str, detail: str, note: str,
              cipher: NoteCipher, hours: int, key: Ed25519PrivateKey | None = None) -> SharedView:
    """送致 up (centre → 児相) or back (児相 → centre, 送致 / 指導委託): recorded, waiting for its receipt."""
    case = _case(session, case_id)
    agency = _allow(session, subject, "shared.write", case.person_id, key)
    expected = "hand_up" if agency == "centre" else "hand_back"
    if kind != expected:
        raise Invalid("センターからは送致（児相へ）、児相からは送致・指導委託（センターへ）を記録します。")
    if detail not in HAND_KINDS[kind]:
        raise Invalid(f"種類は {'・'.join(HAND_KINDS[kind])} のいずれかです。")
    if len(note.strip()) < 10:
        raise Invalid("送致の理由と経過を10文字以上で書いてください。")
    intake_id = None
    if kind == "hand_up":
        intake_id = _intake_for_cgc(session, case, subject, note, cipher, hours)
    _act(session, case, kind, agency, subject, note=note, detail=detail, cipher=cipher, intake_id=intake_id)
    return _view(session, case, agency, cipher)


def _intake_for_cgc(session: Session, case: SharedCase, subject: Subject, note: str, cipher: NoteCipher,
                    hours: int) -> int:
    """The 児相's intake for a hand-up: on its list at once, due time counted from the hand-up, the
    child's latest grades carried over (re-assessed by the 児相's own rules and estimate)."""
    latest = session.scalars(select(Intake).where(Intake.person_id == case.person_id)
                             .order_by(Intake.received_at.desc()).limit(1)).first()
    now = datetime.now(UTC)
    intake = Intake(agency="cgc", organisation=subject.organisation, received_at=now,
                    reporter_kind="こども家庭センター", reporter_note_enc=None, person_id=case.person_id,
                    child_name_enc=None, child_birth=latest.child_birth if latest else None,
                    concern_enc=seal(cipher, f"こども家庭センターからの送致: {note}") or b"",
                    due_at=now + timedelta(hours=hours), due_hours=hours, status="open", supervisor=None,
                    created_by=subject.user_id, created_at=now)
    session.add(intake)
    session.flush()
    grades: dict[str, str] = {}
    if latest is not None:
        last = session.scalars(select(Assessment).where(Assessment.intake_id == latest.id)
                               .order_by(Assessment.id.desc()).limit(1)).first()
        grades = json.loads(last.grades_json) if last else {}
    assess_intake(session, intake, grades, "intake", subject, default_items())
    return intake.id


def acknowledge(session: Session, subject: Subject, case_id: int, act_id: int, *, cipher: NoteCipher,
                key: Ed25519PrivateKey | None = None) -> SharedView:
    """受領: the receiving agency records that it received the hand-over; the lead agency changes."""
    case = _case(session, case_id)
    agency = _allow(session, subject, "shared.write", case.person_id, key)
    act = session.get(SharedAct, act_id)
    if act is None or act.case_id != case.id or act.kind not in HAND_KINDS:
        raise NotFound(f"共有ケース {case_id} に送致 {act_id} はありません。")
    if act.to_agency != agency:
        raise Invalid("受領を記録できるのは送致を受けた機関です。")
    if act.received_at is None:
        act.received_at, act.received_by = datetime.now(UTC), subject.user_id
        case.lead_agency = agency
        case.status = "調査中" if act.kind == "hand_up" else ("指導委託中" if act.detail == "指導委託" else "在宅支援")
        case.updated_at = act.received_at
        session.flush()
    return _view(session, case, agency, cipher)

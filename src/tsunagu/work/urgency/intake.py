"""Report intake (通告・相談受理): record, assess, decide, check safety, re-assess — each through the policy.

Every intake gets a due time for the direct safety check (目視確認) at 受理 + the 48-hour rule
(or the municipality's shorter setting), whatever its level; an intake past due without a check
is escalated to the supervisor (a recorded event). The hard rules' floor and the estimate are
stored with every assessment; a decision below the floor, or against the estimate's whole
interval, cannot be saved without a reason (kept encrypted, the act audited).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.privacy import Decision, NoteCipher, Subject, authorise
from tsunagu.work.access import guard, is_assigned
from tsunagu.work.errors import Invalid, NotFound, Refused
from tsunagu.work.notes import seal, unseal
from tsunagu.work.urgency.estimate import REPORTER_KINDS, CaseInput
from tsunagu.work.urgency.items import ItemSet, default_items
from tsunagu.work.urgency.models import Assessment, Intake, IntakeEvent
from tsunagu.work.urgency.rules import HIGH, LEVEL_ORDER, OPEN, URGENT, InvalidGrades, evaluate
from tsunagu.work.urgency.versions import estimate_for
from tsunagu.yamlstrict import load_model

AGENCIES = {"child_guidance_caseworker": "cgc", "centre_caseworker": "centre"}
AGENCY_LABELS = {"cgc": "児童相談所", "centre": "こども家庭センター"}
DECISION_LEVELS = {URGENT: URGENT, HIGH: HIGH, "通常": "通常"}
DECISION_RANK = {URGENT: 2, HIGH: 1, "通常": 0}
MIN_REASON_CHARS = 10
SENSITIVITY = 3


class HomeUrgency(BaseModel):
    """``HOME/urgency.yaml``: the municipality's own (shorter) safety-check period."""

    model_config = ConfigDict(extra="forbid")
    safety_check_hours: Annotated[int, Field(ge=1, le=48)]
    reference: str = Field(min_length=1)


def safety_hours(home: Path | None, items: ItemSet | None = None) -> int:
    items = items or default_items()
    hours = items.safety_check.hours
    path = home / "urgency.yaml" if home is not None else None
    if path is not None and path.exists():
        hours = min(hours, load_model(path, HomeUrgency).safety_check_hours)
    return hours


def agency_of(subject: Subject) -> str | None:
    return AGENCIES.get(subject.role)


def relationship_to(session: Session, subject: Subject, intake: Intake) -> str:
    if agency_of(subject) == intake.agency:
        return "own_agency"
    if intake.person_id is not None and is_assigned(session, subject.user_id, intake.person_id):
        return "assigned_case"
    return "none"


def _decide(session: Session, subject: Subject, action: str, intake: Intake, key: Ed25519PrivateKey | None) -> None:
    if intake.person_id is not None:
        # break-glass grants are per child: guard honours them; own_agency is checked first
        if relationship_to(session, subject, intake) == "own_agency":
            decision = authorise(session, subject, action, "assessment", person_id=intake.person_id,
                                 relationship="own_agency", sensitivity=SENSITIVITY, key=key)
            if not decision.allowed:
                raise Refused(decision.reason, decision)
            return
        guard(session, subject, action, "assessment", intake.person_id, sensitivity=SENSITIVITY, key=key)
        return
    decision = authorise(session, subject, action, "assessment", relationship=relationship_to(session, subject, intake),
                         sensitivity=SENSITIVITY, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)


@dataclass(frozen=True)
class IntakeForm:
    received_at: datetime
    reporter_kind: str
    concern: str
    grades: Mapping[str, str]
    person_id: str | None = None
    child_name: str = ""
    child_birth: date | None = None
    reporter_note: str = ""
    supervisor: str | None = None


@dataclass(frozen=True)
class AssessmentView:
    id: int
    at: datetime
    trigger: str
    grades: dict[str, str]
    hard_level: str
    hard: dict[str, Any]
    estimate: dict[str, Any]
    decision_level: str | None
    decision_protect: bool | None
    differs: bool
    reason: str
    author: str


@dataclass(frozen=True)
class IntakeView:
    id: int
    agency: str
    agency_label: str
    received_at: datetime
    reporter_kind: str
    reporter_note: str
    person_id: str | None
    child_name: str
    child_birth: date | None
    concern: str
    due_at: datetime
    due_hours: int
    status: str
    safety_checked_at: datetime | None
    supervisor: str | None
    escalated_at: datetime | None
    created_by: str
    assessments: list[AssessmentView] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def latest(self) -> AssessmentView | None:
        return self.assessments[0] if self.assessments else None

    def due_state(self, now: datetime) -> str:
        if self.status == "checked":
            return "確認済み"
        return "期限超過" if now > self.due_at else "期限内"


def age_on(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _with_age(grades: Mapping[str, str], birth: date | None, on: date) -> dict[str, str]:
    """The 3歳未満 item follows from the birth date when it is known (never asked twice)."""
    full = dict(grades)
    age = age_on(birth, on)
    if age is not None:
        full["under_three"] = "yes" if age < 3 else "no"
    return full


def assess_intake(session: Session, intake: Intake, grades: Mapping[str, str], trigger: str, subject: Subject,
            items: ItemSet) -> Assessment:
    full = _with_age(grades, intake.child_birth, intake.received_at.date())
    try:
        hard = evaluate(full, items)
    except InvalidGrades as exc:
        raise Invalid(str(exc)) from exc
    case = CaseInput(full, age_on(intake.child_birth, intake.received_at.date()), intake.reporter_kind)
    estimate = estimate_for(session, case, items=items)
    row = Assessment(
        intake_id=intake.id, at=datetime.now(UTC), trigger=trigger, grades_json=json.dumps(full, ensure_ascii=False),
        items_version=items.version, hard_level=hard.level,
        hard_json=json.dumps({"triggers": [t.__dict__ for t in hard.triggers],
                              "unknown_critical": list(hard.unknown_critical)}, ensure_ascii=False),
        estimate_json=json.dumps(estimate, ensure_ascii=False), author=subject.user_id, author_role=subject.role,
    )
    session.add(row)
    session.flush()
    return row


def record_intake(session: Session, subject: Subject, form: IntakeForm, *, cipher: NoteCipher, hours: int,
                  items: ItemSet | None = None, key: Ed25519PrivateKey | None = None) -> IntakeView:
    """受理: policy action ``intake.write`` for the subject's own agency."""
    items = items or default_items()
    agency = agency_of(subject)
    decision: Decision = authorise(session, subject, "intake.write", "assessment", person_id=form.person_id,
                                   relationship="own_agency" if agency else "none", sensitivity=SENSITIVITY, key=key)
    if not decision.allowed or agency is None:
        raise Refused(decision.reason, decision)
    if form.reporter_kind not in REPORTER_KINDS:
        raise Invalid(f"通告者の区分は {'・'.join(REPORTER_KINDS)} のいずれかです。")
    if not form.concern.strip():
        raise Invalid("通告・相談の内容を入力してください。")
    if form.person_id is None and not form.child_name.strip():
        raise Invalid("子どもを検索して選ぶか、氏名（分かる範囲）を入力してください。")
    received = _utc(form.received_at)  # stored in UTC: SQLite keeps no offset
    intake = Intake(
        agency=agency, organisation=subject.organisation, received_at=received, reporter_kind=form.reporter_kind,
        reporter_note_enc=seal(cipher, form.reporter_note), person_id=form.person_id,
        child_name_enc=seal(cipher, form.child_name), child_birth=form.child_birth, concern_enc=seal(cipher, form.concern)
        or b"", due_at=received + timedelta(hours=hours), due_hours=hours, status="open",
        supervisor=(form.supervisor or "").strip() or None, created_by=subject.user_id, created_at=datetime.now(UTC),
    )
    session.add(intake)
    session.flush()
    assess_intake(session, intake, form.grades, "intake", subject, items)
    return _view(session, intake, cipher)


def _intake(session: Session, intake_id: int) -> Intake:
    intake = session.get(Intake, intake_id)
    if intake is None:
        raise NotFound(f"受理 {intake_id} はありません。")
    return intake


def get_intake(session: Session, subject: Subject, intake_id: int, *, cipher: NoteCipher,
               key: Ed25519PrivateKey | None = None) -> IntakeView:
    intake = _intake(session, intake_id)
    _decide(session, subject, "intake.read", intake, key)
    return _view(session, intake, cipher)


def differs_from(latest: AssessmentView, level: str, protect: bool, items: ItemSet) -> list[str]:
    """Why a decision needs a reason: below the rules' floor, or against the estimate's whole interval."""
    why = []
    floor = LEVEL_ORDER[latest.hard_level]
    if DECISION_RANK[level] < floor:
        why.append(f"ハードルールの区分（{latest.hard_level}）より低い対応区分です")
    model = latest.estimate.get("model") if latest.estimate.get("available") else None
    if model is not None:
        at = items.estimate.differs_at
        if not protect and model["low"] >= at:
            why.append(f"似た過去事例の多く（推定 {model['low']:.0%}〜{model['high']:.0%}）が一時保護に至っています")
        if protect and model["high"] < at and latest.hard_level != URGENT:
            why.append(f"似た過去事例で一時保護に至ったのは少数（推定 {model['low']:.0%}〜{model['high']:.0%}）です")
    return why


def decide(session: Session, subject: Subject, intake_id: int, *, level: str, protect: bool, reason: str,
           cipher: NoteCipher, items: ItemSet | None = None, key: Ed25519PrivateKey | None = None) -> IntakeView:
    """The staff decision, as a new assessment row; a reason is required where it differs."""
    items = items or default_items()
    intake = _intake(session, intake_id)
    _decide(session, subject, "intake.write", intake, key)
    if level not in DECISION_LEVELS:
        raise Invalid(f"対応区分は {'・'.join(DECISION_LEVELS)} のいずれかです。", field="level")
    latest = _view(session, intake, cipher).latest
    if latest is None:
        raise Invalid("アセスメントがまだありません。")
    why = differs_from(latest, level, protect, items)
    if why and len(reason.strip()) < MIN_REASON_CHARS:
        raise Invalid(f"{'。'.join(why)}。この判断には理由を{MIN_REASON_CHARS}文字以上で書いてください。", field="reason")
    source = session.get(Assessment, latest.id)
    assert source is not None
    session.add(Assessment(
        intake_id=intake.id, at=datetime.now(UTC), trigger="decision", grades_json=source.grades_json,
        items_version=source.items_version, hard_level=source.hard_level, hard_json=source.hard_json,
        estimate_json=source.estimate_json, decision_level=level, decision_protect=protect, differs=bool(why),
        reason_enc=seal(cipher, reason), author=subject.user_id, author_role=subject.role,
    ))
    session.flush()
    return _view(session, intake, cipher)


def add_information(session: Session, subject: Subject, intake_id: int, *, grades: Mapping[str, str], note: str,
                    cipher: NoteCipher, items: ItemSet | None = None,
                    key: Ed25519PrivateKey | None = None) -> IntakeView:
    """New information: the changed grades over the latest, re-assessed (rules and estimate run again)."""
    items = items or default_items()
    intake = _intake(session, intake_id)
    _decide(session, subject, "intake.write", intake, key)
    if not note.strip():
        raise Invalid("新たな情報の内容を入力してください。", field="note")
    latest = _view(session, intake, cipher).latest
    merged = {**(latest.grades if latest else {}), **{k: v for k, v in grades.items() if v}}
    assess_intake(session, intake, merged, "new_information", subject, items)
    session.add(IntakeEvent(intake_id=intake.id, at=datetime.now(UTC), kind="new_information", actor=subject.user_id,
                            note_enc=seal(cipher, note)))
    session.flush()
    return _view(session, intake, cipher)


def record_safety_check(session: Session, subject: Subject, intake_id: int, *, seen_at: datetime, note: str,
                        cipher: NoteCipher, key: Ed25519PrivateKey | None = None) -> IntakeView:
    """目視確認: the child seen directly; the intake leaves the due list."""
    intake = _intake(session, intake_id)
    _decide(session, subject, "intake.write", intake, key)
    if not note.strip():
        raise Invalid("確認した内容（誰が・どこで・子どもの様子）を入力してください。", field="note")
    seen = _utc(seen_at)
    if seen < _aware(intake.received_at):
        raise Invalid("確認日時が受理より前です。", field="seen_at")
    intake.status, intake.safety_checked_at = "checked", seen
    session.add(IntakeEvent(intake_id=intake.id, at=seen, kind="safety_check", actor=subject.user_id,
                            note_enc=seal(cipher, note)))
    session.flush()
    return _view(session, intake, cipher)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return _aware(moment).astimezone(UTC)


def escalate_overdue(session: Session, now: datetime) -> list[int]:
    """Escalate every open intake past its due time, once: a recorded event naming the supervisor."""
    now = _utc(now)
    escalated = []
    for intake in session.scalars(select(Intake).where(Intake.status == "open", Intake.escalated_at.is_(None))):
        if _aware(intake.due_at) < now:
            intake.escalated_at = now
            session.add(IntakeEvent(intake_id=intake.id, at=now, kind="escalation", actor="system", note_enc=None))
            escalated.append(intake.id)
    session.flush()
    return escalated


@dataclass(frozen=True)
class DueRow:
    intake: IntakeView
    state: str
    hours_left: float
    level: str


def due_list(session: Session, subject: Subject, now: datetime, *, cipher: NoteCipher, include_checked: bool = False,
             key: Ed25519PrivateKey | None = None) -> list[DueRow]:
    """The subject's agency's intakes by due time (and those escalated to the subject), each read recorded."""
    agency = agency_of(subject)
    decision = authorise(session, subject, "intake.list", "assessment", relationship="own_agency" if agency else "none",
                         sensitivity=SENSITIVITY, key=key)
    if not decision.allowed:
        raise Refused(decision.reason, decision)
    stmt = select(Intake).where((Intake.agency == agency) | (Intake.supervisor == subject.user_id))
    if not include_checked:
        stmt = stmt.where(Intake.status == "open")
    rows = []
    for intake in session.scalars(stmt.order_by(Intake.due_at)):
        view = _view(session, intake, cipher)
        if intake.person_id is not None:
            authorise(session, subject, "intake.list", "assessment", person_id=intake.person_id,
                      relationship="own_agency", sensitivity=SENSITIVITY, key=key)
        level = view.latest.hard_level if view.latest else OPEN
        rows.append(DueRow(view, view.due_state(now), (_aware(view.due_at) - now).total_seconds() / 3600, level))
    return rows


def _assessment_view(row: Assessment, cipher: NoteCipher) -> AssessmentView:
    return AssessmentView(row.id, row.at, row.trigger, json.loads(row.grades_json), row.hard_level,
                          json.loads(row.hard_json), json.loads(row.estimate_json), row.decision_level,
                          row.decision_protect, row.differs, unseal(cipher, row.reason_enc), row.author)


def _view(session: Session, intake: Intake, cipher: NoteCipher) -> IntakeView:
    assessments = session.scalars(select(Assessment).where(Assessment.intake_id == intake.id)
                                  .order_by(Assessment.id.desc()))
    events = session.scalars(select(IntakeEvent).where(IntakeEvent.intake_id == intake.id).order_by(IntakeEvent.id))
    return IntakeView(
        intake.id, intake.agency, AGENCY_LABELS.get(intake.agency, intake.agency), _aware(intake.received_at),
        intake.reporter_kind, unseal(cipher, intake.reporter_note_enc), intake.person_id,
        unseal(cipher, intake.child_name_enc), intake.child_birth, unseal(cipher, intake.concern_enc),
        _aware(intake.due_at), intake.due_hours, intake.status,
        _aware(intake.safety_checked_at) if intake.safety_checked_at else None, intake.supervisor,
        _aware(intake.escalated_at) if intake.escalated_at else None, intake.created_by,
        [_assessment_view(a, cipher) for a in assessments],
        [{"at": _aware(e.at), "kind": e.kind, "actor": e.actor, "note": unseal(cipher, e.note_enc)} for e in events],
    )


def latest_decisions(views: Sequence[IntakeView]) -> dict[int, AssessmentView | None]:
    return {v.id: next((a for a in v.assessments if a.decision_level is not None), None) for v in views}

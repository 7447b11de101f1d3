"""Hub tables of report intake (通告・相談受理) and the urgency aid.

Free text about a child or a reporter (the concern, the reporter's note, the name of a child not
yet linked, reasons, notes of safety checks) is stored only as NoteCipher blobs (``*_enc``).
Past cases are anonymised: a case number, the graded items, the decision and the outcome.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class Intake(Base):
    """受理: one report or consultation about one child, by the 児相 (cgc) or the こども家庭センター (centre)."""

    __tablename__ = "cgc_intakes"
    __table_args__ = (Index("ix_cgc_intakes_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(12))  # cgc / centre
    organisation: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reporter_kind: Mapped[str] = mapped_column(String(40))
    reporter_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    person_id: Mapped[str | None] = mapped_column(String(20), index=True)  # None: not linked yet
    child_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    child_birth: Mapped[date | None] = mapped_column(Date)
    concern_enc: Mapped[bytes] = mapped_column(LargeBinary)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_hours: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / checked
    safety_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supervisor: Mapped[str | None] = mapped_column(String(64))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Assessment(Base):
    """One assessment of an intake: the grades, the rules' floor, the estimate and the staff decision."""

    __tablename__ = "cgc_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intake_id: Mapped[int] = mapped_column(Integer, ForeignKey("cgc_intakes.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(20))  # intake / new_information
    grades_json: Mapped[str] = mapped_column(Text)
    items_version: Mapped[str] = mapped_column(String(40))
    hard_level: Mapped[str] = mapped_column(String(12))
    hard_json: Mapped[str] = mapped_column(Text)
    estimate_json: Mapped[str] = mapped_column(Text)  # "{}" when no model was in force
    decision_level: Mapped[str | None] = mapped_column(String(12))
    decision_protect: Mapped[bool | None] = mapped_column(Boolean)
    differs: Mapped[bool] = mapped_column(Boolean, default=False)
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    author: Mapped[str] = mapped_column(String(64))
    author_role: Mapped[str] = mapped_column(String(64))


class IntakeEvent(Base):
    """What happened to an intake: safety check (目視確認), new information, escalation to the supervisor."""

    __tablename__ = "cgc_intake_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intake_id: Mapped[int] = mapped_column(Integer, ForeignKey("cgc_intakes.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))  # safety_check / new_information / escalation
    actor: Mapped[str] = mapped_column(String(64))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class PastCase(Base):
    """An anonymised past intake of the child guidance centre: what the urgency aid learns from."""

    __tablename__ = "cgc_past_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    age_years: Mapped[int | None] = mapped_column(Integer)
    reporter_kind: Mapped[str] = mapped_column(String(40))
    grades_json: Mapped[str] = mapped_column(Text)
    protected: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(40))
    groups_json: Mapped[str] = mapped_column(Text)  # attributes error rates are reported by, never model inputs
    loaded_from: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UrgencyModel(Base):
    """One version of the estimate: coefficients, validation on held-out cases and its model card."""

    __tablename__ = "urgency_models"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    cutoff: Mapped[date] = mapped_column(Date)
    in_force: Mapped[bool] = mapped_column(Boolean, default=False)
    model_json: Mapped[str] = mapped_column(Text)
    metrics_json: Mapped[str] = mapped_column(Text)
    card_json: Mapped[str] = mapped_column(Text)


class SharedCase(Base):
    """A child both the 児童相談所 and the こども家庭センター hold: one status, one lead agency."""

    __tablename__ = "cgc_shared_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    lead_agency: Mapped[str] = mapped_column(String(12))  # cgc / centre
    status: Mapped[str] = mapped_column(String(20))
    next_contact_on: Mapped[date | None] = mapped_column(Date)
    next_contact_by: Mapped[str | None] = mapped_column(String(12))  # the agency that will make it
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SharedAct(Base):
    """What one side did on a shared case: a message, a status change, a hand-up or hand-back (with
    its receipt: ``received_at`` / ``received_by`` once the other side acknowledged it)."""

    __tablename__ = "cgc_shared_acts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, ForeignKey("cgc_shared_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))  # message / status / hand_up / hand_back
    detail: Mapped[str] = mapped_column(String(40), default="")  # e.g. 送致 / 指導委託, or the new status
    from_agency: Mapped[str] = mapped_column(String(12))
    to_agency: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(64))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    intake_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("cgc_intakes.id"))  # a hand-up's new intake
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[str | None] = mapped_column(String(64))

"""Hub tables of case management (migration 0011).

Free text about a child — the reason of a status change, a contact's summary, a meeting's
attendees, roles and decisions — is stored only as NoteCipher blobs (``*_enc``), like the notes of
reviews and plans (``work.notes.ENCRYPTED_COLUMNS`` lists them for key rotation).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class Case(Base):
    """One child's case: its status (未確認 … 終結), owner and team. At most one per child."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    team: Mapped[str] = mapped_column(String(200), default="")
    # The case_assignments row the ownership gave the owner (their assigned_case), ended on transfer.
    assignment_id: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseEvent(Base):
    """One change of a case: status and/or owner, who, when and why (the case's history)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    # status (explicit change), assign (owner set or transferred), auto (moved by a review or a plan)
    kind: Mapped[str] = mapped_column(String(12))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    from_owner: Mapped[str | None] = mapped_column(String(64))
    to_owner: Mapped[str | None] = mapped_column(String(64))
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class CaseContact(Base):
    """連絡記録: a call, interview, home visit or contact with another agency."""

    __tablename__ = "case_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    contact_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    staff: Mapped[str] = mapped_column(String(64))
    counterpart_enc: Mapped[bytes] = mapped_column(LargeBinary)
    summary_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseMeeting(Base):
    """個別ケース検討会議: attendees by agency with each agency's role, decisions, next review date."""

    __tablename__ = "case_meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    attendees_enc: Mapped[bytes] = mapped_column(LargeBinary)  # JSON [{agency, people, role}]
    decisions_enc: Mapped[bytes] = mapped_column(LargeBinary)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """進行管理台帳: a child registered with the 要保護児童対策地域協議会, reviewed at least every 3 months."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    lead_agency: Mapped[str] = mapped_column(String(200))
    registered_on: Mapped[date] = mapped_column(Date)
    last_reviewed_on: Mapped[date] = mapped_column(Date)
    next_review_on: Mapped[date] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

"""Hub tables of the human work: accounts, assignments, reviews, plans, referrals, follow-ups,
the support-resource directory and suspensions of use.

Free text written about a child (review rationale, override reason, plan goals, closure and
follow-up notes, referral outcomes) is stored only as NoteCipher blobs (``*_enc`` columns): a
database dump or backup then holds no readable case notes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class User(Base):
    """利用者: a local account; ``role`` is a role of the privacy policy."""

    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    # A school code (several separated by commas for an SSW covering schools) or a department id.
    organisation: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on sign-out and on disabling: every signed session cookie carrying an older epoch dies.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # Separation of duties (migration 0010): who created the account, and the second person who
    # approved it — required before an account in a role that reads children can sign in.
    created_by: Mapped[str | None] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """One sign-in attempt, kept for the throttle (failures per user and per address)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_user_at", "user_id", "at"), Index("ix_login_attempts_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)


class CaseAssignment(Base):
    """担当: which user works with which child (the policy's ``assigned_case``; a teacher's class)."""

    __tablename__ = "case_assignments"
    __table_args__ = (Index("ix_case_assignments_user_person", "user_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("users.user_id"))
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assigned_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Review(Base):
    """二次アセスメント (kind review) or a teacher's 観察記録 (kind observation, no decision)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    run_id: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # review / observation
    screening_tier: Mapped[str | None] = mapped_column(String(10))
    decision: Mapped[str | None] = mapped_column(String(12))  # support / watch / no_action
    observations_json: Mapped[str] = mapped_column(Text, default="[]")  # [{aspect, level}]
    rationale_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    override_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    author: Mapped[str] = mapped_column(String(64))
    author_role: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SupportPlan(Base):
    """支援方針: goals, the responsible body and review dates for one child."""

    __tablename__ = "support_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    review_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("reviews.id"))
    goals_enc: Mapped[bytes] = mapped_column(LargeBinary)
    responsible_body: Mapped[str] = mapped_column(String(200))
    next_review_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active / closed
    closure_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SupportResource(Base):
    """社会資源: a local service in the directory; ``public`` ones are shown without sign-in."""

    __tablename__ = "support_resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
    eligibility: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(Text, default="")
    area: Mapped[str] = mapped_column(String(200), default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64))


class Referral(Base):
    """つなぎ: one connection of a plan to a support resource, followed to its outcome."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer, ForeignKey("support_plans.id"), index=True)
    resource_id: Mapped[int] = mapped_column(Integer, ForeignKey("support_resources.id"))
    status: Mapped[str] = mapped_column(String(12), default="proposed")  # see REFERRAL_STATUSES
    outcome: Mapped[str | None] = mapped_column(String(20))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FollowUp(Base):
    """フォローアップ: a dated task with an owner, on a plan (and optionally one referral)."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer, ForeignKey("support_plans.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("referrals.id"))
    due_on: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UseSuspension(Base):
    """利用停止: the family asked that the child's data not be used; only the privacy officer sees it."""

    __tablename__ = "use_suspensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

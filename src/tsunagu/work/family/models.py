"""Hub tables of the family portal: guardian accounts, their enrolment codes and sign-in attempts.

A guardian account belongs to one resident record (the guardian's 宛名番号 in the resident
register), never to a child: which children the guardian sees is asked of the register on every
request (``tsunagu.work.family.household``). Codes and passwords are stored as argon2 hashes only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class FamilyAccount(Base):
    """家族向けページの利用者: a guardian's account, made when staff issue the first enrolment code."""

    __tablename__ = "family_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The sign-in id printed on the letter (e.g. K-4821-7730): not the 宛名番号, which is no secret
    # but is also nothing a family should have to type or could guess another family's by.
    login_id: Mapped[str] = mapped_column(String(20), unique=True)
    aza_number: Mapped[str] = mapped_column(String(40), unique=True)  # the guardian's resident record
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None until enrolled
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FamilyCode(Base):
    """登録コード: one-time, expiring, delivered by letter; only the latest unused one is valid."""

    __tablename__ = "family_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("family_accounts.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FamilyAttempt(Base):
    """One sign-in or code entry, kept for the throttle (kept apart from the staff's attempts, so a
    guessing spree at the family portal can never lock staff out, nor the other way round)."""

    __tablename__ = "family_attempts"
    __table_args__ = (Index("ix_family_attempts_login_at", "login_id", "at"),
                      Index("ix_family_attempts_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(10))  # sign_in / code
    login_id: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)

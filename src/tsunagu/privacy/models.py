"""Hub tables of the privacy core: the audit chain, its checkpoints, break-glass grants, notices.

The audit tables are append-only: migration 0002 puts triggers on them that refuse UPDATE and
DELETE (PostgreSQL and SQLite alike); the hash chain catches whoever removes the triggers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base

OUTCOMES = ("allowed", "denied", "error")


class AuditEntry(Base):
    """アクセス記録: who touched which person's which items, when, why, and with what outcome."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        CheckConstraint("outcome IN ('allowed', 'denied', 'error')", name="outcome"),
        Index("ix_audit_entries_actor_at", "actor", "at"),
    )

    # Assigned by append (head + 1), never by the database: a gap must mean a deletion.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    request_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(64), index=True)
    items: Mapped[str] = mapped_column(Text)  # canonical JSON list of catalogue item ids
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(String(100))
    # Unique: two entries claiming the same predecessor would be a fork in the chain.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """A signed statement "the chain up to seq N ends in hash H" (Ed25519)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    upto_seq: Mapped[int] = mapped_column(Integer, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))  # hex, 64 bytes
    public_key: Mapped[str] = mapped_column(String(64))  # hex, raw 32-byte Ed25519 key


class BreakGlassGrant(Base):
    """緊急閲覧: a short, justified unlock of one person's record for one user."""

    __tablename__ = "privacy_break_glass_grants"
    __table_args__ = (Index("ix_privacy_break_glass_grants_user_person", "user_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(64))
    justification: Mapped[str] = mapped_column(Text)


class PrivacyNotification(Base):
    """A notice for the privacy officer (break-glass use, a broken audit chain)."""

    __tablename__ = "privacy_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

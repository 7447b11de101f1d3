"""Hub tables of the hand-over: trusted municipalities, tasks, packages, their events and the
message nonces already seen (replay protection that survives a restart and spans workers)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class TrustedMunicipality(Base):
    """信頼する自治体: another municipality's identity keys, registered like a department node."""

    __tablename__ = "handover_municipalities"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)  # 地方公共団体コード
    name: Mapped[str] = mapped_column(String(100))
    endpoint: Mapped[str | None] = mapped_column(String(300))  # None: LGWAN mail (files) only
    sign_key: Mapped[str] = mapped_column(String(64))  # Ed25519 public key, base64 of 32 bytes
    box_key: Mapped[str] = mapped_column(String(64))  # X25519 public key (sealed boxes), base64
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[str] = mapped_column(String(64))


class HandoverTask(Base):
    """引継ぎの課題: a detected move of a child this municipality must hand over (or ask about)."""

    __tablename__ = "handover_tasks"
    __table_args__ = (Index("ix_handover_tasks_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    direction: Mapped[str] = mapped_column(String(4))  # out (転出) / in (転入)
    moved_on: Mapped[date] = mapped_column(Date)
    reasons_json: Mapped[str] = mapped_column(Text)  # why the move matters: [{code, label}]
    kind: Mapped[str] = mapped_column(String(24))  # suggested package kind (out) / inquiry (in)
    due_on: Mapped[date] = mapped_column(Date)
    owner: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / sent / escalated / closed
    # The trusted municipality the register's 転出先 names, if any: a code, never the address itself.
    suggested_peer: Mapped[str | None] = mapped_column(String(6))
    package_id: Mapped[str | None] = mapped_column(String(32))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_reason: Mapped[str | None] = mapped_column(Text)


class HandoverPackage(Base):
    """ケース移管・情報提供: one package, sent or received, with its envelope as it travelled."""

    __tablename__ = "handover_packages"

    package_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # sent / received
    kind: Mapped[str] = mapped_column(String(24))
    peer_code: Mapped[str] = mapped_column(String(6), index=True)
    person_id: Mapped[str | None] = mapped_column(String(20), index=True)  # None: arrival not yet registered
    task_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # sent: sent/received/accepted; received: received/accepted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[date | None] = mapped_column(Date)  # sender: the receipt is due by this day
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[str | None] = mapped_column(String(200))  # the named owner (氏名・役割)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The envelope as it travelled: encrypted to the receiver, so a dump of either hub shows no content.
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    envelope_sha256: Mapped[str] = mapped_column(String(64))
    last_receipt: Mapped[str | None] = mapped_column(Text)  # the signed receipt (JSON) last sent or received


class HandoverEvent(Base):
    """Every step and every refusal, on both sides (the package's own history)."""

    __tablename__ = "handover_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    package_id: Mapped[str | None] = mapped_column(String(32), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer, index=True)
    event: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(8))  # ok / refused / error
    peer_code: Mapped[str | None] = mapped_column(String(6))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)


class HandoverNonce(Base):
    """A message nonce seen with a valid signature: a second message with it is a replay."""

    __tablename__ = "handover_nonces"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    peer_code: Mapped[str] = mapped_column(String(6))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CarriedHealthRecord(Base):
    """前住所地の健診・予防接種: health records received with an accepted package (母子保健法第19条の2)."""

    __tablename__ = "handover_health_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    package_id: Mapped[str] = mapped_column(String(32))
    from_code: Mapped[str] = mapped_column(String(6))
    from_name: Mapped[str] = mapped_column(String(100))
    section: Mapped[str] = mapped_column(String(16))  # health_checkups / vaccinations
    item_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(200))
    observed_on: Mapped[date | None] = mapped_column(Date)
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

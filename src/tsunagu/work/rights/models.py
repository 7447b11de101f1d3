"""Hub tables of the family's requests: the request and its history, correction notices to the
holding departments, the disputed-item markers, and the record of every deletion of hub data.

The claimed value of a correction is kept in plain text: it is what the family says is right,
the department must read it to correct its own system, and it is no more sensitive than the
value it replaces (which stays in the department's vault).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.store.models import Base


class DataRequest(Base):
    """本人・法定代理人からの請求: one disclosure, correction, suspension or deletion request."""

    __tablename__ = "data_requests"
    __table_args__ = (Index("ix_data_requests_status_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the receipt number (受付番号)
    kind: Mapped[str] = mapped_column(String(12))  # disclosure / correction / suspension / deletion
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    # Who asked, in as few words as the handling needs: the kind (本人 / 法定代理人 / 任意代理人) and
    # a short note (e.g. "母（親権者）"); names and addresses stay on the paper request form.
    requester_kind: Mapped[str] = mapped_column(String(24))
    requester_note: Mapped[str] = mapped_column(String(200), default="")
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    extended_due_on: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # received / in_progress / extended / completed / refused
    handler: Mapped[str] = mapped_column(String(64))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")  # kind-specific (deletion scope and reason)
    outcome_note: Mapped[str | None] = mapped_column(Text)  # the completion note or the refusal reason
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataRequestEvent(Base):
    """One step of a request: a status change, an extension, a pack issued, a suspension lifted."""

    __tablename__ = "data_request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer, ForeignKey("data_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))
    # status / extension / pack / notice / lift / deletion: what happened, for the history and checks
    event: Mapped[str] = mapped_column(String(12))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")


class CorrectionNotice(Base):
    """訂正の連絡: a disputed value routed to the department that holds it, until it answers."""

    __tablename__ = "correction_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer, ForeignKey("data_requests.id"), index=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    department: Mapped[str] = mapped_column(String(60), index=True)
    source: Mapped[str] = mapped_column(String(60))
    local_id: Mapped[str] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(60))  # a catalogue item id or an identity field
    field_kind: Mapped[str] = mapped_column(String(10))  # item / identity
    claimed_value: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # open / corrected / rejected
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    corrected_export_on: Mapped[date | None] = mapped_column(Date)


class DisputedItem(Base):
    """係争中の項目: marks a department's value as disputed by the family until the notice is answered."""

    __tablename__ = "disputed_items"
    __table_args__ = (Index("ix_disputed_items_record", "source", "local_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(Integer, ForeignKey("correction_notices.id"), index=True)
    person_id: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(60))
    local_id: Mapped[str] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(60))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10))  # disputed / corrected / rejected
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeletionRecord(Base):
    """削除の記録: what a deletion request or a retention run removed (counts, never the rows).

    ``request_id`` is not a foreign key: the record must outlive the request it answers.
    """

    __tablename__ = "deletion_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str] = mapped_column(String(12))  # request / retention
    request_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(20), index=True)
    target: Mapped[str] = mapped_column(String(160))  # hub table, or vault:<department>:<source>:<table>
    rows: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)

"""requests: the family's requests (disclosure, correction, suspension, deletion) and their history,
correction notices to the holding departments, disputed-item markers and the record of deletions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 14:34:53.117801
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("requester_kind", sa.String(length=24), nullable=False),
        sa.Column("requester_note", sa.String(length=200), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("extended_due_on", sa.Date(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_requests")),
    )
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_requests_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_data_requests_status_due", ["status", "due_on"], unique=False)

    op.create_table(
        "deletion_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=True),
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_records")),
    )
    with op.batch_alter_table("deletion_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deletion_records_person_id"), ["person_id"], unique=False)

    op.create_table(
        "correction_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("local_id", sa.String(length=120), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("field_kind", sa.String(length=10), nullable=False),
        sa.Column("claimed_value", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("corrected_export_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["data_requests.id"], name=op.f("fk_correction_notices_request_id_data_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_notices")),
    )
    with op.batch_alter_table("correction_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_correction_notices_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_correction_notices_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_correction_notices_request_id"), ["request_id"], unique=False)

    op.create_table(
        "data_request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["data_requests.id"], name=op.f("fk_data_request_events_request_id_data_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_request_events")),
    )
    with op.batch_alter_table("data_request_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_request_events_request_id"), ["request_id"], unique=False)

    op.create_table(
        "disputed_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("local_id", sa.String(length=120), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["correction_notices.id"], name=op.f("fk_disputed_items_notice_id_correction_notices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputed_items")),
    )
    with op.batch_alter_table("disputed_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputed_items_notice_id"), ["notice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_disputed_items_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_disputed_items_record", ["source", "local_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disputed_items", schema=None) as batch_op:
        batch_op.drop_index("ix_disputed_items_record")
        batch_op.drop_index(batch_op.f("ix_disputed_items_person_id"))
        batch_op.drop_index(batch_op.f("ix_disputed_items_notice_id"))

    op.drop_table("disputed_items")
    with op.batch_alter_table("data_request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_request_events_request_id"))

    op.drop_table("data_request_events")
    with op.batch_alter_table("correction_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_correction_notices_request_id"))
        batch_op.drop_index(batch_op.f("ix_correction_notices_person_id"))
        batch_op.drop_index(batch_op.f("ix_correction_notices_department"))

    op.drop_table("correction_notices")
    with op.batch_alter_table("deletion_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_records_person_id"))

    op.drop_table("deletion_records")
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_data_requests_status_due")
        batch_op.drop_index(batch_op.f("ix_data_requests_person_id"))

    op.drop_table("data_requests")

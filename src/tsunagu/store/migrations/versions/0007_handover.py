"""handover: trusted municipalities, hand-over tasks and packages, their events, seen message
nonces and the health records carried over from a previous municipality

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover_municipalities",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=True),
        sa.Column("sign_key", sa.String(length=64), nullable=False),
        sa.Column("box_key", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_handover_municipalities")),
    )
    op.create_table(
        "handover_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=False),
        sa.Column("reasons_json", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("suggested_peer", sa.String(length=6), nullable=True),
        sa.Column("package_id", sa.String(length=32), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_tasks")),
    )
    with op.batch_alter_table("handover_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_tasks_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_handover_tasks_status_due", ["status", "due_on"], unique=False)
    op.create_table(
        "handover_packages",
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("peer_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(length=200), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("envelope_sha256", sa.String(length=64), nullable=False),
        sa.Column("last_receipt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_handover_packages")),
    )
    with op.batch_alter_table("handover_packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_packages_peer_code"), ["peer_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_handover_packages_person_id"), ["person_id"], unique=False)
    op.create_table(
        "handover_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("peer_code", sa.String(length=6), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_events")),
    )
    with op.batch_alter_table("handover_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_handover_events_package_id"), ["package_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handover_events_task_id"), ["task_id"], unique=False)
    op.create_table(
        "handover_nonces",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("peer_code", sa.String(length=6), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_handover_nonces")),
    )
    op.create_table(
        "handover_health_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("from_code", sa.String(length=6), nullable=False),
        sa.Column("from_name", sa.String(length=100), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_health_records")),
    )
    with op.batch_alter_table("handover_health_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_health_records_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    for table in ("handover_health_records", "handover_nonces", "handover_events", "handover_packages",
                  "handover_tasks", "handover_municipalities"):
        op.drop_table(table)

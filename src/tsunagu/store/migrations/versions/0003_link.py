"""link index, clerical review and households

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:42:22.137950
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clerical_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("left_key", sa.String(length=200), nullable=False),
        sa.Column("right_key", sa.String(length=200), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("comparison_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clerical_pairs")),
        sa.UniqueConstraint("left_key", "right_key", name="uq_clerical_pairs_pair"),
    )
    op.create_table(
        "link_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("left_key", sa.String(length=200), nullable=False),
        sa.Column("right_key", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_decisions")),
        sa.UniqueConstraint("left_key", "right_key", name="uq_link_decisions_pair"),
    )
    op.create_table(
        "link_runs",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("model_json", sa.Text(), nullable=False),
        sa.Column("stats_json", sa.Text(), nullable=False),
        sa.Column("missing_sources", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_link_runs")),
    )
    op.create_table(
        "person_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("other_person_id", sa.String(length=20), nullable=True),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_events")),
    )
    op.create_table(
        "persons",
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("created_run", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("merged_into", sa.String(length=20), nullable=True),
        sa.Column("household_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_persons")),
    )
    op.create_table(
        "household_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("relationship", sa.String(length=20), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.person_id"], name=op.f("fk_household_members_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_members")),
    )
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.create_index("ix_household_members_household", ["household_id"], unique=False)

    op.create_table(
        "person_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("local_id", sa.String(length=120), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.person_id"], name=op.f("fk_person_links_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_links")),
        sa.UniqueConstraint("source", "local_id", name="uq_person_links_record"),
    )
    with op.batch_alter_table("person_links", schema=None) as batch_op:
        batch_op.create_index("ix_person_links_person", ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person_links", schema=None) as batch_op:
        batch_op.drop_index("ix_person_links_person")

    op.drop_table("person_links")
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.drop_index("ix_household_members_household")

    op.drop_table("household_members")
    op.drop_table("persons")
    op.drop_table("person_events")
    op.drop_table("link_runs")
    op.drop_table("link_decisions")
    op.drop_table("clerical_pairs")

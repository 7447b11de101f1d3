"""screening runs and results

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:56:25.840593
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_runs",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule_set_hash", sa.String(length=64), nullable=False),
        sa.Column("rule_set_json", sa.Text(), nullable=False),
        sa.Column("link_run_id", sa.String(length=40), nullable=True),
        sa.Column("link_model_version", sa.String(length=64), nullable=True),
        sa.Column("snapshots_json", sa.Text(), nullable=False),
        sa.Column("missing_sources", sa.Text(), nullable=False),
        sa.Column("counts_json", sa.Text(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("data_digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_screening_runs")),
    )
    with op.batch_alter_table("screening_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_runs_as_of"), ["as_of"], unique=False)

    op.create_table(
        "screening_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("domains", sa.Text(), nullable=False),
        sa.Column("domain_scores", sa.Text(), nullable=False),
        sa.Column("hard_rules", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("benefit_only", sa.Boolean(), nullable=False),
        sa.Column("known_to_support", sa.Boolean(), nullable=False),
        sa.Column("known_by", sa.Text(), nullable=False),
        sa.Column("no_mark", sa.Boolean(), nullable=False),
        sa.Column("first_flag", sa.Boolean(), nullable=False),
        sa.Column("trend", sa.String(length=8), nullable=False),
        sa.Column("school_code", sa.String(length=20), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("age", sa.Float(), nullable=True),
        sa.Column("stale_reasons", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["screening_runs.run_id"], name=op.f("fk_screening_results_run_id_screening_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_results")),
    )
    with op.batch_alter_table("screening_results", schema=None) as batch_op:
        batch_op.create_index("ix_screening_results_person", ["person_id"], unique=False)
        batch_op.create_index("ix_screening_results_run_tier", ["run_id", "tier"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_results", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_results_run_tier")
        batch_op.drop_index("ix_screening_results_person")

    op.drop_table("screening_results")
    with op.batch_alter_table("screening_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_runs_as_of"))

    op.drop_table("screening_runs")

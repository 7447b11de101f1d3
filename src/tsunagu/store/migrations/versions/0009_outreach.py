"""outreach: push-type support — eligibility runs and results, notice waves and letters, opt-outs,
the language a family asked for, and the outcomes of each wave

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_languages",
        sa.Column("household_id", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_outreach_languages")),
    )
    op.create_table(
        "outreach_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_opt_outs")),
    )
    op.create_index(op.f("ix_outreach_opt_outs_household_id"), "outreach_opt_outs", ["household_id"], unique=False)
    op.create_table(
        "outreach_runs",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("programme_hash", sa.String(length=64), nullable=False),
        sa.Column("programmes_json", sa.Text(), nullable=False),
        sa.Column("counts_json", sa.Text(), nullable=False),
        sa.Column("unavailable_json", sa.Text(), nullable=False),
        sa.Column("snapshots_json", sa.Text(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_outreach_runs")),
    )
    op.create_index(op.f("ix_outreach_runs_as_of"), "outreach_runs", ["as_of"], unique=False)
    op.create_table(
        "outreach_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("household_id", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("receiving", sa.Boolean(), nullable=True),
        sa.Column("gap", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("unchecked", sa.Text(), nullable=False),
        sa.Column("receipt_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["outreach_runs.run_id"], name=op.f("fk_outreach_results_run_id_outreach_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_results")),
    )
    op.create_index("ix_outreach_results_household", "outreach_results", ["household_id"], unique=False)
    op.create_index(
        "ix_outreach_results_run_programme", "outreach_results", ["run_id", "programme", "gap"], unique=False
    )
    op.create_table(
        "outreach_waves",
        sa.Column("wave_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("programmes_json", sa.Text(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("skipped_opt_out", sa.Integer(), nullable=False),
        sa.Column("skipped_no_address", sa.Integer(), nullable=False),
        sa.Column("languages_json", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["outreach_runs.run_id"], name=op.f("fk_outreach_waves_run_id_outreach_runs")
        ),
        sa.PrimaryKeyConstraint("wave_id", name=op.f("pk_outreach_waves")),
    )
    op.create_table(
        "outreach_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.String(length=40), nullable=False),
        sa.Column("notice_no", sa.String(length=40), nullable=False),
        sa.Column("household_id", sa.String(length=20), nullable=False),
        sa.Column("person_ids", sa.Text(), nullable=False),
        sa.Column("programmes", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["outreach_waves.wave_id"], name=op.f("fk_outreach_notices_wave_id_outreach_waves")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_notices")),
        sa.UniqueConstraint("notice_no", name=op.f("uq_outreach_notices_notice_no")),
    )
    op.create_index("ix_outreach_notices_household", "outreach_notices", ["household_id"], unique=False)
    op.create_index("ix_outreach_notices_wave", "outreach_notices", ["wave_id"], unique=False)
    op.create_table(
        "outreach_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("programme", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("household_id", sa.String(length=20), nullable=False),
        sa.Column("took_up", sa.Boolean(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=True),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["outreach_runs.run_id"], name=op.f("fk_outreach_outcomes_run_id_outreach_runs")
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["outreach_waves.wave_id"], name=op.f("fk_outreach_outcomes_wave_id_outreach_waves")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_outcomes")),
    )
    op.create_index("ix_outreach_outcomes_wave", "outreach_outcomes", ["wave_id", "programme"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outreach_outcomes_wave", table_name="outreach_outcomes")
    op.drop_table("outreach_outcomes")
    op.drop_index("ix_outreach_notices_wave", table_name="outreach_notices")
    op.drop_index("ix_outreach_notices_household", table_name="outreach_notices")
    op.drop_table("outreach_notices")
    op.drop_table("outreach_waves")
    op.drop_index("ix_outreach_results_run_programme", table_name="outreach_results")
    op.drop_index("ix_outreach_results_household", table_name="outreach_results")
    op.drop_table("outreach_results")
    op.drop_index(op.f("ix_outreach_runs_as_of"), table_name="outreach_runs")
    op.drop_table("outreach_runs")
    op.drop_index(op.f("ix_outreach_opt_outs_household_id"), table_name="outreach_opt_outs")
    op.drop_table("outreach_opt_outs")
    op.drop_table("outreach_languages")

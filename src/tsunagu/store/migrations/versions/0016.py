"""screening list size and the learned ranking (掲載枠・学習による並べ替え)

screening_results gains in_list / list_rank (the list the second stage reviews; a child with a
tier beyond it keeps the tier). Existing rows are in the list exactly when they have a tier.
ranking_versions holds each learned ranking version (model text, calibration, card, approval);
ranking_scores the scores of a version for a run; review_samples the random review sample of
unlisted children (with its inclusion probability, for the inverse-probability weights).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screening_results") as batch:
        batch.add_column(sa.Column("in_list", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("list_rank", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE screening_results SET in_list = (tier <> '対象外')"))
    op.create_table(
        "ranking_versions",
        sa.Column("version", sa.String(40), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column("features_json", sa.Text(), nullable=False),
        sa.Column("model_text", sa.Text(), nullable=False),
        sa.Column("calibration_json", sa.Text(), nullable=False),
        sa.Column("reference_json", sa.Text(), nullable=False),
        sa.Column("card_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "ranking_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("screening_runs.run_id"), nullable=False),
        sa.Column("version", sa.String(40), sa.ForeignKey("ranking_versions.version"), nullable=False),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("proposed", sa.Boolean(), nullable=False),
        sa.Column("reasons_json", sa.Text(), nullable=False),
    )
    op.create_index("ix_ranking_scores_run_version", "ranking_scores", ["run_id", "version"])
    op.create_table(
        "review_samples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("screening_runs.run_id"), nullable=False),
        sa.Column("person_id", sa.String(20), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_samples_run", "review_samples", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_review_samples_run", "review_samples")
    op.drop_table("review_samples")
    op.drop_index("ix_ranking_scores_run_version", "ranking_scores")
    op.drop_table("ranking_scores")
    op.drop_table("ranking_versions")
    with op.batch_alter_table("screening_results") as batch:
        batch.drop_column("list_rank")
        batch.drop_column("in_list")

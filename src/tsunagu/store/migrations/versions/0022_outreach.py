"""outreach: per run, the rows that did not load (per source and item) — what the data could not see

Revision ID: 0022_outreach
Revises: 0019
Create Date: 2026-12-07 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_outreach"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_runs") as batch:
        # Runs made before read as having found no unreadable rows.
        batch.add_column(sa.Column("unreadable_json", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("outreach_runs") as batch:
        batch.drop_column("unreadable_json")

"""guardian consultation: the child a guardian's thread is about (named from the family portal)

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voice_threads") as batch:
        batch.add_column(sa.Column("about_person_id", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("voice_threads") as batch:
        batch.drop_column("about_person_id")

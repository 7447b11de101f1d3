"""users: who created each account and who approved it (separation of duties)

An account in a role that reads children's records signs in only once a second person — another
administrator or the privacy officer — has approved it. Accounts that exist when this runs were
created under the earlier rules and are marked approved by the migration, so nobody is locked out.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

EXISTING = "(migration 0010: existing account)"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE users SET approved_by = :who").bindparams(who=EXISTING))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("approved_at")
        batch.drop_column("approved_by")
        batch.drop_column("created_by")

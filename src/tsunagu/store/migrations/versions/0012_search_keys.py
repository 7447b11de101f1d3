"""search_keys: hashed search terms per child (name, reading, birth date, 宛名番号)

Written by each linkage run (``tsunagu.link.searchkeys``); the terms are keyed hashes, the key is
in the home, not in the store. A hub upgraded to this revision has an empty table until its next
``tsunagu link``; the search page says so.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_keys")),
    )
    op.create_index("ix_search_keys_token", "search_keys", ["token"])


def downgrade() -> None:
    op.drop_index("ix_search_keys_token", table_name="search_keys")
    op.drop_table("search_keys")

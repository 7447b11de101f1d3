"""family portal: guardian accounts, one-time enrolment codes, sign-in attempts

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "family_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login_id", sa.String(length=20), nullable=False),
        sa.Column("aza_number", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_accounts")),
        sa.UniqueConstraint("login_id", name=op.f("uq_family_accounts_login_id")),
        sa.UniqueConstraint("aza_number", name=op.f("uq_family_accounts_aza_number")),
    )
    op.create_table(
        "family_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["family_accounts.id"],
                                name=op.f("fk_family_codes_account_id_family_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_codes")),
    )
    op.create_index(op.f("ix_family_codes_account_id"), "family_codes", ["account_id"])
    op.create_table(
        "family_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("login_id", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_attempts")),
    )
    op.create_index("ix_family_attempts_login_at", "family_attempts", ["login_id", "at"])
    op.create_index("ix_family_attempts_ip_at", "family_attempts", ["ip", "at"])


def downgrade() -> None:
    op.drop_index("ix_family_attempts_ip_at", table_name="family_attempts")
    op.drop_index("ix_family_attempts_login_at", table_name="family_attempts")
    op.drop_table("family_attempts")
    op.drop_index(op.f("ix_family_codes_account_id"), table_name="family_codes")
    op.drop_table("family_codes")
    op.drop_table("family_accounts")

"""Privacy core: the audit chain, its signed checkpoints, break-glass grants, notifications.

The audit tables get triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE), so that no
code path — a bug, a careless console session — can rewrite the record of who read what. A
database owner can still drop the triggers; the hash chain and the signed checkpoints are what
catch that (tsunagu audit verify).

Retention: purging very old audit entries is an operator's act, not the application's. The
operator disables the trigger, deletes a prefix of the chain up to a signed checkpoint, and
re-enables it, in one transaction (docs/privacy.md, "Purging old audit entries"). We chose this
over a SECURITY DEFINER function because the application role owns these tables: a function it
may call would be a delete path open to the application, which is what the trigger is to close.

SQLite batch migrations that later rebuild these tables drop their triggers: recreate them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tsunagu.store.dialects import dialect_of

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("audit_entries", "audit_checkpoints")
MESSAGE = "アクセス記録は追記のみです。変更・削除はできません / the audit log is append-only"

PG_FUNCTION = f"""
CREATE FUNCTION tsunagu_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _create_tables() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.CheckConstraint("outcome IN ('allowed', 'denied', 'error')", name=op.f("ck_audit_entries_outcome")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_entries_prev_hash")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_entries_entry_hash")),
    )
    op.create_index(op.f("ix_audit_entries_at"), "audit_entries", ["at"])
    op.create_index(op.f("ix_audit_entries_person_id"), "audit_entries", ["person_id"])
    op.create_index("ix_audit_entries_actor_at", "audit_entries", ["actor", "at"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("upto_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(op.f("ix_audit_checkpoints_upto_seq"), "audit_checkpoints", ["upto_seq"])
    op.create_table(
        "privacy_break_glass_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_break_glass_grants")),
    )
    op.create_index(
        "ix_privacy_break_glass_grants_user_person", "privacy_break_glass_grants", ["user_id", "person_id"]
    )
    op.create_table(
        "privacy_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_notifications")),
    )
    op.create_index(op.f("ix_privacy_notifications_created_at"), "privacy_notifications", ["created_at"])


def _create_triggers() -> None:
    dialect = dialect_of(op.get_bind())
    if dialect.is_postgresql:
        op.execute(PG_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tsunagu_audit_append_only()"
            )
            # Row triggers do not fire on TRUNCATE.
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION tsunagu_audit_append_only()"
            )
    elif dialect.is_sqlite:
        for table in APPEND_ONLY_TABLES:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {operation} on {table} refused'); END"
                )


def upgrade() -> None:
    _create_tables()
    _create_triggers()


def downgrade() -> None:
    # Dropping a table drops its triggers; the PostgreSQL function goes last.
    op.drop_index(op.f("ix_privacy_notifications_created_at"), table_name="privacy_notifications")
    op.drop_table("privacy_notifications")
    op.drop_index("ix_privacy_break_glass_grants_user_person", table_name="privacy_break_glass_grants")
    op.drop_table("privacy_break_glass_grants")
    op.drop_index(op.f("ix_audit_checkpoints_upto_seq"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_entries_actor_at", table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_person_id"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_at"), table_name="audit_entries")
    op.drop_table("audit_entries")
    if dialect_of(op.get_bind()).is_postgresql:
        op.execute("DROP FUNCTION IF EXISTS tsunagu_audit_append_only()")

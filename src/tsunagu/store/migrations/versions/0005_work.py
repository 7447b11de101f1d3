"""work: accounts, sign-in attempts, case assignments, reviews, plans, referrals, follow-ups,
support resources and suspensions of use

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:05:30.718561
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_ip_at", ["ip", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_user_at", ["user_id", "at"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("screening_tier", sa.String(length=10), nullable=True),
        sa.Column("decision", sa.String(length=12), nullable=True),
        sa.Column("observations_json", sa.Text(), nullable=False),
        sa.Column("rationale_enc", sa.LargeBinary(), nullable=True),
        sa.Column("override_reason_enc", sa.LargeBinary(), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_role", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_person_id"), ["person_id"], unique=False)

    op.create_table(
        "support_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("eligibility", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_resources")),
    )
    op.create_table(
        "use_suspensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_use_suspensions")),
    )
    with op.batch_alter_table("use_suspensions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_use_suspensions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    op.create_table(
        "case_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=op.f("fk_case_assignments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignments")),
    )
    with op.batch_alter_table("case_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_assignments_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_case_assignments_user_person", ["user_id", "person_id"], unique=False)

    op.create_table(
        "support_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=20), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("goals_enc", sa.LargeBinary(), nullable=False),
        sa.Column("responsible_body", sa.String(length=200), nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closure_note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], name=op.f("fk_support_plans_review_id_reviews")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_plans")),
    )
    with op.batch_alter_table("support_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_plans_person_id"), ["person_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["support_plans.id"], name=op.f("fk_referrals_plan_id_support_plans")),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["support_resources.id"], name=op.f("fk_referrals_resource_id_support_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["support_plans.id"], name=op.f("fk_follow_ups_plan_id_support_plans")),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], name=op.f("fk_follow_ups_referral_id_referrals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_plan_id"), ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_plan_id"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_owner"))

    op.drop_table("follow_ups")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_plan_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("support_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_plans_person_id"))

    op.drop_table("support_plans")
    with op.batch_alter_table("case_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_case_assignments_user_person")
        batch_op.drop_index(batch_op.f("ix_case_assignments_person_id"))

    op.drop_table("case_assignments")
    op.drop_table("users")
    with op.batch_alter_table("use_suspensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_use_suspensions_person_id"))

    op.drop_table("use_suspensions")
    op.drop_table("support_resources")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_person_id"))

    op.drop_table("reviews")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_user_at")
        batch_op.drop_index("ix_login_attempts_ip_at")

    op.drop_table("login_attempts")

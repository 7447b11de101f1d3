"""urgency: report intake, assessments, intake events, past cases of the child guidance centre, versions
of the urgency estimate, and cases shared between the 児童相談所 and the こども家庭センター

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:20:00

(Issue 20. The lead re-chains this after 0006's successors at merge.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("cgc_intakes",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("agency", sa.String(length=12), nullable=False),
    sa.Column("organisation", sa.String(length=200), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reporter_kind", sa.String(length=40), nullable=False),
    sa.Column("reporter_note_enc", sa.LargeBinary(), nullable=True),
    sa.Column("person_id", sa.String(length=20), nullable=True),
    sa.Column("child_name_enc", sa.LargeBinary(), nullable=True),
    sa.Column("child_birth", sa.Date(), nullable=True),
    sa.Column("concern_enc", sa.LargeBinary(), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_hours", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=12), nullable=False),
    sa.Column("safety_checked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("supervisor", sa.String(length=64), nullable=True),
    sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cgc_intakes"))
    )
    with op.batch_alter_table("cgc_intakes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cgc_intakes_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_cgc_intakes_status_due", ["status", "due_at"], unique=False)

    op.create_table("cgc_past_cases",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("case_no", sa.String(length=40), nullable=False),
    sa.Column("received_on", sa.Date(), nullable=False),
    sa.Column("age_years", sa.Integer(), nullable=True),
    sa.Column("reporter_kind", sa.String(length=40), nullable=False),
    sa.Column("grades_json", sa.Text(), nullable=False),
    sa.Column("protected", sa.Boolean(), nullable=False),
    sa.Column("outcome", sa.String(length=40), nullable=False),
    sa.Column("groups_json", sa.Text(), nullable=False),
    sa.Column("loaded_from", sa.String(length=200), nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cgc_past_cases")),
    sa.UniqueConstraint("case_no", name=op.f("uq_cgc_past_cases_case_no"))
    )
    with op.batch_alter_table("cgc_past_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cgc_past_cases_received_on"), ["received_on"], unique=False)

    op.create_table("cgc_shared_cases",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("person_id", sa.String(length=20), nullable=False),
    sa.Column("lead_agency", sa.String(length=12), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("next_contact_on", sa.Date(), nullable=True),
    sa.Column("next_contact_by", sa.String(length=12), nullable=True),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cgc_shared_cases"))
    )
    with op.batch_alter_table("cgc_shared_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cgc_shared_cases_person_id"), ["person_id"], unique=False)

    op.create_table("urgency_models",
    sa.Column("version", sa.String(length=40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("cutoff", sa.Date(), nullable=False),
    sa.Column("in_force", sa.Boolean(), nullable=False),
    sa.Column("model_json", sa.Text(), nullable=False),
    sa.Column("metrics_json", sa.Text(), nullable=False),
    sa.Column("card_json", sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint("version", name=op.f("pk_urgency_models"))
    )
    op.create_table("cgc_assessments",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("intake_id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("trigger", sa.String(length=20), nullable=False),
    sa.Column("grades_json", sa.Text(), nullable=False),
    sa.Column("items_version", sa.String(length=40), nullable=False),
    sa.Column("hard_level", sa.String(length=12), nullable=False),
    sa.Column("hard_json", sa.Text(), nullable=False),
    sa.Column("estimate_json", sa.Text(), nullable=False),
    sa.Column("decision_level", sa.String(length=12), nullable=True),
    sa.Column("decision_protect", sa.Boolean(), nullable=True),
    sa.Column("differs", sa.Boolean(), nullable=False),
    sa.Column("reason_enc", sa.LargeBinary(), nullable=True),
    sa.Column("author", sa.String(length=64), nullable=False),
    sa.Column("author_role", sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(["intake_id"], ["cgc_intakes.id"], name=op.f("fk_cgc_assessments_intake_id_cgc_intakes")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cgc_assessments"))
    )
    with op.batch_alter_table("cgc_assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cgc_assessments_intake_id"), ["intake_id"], unique=False)

    op.create_table("cgc_intake_events",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("intake_id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("actor", sa.String(length=64), nullable=False),
    sa.Column("note_enc", sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(["intake_id"], ["cgc_intakes.id"], name=op.f("fk_cgc_intake_events_intake_id_cgc_intakes")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cgc_intake_events"))
    )
    with op.batch_alter_table("cgc_intake_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cgc_intake_events_intake_id"), ["intake_id"], unique=False)

    op.create_table("cgc_shared_acts",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("case_id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("detail", sa.String(length=40), nullable=False),
    sa.Column("from_agency", sa.String(length=12), nullable=False),
    sa.Column("to_agency", sa.String(length=12), nullable=False),
    sa.Column("actor", sa.String(length=64), nullable=False),
    sa.Column("note_enc", sa.LargeBinary(), nullable=True),
    sa.Column("intake_id", sa.Integer(), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("received_by", sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(["case_id"], ["cgc_shared_cases.id"], name=op.f("fk_cgc_shared_acts_case_id_cgc_shared_cases")),
    sa.ForeignKeyConstraint(["intake_id"], ["cgc_intakes.id"], name=op.f("fk_cgc_shared_acts_intake_id_cgc_intakes")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_cgc_shared_acts"))
    )
    with op.batch_alter_table("cgc_shared_acts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cgc_shared_acts_case_id"), ["case_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("cgc_shared_acts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cgc_shared_acts_case_id"))

    op.drop_table("cgc_shared_acts")
    with op.batch_alter_table("cgc_intake_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cgc_intake_events_intake_id"))

    op.drop_table("cgc_intake_events")
    with op.batch_alter_table("cgc_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cgc_assessments_intake_id"))

    op.drop_table("cgc_assessments")
    op.drop_table("urgency_models")
    with op.batch_alter_table("cgc_shared_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cgc_shared_cases_person_id"))

    op.drop_table("cgc_shared_cases")
    with op.batch_alter_table("cgc_past_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cgc_past_cases_received_on"))

    op.drop_table("cgc_past_cases")
    with op.batch_alter_table("cgc_intakes", schema=None) as batch_op:
        batch_op.drop_index("ix_cgc_intakes_status_due")
        batch_op.drop_index(batch_op.f("ix_cgc_intakes_person_id"))

    op.drop_table("cgc_intakes")

"""voice: the children's consultation channel (threads, messages, alerts, on-duty roster) and 心の天気
(classes, pupil codes, check-ins, guardians' opt-outs)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voice_classes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_code', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('teacher_user_id', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_classes')),
    sa.UniqueConstraint('school_code', 'label', name='uq_voice_classes_school_label')
    )
    op.create_table('voice_duty',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_voice_duty'))
    )
    op.create_table('voice_kokoro_optouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_code', sa.String(length=20), nullable=False),
    sa.Column('pupil_no', sa.String(length=40), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_kokoro_optouts'))
    )
    op.create_index('ix_voice_kokoro_optouts_pupil', 'voice_kokoro_optouts', ['school_code', 'pupil_no'], unique=False)
    op.create_table('voice_kokoro_checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_code', sa.String(length=20), nullable=False),
    sa.Column('pupil_no', sa.String(length=40), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('weather', sa.String(length=8), nullable=False),
    sa.Column('word_enc', sa.LargeBinary(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['voice_classes.id'], name=op.f('fk_voice_kokoro_checkins_class_id_voice_classes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_kokoro_checkins')),
    sa.UniqueConstraint('school_code', 'pupil_no', 'day', name='uq_voice_kokoro_checkins_day')
    )
    op.create_table('voice_pupil_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('school_code', sa.String(length=20), nullable=False),
    sa.Column('pupil_no', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.String(length=20), nullable=True),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['voice_classes.id'], name=op.f('fk_voice_pupil_codes_class_id_voice_classes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_pupil_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_voice_pupil_codes_code_hash'))
    )
    op.create_index('ix_voice_pupil_codes_pupil', 'voice_pupil_codes', ['school_code', 'pupil_no'], unique=False)
    op.create_table('voice_threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('writer_kind', sa.String(length=12), nullable=False),
    sa.Column('code_id', sa.Integer(), nullable=True),
    sa.Column('key_hash', sa.String(length=64), nullable=True),
    sa.Column('reentry_hash', sa.String(length=64), nullable=True),
    sa.Column('guardian_account', sa.String(length=64), nullable=True),
    sa.Column('school_code', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('assigned_to', sa.String(length=64), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('linked_person_id', sa.String(length=20), nullable=True),
    sa.Column('linked_by', sa.String(length=64), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['code_id'], ['voice_pupil_codes.id'], name=op.f('fk_voice_threads_code_id_voice_pupil_codes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_threads')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_voice_threads_key_hash')),
    sa.UniqueConstraint('reentry_hash', name=op.f('uq_voice_threads_reentry_hash'))
    )
    op.create_index('ix_voice_threads_last', 'voice_threads', ['last_message_at'], unique=False)
    op.create_table('voice_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('pupil_no', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['voice_classes.id'], name=op.f('fk_voice_alerts_class_id_voice_classes')),
    sa.ForeignKeyConstraint(['thread_id'], ['voice_threads.id'], name=op.f('fk_voice_alerts_thread_id_voice_threads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_alerts'))
    )
    op.create_index('ix_voice_alerts_user_open', 'voice_alerts', ['user_id', 'acknowledged_at'], unique=False)
    op.create_table('voice_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=8), nullable=False),
    sa.Column('staff_user_id', sa.String(length=64), nullable=True),
    sa.Column('body_enc', sa.LargeBinary(), nullable=False),
    sa.Column('urgent_terms', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['voice_threads.id'], name=op.f('fk_voice_messages_thread_id_voice_threads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_messages'))
    )
    op.create_index('ix_voice_messages_thread', 'voice_messages', ['thread_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_voice_messages_thread', table_name='voice_messages')
    op.drop_table('voice_messages')
    op.drop_index('ix_voice_alerts_user_open', table_name='voice_alerts')
    op.drop_table('voice_alerts')
    op.drop_index('ix_voice_threads_last', table_name='voice_threads')
    op.drop_table('voice_threads')
    op.drop_index('ix_voice_pupil_codes_pupil', table_name='voice_pupil_codes')
    op.drop_table('voice_pupil_codes')
    op.drop_table('voice_kokoro_checkins')
    op.drop_index('ix_voice_kokoro_optouts_pupil', table_name='voice_kokoro_optouts')
    op.drop_table('voice_kokoro_optouts')
    op.drop_table('voice_duty')
    op.drop_table('voice_classes')

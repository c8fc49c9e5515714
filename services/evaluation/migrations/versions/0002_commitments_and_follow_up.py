"""commitments and follow-up

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_topic_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=60), nullable=False),
    sa.Column('leader_in_charge', sa.String(length=60), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('organiser', sa.String(length=60), nullable=True),
    sa.Column('plan_year', sa.Integer(), nullable=True),
    sa.Column('original_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('reopenings', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('satisfaction', sa.String(length=30), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('workflow_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_commitments_idempotency_key'))
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitments_consultation_topic_id'), ['consultation_topic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_organiser'), ['organiser'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_plan_year'), ['plan_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_workflow_started_at'), ['workflow_started_at'], unique=False)

    op.create_table('official_schedules',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('schedule', sa.JSON(), nullable=False),
    sa.Column('loaded_by', sa.String(length=100), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_official_schedules'))
    )
    op.create_table('commitment_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('outcome_detail', sa.String(length=500), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_commitment_actions_commitment_id_commitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_actions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_commitment_actions_idempotency_key'))
    )
    with op.batch_alter_table('commitment_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_actions_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_actions_outcome'), ['outcome'], unique=False)

    op.create_table('escalation_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_escalation_events_commitment_id_commitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_events')),
    sa.UniqueConstraint('event_key', name=op.f('uq_escalation_events_event_key'))
    )
    with op.batch_alter_table('escalation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_events_commitment_id'), ['commitment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('escalation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_events_commitment_id'))

    op.drop_table('escalation_events')
    with op.batch_alter_table('commitment_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_actions_outcome'))
        batch_op.drop_index(batch_op.f('ix_commitment_actions_commitment_id'))

    op.drop_table('commitment_actions')
    op.drop_table('official_schedules')
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitments_workflow_started_at'))
        batch_op.drop_index(batch_op.f('ix_commitments_status'))
        batch_op.drop_index(batch_op.f('ix_commitments_plan_year'))
        batch_op.drop_index(batch_op.f('ix_commitments_organiser'))
        batch_op.drop_index(batch_op.f('ix_commitments_department'))
        batch_op.drop_index(batch_op.f('ix_commitments_consultation_topic_id'))

    op.drop_table('commitments')

"""handling: assignment, co-handling, replies and their disclosure review

Revision ID: 0006_handling
Revises: 0005_doors

Co-handlers (会办) with their own deadlines, objections to an assignment (交办异议),
formal replies (答复) with their disclosure review (答复公开). Follows 0005_doors: an
objection carries no idempotency key of its own (the request guard answers a retry).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_handling'
down_revision = '0005_doors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commitment_co_handlers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=60), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('opinion_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('workflow_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_commitment_co_handlers_commitment_id_commitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_co_handlers'))
    )
    with op.batch_alter_table('commitment_co_handlers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_co_handlers_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_co_handlers_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_co_handlers_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_co_handlers_workflow_started_at'), ['workflow_started_at'], unique=False)

    op.create_table('assignment_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('co_handler_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raised_by', sa.String(length=100), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reassigned_to', sa.String(length=60), nullable=True),
    sa.Column('new_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['co_handler_id'], ['commitment_co_handlers.id'], name=op.f('fk_assignment_objections_co_handler_id_commitment_co_handlers')),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_assignment_objections_commitment_id_commitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_objections'))
    )
    with op.batch_alter_table('assignment_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_objections_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_objections_status'), ['status'], unique=False)

    op.create_table('commitment_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=60), nullable=False),
    sa.Column('reply_class', sa.String(length=1), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_status', sa.String(length=20), nullable=False),
    sa.Column('disclosure', sa.String(length=10), nullable=True),
    sa.Column('public_text', sa.Text(), nullable=True),
    sa.Column('withheld_reason', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=100), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_notified', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['commitment_actions.id'], name=op.f('fk_commitment_replies_action_id_commitment_actions')),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_commitment_replies_commitment_id_commitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_replies')),
    sa.UniqueConstraint('action_id', name=op.f('uq_commitment_replies_action_id'))
    )
    with op.batch_alter_table('commitment_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_replies_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_replies_review_due_at'), ['review_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_replies_review_status'), ['review_status'], unique=False)

    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('working_day_seconds', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('reply_class', sa.String(length=1), nullable=True))

    with op.batch_alter_table('escalation_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('co_handler_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_escalation_events_co_handler_id'), ['co_handler_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('escalation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_events_co_handler_id'))
        batch_op.drop_column('co_handler_id')

    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_column('reply_class')
        batch_op.drop_column('working_day_seconds')
        batch_op.drop_column('assigned_at')

    with op.batch_alter_table('commitment_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_replies_review_status'))
        batch_op.drop_index(batch_op.f('ix_commitment_replies_review_due_at'))
        batch_op.drop_index(batch_op.f('ix_commitment_replies_commitment_id'))

    op.drop_table('commitment_replies')
    with op.batch_alter_table('assignment_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_objections_status'))
        batch_op.drop_index(batch_op.f('ix_assignment_objections_commitment_id'))

    op.drop_table('assignment_objections')
    with op.batch_alter_table('commitment_co_handlers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_co_handlers_workflow_started_at'))
        batch_op.drop_index(batch_op.f('ix_commitment_co_handlers_status'))
        batch_op.drop_index(batch_op.f('ix_commitment_co_handlers_department'))
        batch_op.drop_index(batch_op.f('ix_commitment_co_handlers_commitment_id'))

    op.drop_table('commitment_co_handlers')

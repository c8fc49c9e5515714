"""two-way evaluation ratings

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultation_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_topic_id', sa.Integer(), nullable=False),
    sa.Column('organiser', sa.String(length=60), nullable=False),
    sa.Column('plan_year', sa.Integer(), nullable=False),
    sa.Column('rater_kind', sa.String(length=30), nullable=False),
    sa.Column('aspect', sa.String(length=30), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_by', sa.String(length=100), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_ratings')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_consultation_ratings_idempotency_key'))
    )
    with op.batch_alter_table('consultation_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_ratings_consultation_topic_id'), ['consultation_topic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_ratings_organiser'), ['organiser'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_ratings_plan_year'), ['plan_year'], unique=False)

    op.create_table('department_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=60), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=True),
    sa.Column('plan_year', sa.Integer(), nullable=False),
    sa.Column('means', sa.String(length=30), nullable=False),
    sa.Column('rater_kind', sa.String(length=30), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_by', sa.String(length=100), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department_ratings')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_department_ratings_idempotency_key'))
    )
    with op.batch_alter_table('department_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_department_ratings_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_department_ratings_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_department_ratings_plan_year'), ['plan_year'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('department_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_department_ratings_plan_year'))
        batch_op.drop_index(batch_op.f('ix_department_ratings_department'))
        batch_op.drop_index(batch_op.f('ix_department_ratings_commitment_id'))

    op.drop_table('department_ratings')
    with op.batch_alter_table('consultation_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_ratings_plan_year'))
        batch_op.drop_index(batch_op.f('ix_consultation_ratings_organiser'))
        batch_op.drop_index(batch_op.f('ix_consultation_ratings_consultation_topic_id'))

    op.drop_table('consultation_ratings')

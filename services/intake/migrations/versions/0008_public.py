"""co-signatures (联名) on public topics; a merged submission remembers its first topic

Revision ID: 0008_public
Revises: 0006_draws
"""
import sqlalchemy as sa
from alembic import op


revision = '0008_public'
down_revision = '0006_draws'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'topic_cosigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.Column('resident', sa.String(length=100), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_cosigns_topic_id_topics')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_cosigns')),
        sa.UniqueConstraint('topic_id', 'resident', name='uq_topic_cosigns_topic_resident'),
    )
    op.create_index(op.f('ix_topic_cosigns_topic_id'), 'topic_cosigns', ['topic_id'], unique=False)
    op.create_index(op.f('ix_topic_cosigns_resident'), 'topic_cosigns', ['resident'], unique=False)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_from_topic_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_submissions_merged_from_topic_id'), ['merged_from_topic_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_submissions_merged_from_topic_id_topics'), 'topics',
                                    ['merged_from_topic_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_submissions_merged_from_topic_id_topics'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_submissions_merged_from_topic_id'))
        batch_op.drop_column('merged_from_topic_id')
    op.drop_index(op.f('ix_topic_cosigns_resident'), table_name='topic_cosigns')
    op.drop_index(op.f('ix_topic_cosigns_topic_id'), table_name='topic_cosigns')
    op.drop_table('topic_cosigns')

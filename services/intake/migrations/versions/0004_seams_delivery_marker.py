"""delivery marker on research reports and meetings (store first, then deliver)

Revision ID: 0004_seams
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_seams'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows stored before the marker were delivered before they were committed.
    for table in ('research_reports', 'meetings'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('delivery', sa.String(length=20), server_default='delivered', nullable=False))
            batch_op.create_index(batch_op.f(f'ix_{table}_delivery'), ['delivery'], unique=False)


def downgrade() -> None:
    for table in ('meetings', 'research_reports'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_delivery'))
            batch_op.drop_column('delivery')

"""research reports carry the consultation's own draw shape

Revision ID: 0006_draws
Revises: 0005_speed
Create Date: 2026-11-30 21:30:00

composition (seats per kind, null: the format's default) and quotas (kind-scoped ones
too, [] when none); existing reports keep the defaults.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_draws'
down_revision = '0007_doors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('research_reports') as batch:
        batch.add_column(sa.Column('composition', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('quotas', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('research_reports') as batch:
        batch.drop_column('quotas')
        batch.drop_column('composition')

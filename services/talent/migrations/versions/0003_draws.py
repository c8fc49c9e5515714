"""draws: announcements in time, voiding

Revision ID: 0003_draws
Revises: 0004_doors
Create Date: 2026-11-30 21:00:00

A draw's announced public random value now carries when it becomes public and its
format; voiding a draw is recorded with its reason. (Idempotency-Key answers live in
0004_doors' table.)
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_draws'
down_revision = '0004_doors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('draws') as batch:
        batch.add_column(sa.Column('public_randomness_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('public_randomness_format', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('void_reason', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('voided_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('draws') as batch:
        batch.drop_column('voided_by')
        batch.drop_column('void_reason')
        batch.drop_column('voided_at')
        batch.drop_column('public_randomness_format')
        batch.drop_column('public_randomness_at')

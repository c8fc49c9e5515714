"""draws: announcements in time, voiding, Idempotency-Key answers

Revision ID: 0003_draws
Revises: 0002
Create Date: 2026-11-30 21:00:00

A draw's announced public random value now carries when it becomes public and its
format; voiding a draw is recorded with its reason; POST answers sent with an
Idempotency-Key are kept (services/common/idempotency.py).
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_draws'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal', sa.String(length=120), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('method_path', sa.String(length=300), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('principal', 'key', name='uq_idempotency_keys_principal_key')
    )
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
    op.drop_table('idempotency_keys')

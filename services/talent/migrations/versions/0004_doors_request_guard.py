"""request guard: idempotency keys per (caller, route, key), hash-chained audit trail;
the global per-record idempotency_key columns go

Revision ID: 0004_doors
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_doors'
down_revision = '0002'
branch_labels = None
depends_on = None


def create_guard_tables() -> None:
    """The request guard's tables (services/common/idempotency.py, services/common/audit.py)."""
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caller', sa.String(length=200), nullable=False),
    sa.Column('route', sa.String(length=300), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('headers', sa.Text(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('caller', 'route', 'key', name='uq_idempotency_keys_caller_route_key')
    )
    op.create_table('audit_log',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('caller', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=300), nullable=False),
    sa.Column('resource', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log'))
    )
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )


def upgrade() -> None:
    create_guard_tables()
    for table in ('people', 'people_imports'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_idempotency_key'), type_='unique')
            batch_op.drop_column('idempotency_key')


def downgrade() -> None:
    for table in ('people', 'people_imports'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('idempotency_key', sa.String(length=200), nullable=True))
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_idempotency_key'), ['idempotency_key'])
    op.drop_table('audit_head')
    op.drop_table('audit_log')
    op.drop_table('idempotency_keys')

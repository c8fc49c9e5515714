"""people attributes, imports and draws

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:40:53.186570
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('replaces_draw_id', sa.Integer(), nullable=True),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('exclusions', sa.JSON(), nullable=False),
    sa.Column('declined_ids', sa.JSON(), nullable=False),
    sa.Column('portfolio', sa.JSON(), nullable=False),
    sa.Column('portfolio_hash', sa.String(length=64), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('public_randomness', sa.String(length=500), nullable=True),
    sa.Column('public_randomness_source', sa.String(length=500), nullable=True),
    sa.Column('min_probability', sa.Float(), nullable=False),
    sa.Column('algorithm_version', sa.String(length=40), nullable=False),
    sa.Column('record', sa.JSON(), nullable=True),
    sa.Column('panel', sa.JSON(), nullable=False),
    sa.Column('drawn', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['replaces_draw_id'], ['draws.id'], name=op.f('fk_draws_replaces_draw_id_draws')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draws')),
    sa.UniqueConstraint('consultation_id', 'round', name='uq_draws_consultation_id_round')
    )
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draws_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('people_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('file_format', sa.String(length=10), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people_imports')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_people_imports_idempotency_key'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('expertise_key', sa.String(length=400), server_default='|', nullable=False))
        batch_op.add_column(sa.Column('tags_key', sa.String(length=800), server_default='|', nullable=False))
        batch_op.add_column(sa.Column('age_band', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('unavailable_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('conflict_departments', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('conflict_organisations', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('last_drawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_people_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_town'), ['town'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_people_idempotency_key'), ['idempotency_key'])
        batch_op.create_foreign_key(batch_op.f('fk_people_import_id_people_imports'), 'people_imports', ['import_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_people_import_id_people_imports'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_people_idempotency_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_people_town'))
        batch_op.drop_index(batch_op.f('ix_people_import_id'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('idempotency_key')
        batch_op.drop_column('import_id')
        batch_op.drop_column('email')
        batch_op.drop_column('phone')
        batch_op.drop_column('last_drawn_at')
        batch_op.drop_column('conflict_organisations')
        batch_op.drop_column('conflict_departments')
        batch_op.drop_column('unavailable_until')
        batch_op.drop_column('age_band')
        batch_op.drop_column('tags_key')
        batch_op.drop_column('expertise_key')
        batch_op.drop_column('tags')

    op.drop_table('people_imports')
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draws_consultation_id'))

    op.drop_table('draws')

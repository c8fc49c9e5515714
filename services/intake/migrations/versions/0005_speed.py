"""listing indexes: partial index of topics without a signature; trigram indexes for free text (PostgreSQL)

Revision ID: 0005_speed
Revises: 0004_seams

The trigram GIN indexes (pg_trgm, a trusted extension since PostgreSQL 13: the
database owner may create it) let ``LIKE '%term%'`` use an index for terms of three or
more characters; SQLite keeps scanning. They are created only on PostgreSQL and are
not declared on the models (see services/intake/topics/models.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_speed'
down_revision = '0004_seams'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {
    'ix_topics_search_text_trgm': ('topics', 'search_text'),
    'ix_submissions_title_normalised_trgm': ('submissions', 'title_normalised'),
    'ix_submissions_content_normalised_trgm': ('submissions', 'content_normalised'),
}


def upgrade() -> None:
    op.create_index('ix_topics_without_signature', 'topics', ['id'], unique=False,
                    sqlite_where=sa.text('signature IS NULL'), postgresql_where=sa.text('signature IS NULL'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for name, (table, column) in TRIGRAM_INDEXES.items():
            op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in TRIGRAM_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
    op.drop_index('ix_topics_without_signature', table_name='topics',
                  sqlite_where=sa.text('signature IS NULL'), postgresql_where=sa.text('signature IS NULL'))

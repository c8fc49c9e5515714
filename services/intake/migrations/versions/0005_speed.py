"""listing indexes: partial index of topics without a signature; bigram indexes for free text (PostgreSQL)

Revision ID: 0005_speed
Revises: 0005_privacy

Free text ``q`` matches terms with ``LIKE '%term%'``. Chinese words are mostly two
characters, which a trigram index (pg_trgm) cannot serve, so on PostgreSQL each
searched column gets a GIN index over the set of its two-character substrings
(``xieshang_bigrams``, an immutable SQL function): a term of two characters or more is
first narrowed by ``bigrams(column) @> bigrams(term)`` through the index, then checked
with LIKE. SQLite keeps scanning. The indexes are PostgreSQL-only, so they are not
declared on the models (see services/intake/topics/models.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_speed'
down_revision = '0005_privacy'
branch_labels = None
depends_on = None

BIGRAMS = """
CREATE OR REPLACE FUNCTION xieshang_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}'::text[])
  FROM generate_series(1, char_length(t) - 1) AS i
$$
"""
BIGRAM_INDEXES = {
    'ix_topics_search_text_bigrams': ('topics', 'search_text'),
    'ix_submissions_title_normalised_bigrams': ('submissions', 'title_normalised'),
    'ix_submissions_content_normalised_bigrams': ('submissions', 'content_normalised'),
}


def upgrade() -> None:
    op.create_index('ix_topics_without_signature', 'topics', ['id'], unique=False,
                    sqlite_where=sa.text('signature IS NULL'), postgresql_where=sa.text('signature IS NULL'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BIGRAMS)
        for name, (table, column) in BIGRAM_INDEXES.items():
            op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (xieshang_bigrams({column}))')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in BIGRAM_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
        op.execute('DROP FUNCTION IF EXISTS xieshang_bigrams(text)')
    op.drop_index('ix_topics_without_signature', table_name='topics',
                  sqlite_where=sa.text('signature IS NULL'), postgresql_where=sa.text('signature IS NULL'))

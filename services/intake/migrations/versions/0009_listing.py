"""listing index: topics by (channel, stage, id)

Revision ID: 0009_listing
Revises: 0008_public

`GET /topics?channel=…&stage=…` counts up to 10,000 matches and pages in id order; with
only the single-column indexes PostgreSQL ANDs two bitmaps of 125,000 and 143,000 rows
and reads 10,000 heap pages (70–100 ms over 1,000,000 topics, docs/benchmarks.md). The
composite index serves both the capped count and the keyset page (id order within one
channel and stage).
"""
from alembic import op

revision = '0009_listing'
down_revision = '0008_public'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_topics_channel_stage_id', 'topics', ['channel', 'stage', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_topics_channel_stage_id', table_name='topics')

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ingest.storage.tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('host',
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('blocked_until', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('host')
    )
    op.create_table('item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('guid', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('canonical_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('published', ingest.storage.tables.UTCDateTime(), nullable=True),
    sa.Column('updated', ingest.storage.tables.UTCDateTime(), nullable=True),
    sa.Column('fetched_at', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.Column('sort_time', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.Column('authors', sa.JSON(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('site_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('lead_image_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('lead_image_caption', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('lead_image_credit', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('blocks', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('entry_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_sort_time'), ['sort_time'], unique=False)
        batch_op.create_index('ix_item_source_sort', ['source', 'sort_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_story_id'), ['story_id'], unique=False)

    op.create_table('source',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('config_url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_modified', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_polled', ingest.storage.tables.UTCDateTime(), nullable=True),
    sa.Column('last_success', ingest.storage.tables.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_poll', ingest.storage.tables.UTCDateTime(), nullable=True),
    sa.Column('interval', sa.Float(), nullable=True),
    sa.Column('moved_to', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('moved_count', sa.Integer(), nullable=False),
    sa.Column('extracted', sa.Integer(), nullable=False),
    sa.Column('empty_bodies', sa.Integer(), nullable=False),
    sa.Column('missing_dates', sa.Integer(), nullable=False),
    sa.Column('missing_titles', sa.Integer(), nullable=False),
    sa.Column('feed_fallbacks', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('watchlist', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('created_at', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('sent_at', ingest.storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_state'), ['state'], unique=False)

    op.create_table('band',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'item_id')
    )
    op.create_table('fingerprint',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('kind', 'value')
    )
    with op.batch_alter_table('fingerprint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fingerprint_item_id'), ['item_id'], unique=False)

    op.create_table('hit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('watchlist', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('term', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('block', sa.Integer(), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('snippet', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('historical', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hit_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hit_watchlist'), ['watchlist'], unique=False)

    op.create_table('page',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('fetched_at', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id')
    )
    op.create_table('revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('fetched_at', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('blocks', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revision_item_id'), ['item_id'], unique=False)

    op.create_table('sighting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('seen_at', ingest.storage.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'source', 'url')
    )
    with op.batch_alter_table('sighting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sighting_item_id'), ['item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sighting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sighting_item_id'))

    op.drop_table('sighting')
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revision_item_id'))

    op.drop_table('revision')
    op.drop_table('page')
    with op.batch_alter_table('hit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hit_watchlist'))
        batch_op.drop_index(batch_op.f('ix_hit_item_id'))

    op.drop_table('hit')
    with op.batch_alter_table('fingerprint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fingerprint_item_id'))

    op.drop_table('fingerprint')
    op.drop_table('band')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_state'))

    op.drop_table('alert')
    op.drop_table('source')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_story_id'))
        batch_op.drop_index('ix_item_source_sort')
        batch_op.drop_index(batch_op.f('ix_item_sort_time'))

    op.drop_table('item')
    op.drop_table('host')

"""An index on sighting (source, url_hash): a poll skips links it has already seen as copies of stored items

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sighting_source_url_hash", "sighting", ["source", "url_hash"])


def downgrade() -> None:
    op.drop_index("ix_sighting_source_url_hash", table_name="sighting")

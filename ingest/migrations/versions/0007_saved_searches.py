"""web app: saved searches (the inbox's filters, per user or for everyone), with what was last seen

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ingest.storage.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.Text(), sa.ForeignKey("web_user.name", ondelete="CASCADE"), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", ingest.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("seen_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner", "name"),
    )
    op.create_index("ix_saved_search_owner", "saved_search", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_saved_search_owner", "saved_search")
    op.drop_table("saved_search")

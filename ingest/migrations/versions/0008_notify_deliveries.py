"""alerts to notify targets (Apprise URLs): one delivery row per (alert, target), and when each target was added

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ingest.storage.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id", ondelete="CASCADE"), nullable=False),
        sa.Column("watchlist", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", ingest.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", ingest.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("sent_at", ingest.storage.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "target"),
    )
    op.create_index("ix_delivery_due", "delivery", ["watchlist", "target", "state"])
    op.create_table(
        "notify_target",
        sa.Column("watchlist", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("since_alert", sa.Integer(), nullable=False),
        sa.Column("added_at", ingest.storage.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("watchlist", "target"),
    )


def downgrade() -> None:
    op.drop_table("notify_target")
    op.drop_index("ix_delivery_due", "delivery")
    op.drop_table("delivery")

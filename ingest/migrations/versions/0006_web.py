"""web app: triage state of items, users, sessions and API tokens

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ingest.storage.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = ingest.storage.tables.UTCDateTime
    op.create_table(
        "triage",
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reviewed", sa.Boolean(), nullable=False),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.Column("dismissed", sa.Boolean(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("item_id"),
    )
    for column in ("reviewed", "starred", "dismissed"):
        op.create_index(f"ix_triage_{column}", "triage", [column])
    op.create_table(
        "web_user",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    for table, extra in (("web_session", [sa.Column("expires_at", utc(), nullable=False)]),
                         ("api_token", [sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False)])):
        op.create_table(
            table,
            sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("username", sa.Text(), sa.ForeignKey("web_user.name", ondelete="CASCADE"), nullable=False),
            sa.Column("created_at", utc(), nullable=False),
            *extra,
            sa.PrimaryKeyConstraint("token_hash"),
        )


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("web_session")
    op.drop_table("web_user")
    for column in ("reviewed", "starred", "dismissed"):
        op.drop_index(f"ix_triage_{column}", "triage")
    op.drop_table("triage")

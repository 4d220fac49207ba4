"""bounded keys and hits: sightings unique by a hash of their link (a link over 2,704 bytes failed
PostgreSQL's index); hits carry their term's total occurrences (only the first 100 are stored from now on)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from ingest.storage.store import digest

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# PostgreSQL's own name for an unnamed UNIQUE constraint; the same name is given to SQLite's unnamed one
# when the batch copy reflects it, so both are dropped alike.
_NAMES = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}
_SIGHTING = sa.table("sighting", sa.column("id", sa.Integer), sa.column("url", sa.String),
                     sa.column("url_hash", sa.String))
_OLD_KEY_BYTES = 2000  # the longest link the old key (item_id, source, url) surely indexes on PostgreSQL


def _rows(batch: int = 1000):
    """(id, url) of every sighting, a batch at a time."""
    conn, last = op.get_bind(), 0
    while rows := conn.execute(sa.select(_SIGHTING.c.id, _SIGHTING.c.url).where(_SIGHTING.c.id > last)
                               .order_by(_SIGHTING.c.id).limit(batch)).all():
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("sighting") as batch_op:
        batch_op.add_column(sa.Column("url_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    update = (sa.update(_SIGHTING).where(_SIGHTING.c.id == sa.bindparam("b_id"))
              .values(url_hash=sa.bindparam("b_hash")))
    for rows in _rows():
        op.get_bind().execute(update, [{"b_id": i, "b_hash": digest(url)} for i, url in rows])
    with op.batch_alter_table("sighting", naming_convention=_NAMES) as batch_op:
        batch_op.alter_column("url_hash", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
        batch_op.drop_constraint("sighting_item_id_source_url_key", type_="unique")
        batch_op.create_unique_constraint("sighting_item_id_source_url_hash_key", ["item_id", "source", "url_hash"])
    with op.batch_alter_table("hit") as batch_op:
        batch_op.add_column(sa.Column("total", sa.Integer(), server_default="1", nullable=False))
    # Hits stored so far were never capped: the rows of a term are its total.
    op.execute("UPDATE hit SET total = (SELECT count(*) FROM hit AS h WHERE h.item_id = hit.item_id"
               " AND h.watchlist = hit.watchlist AND h.term = hit.term)")


def downgrade() -> None:
    """Refused on PostgreSQL while a sighting's link is longer than the old key can index (never dropped silently:
    delete those rows first); SQLite's indexes have no such limit."""
    if op.get_bind().dialect.name == "postgresql":
        long = sum(len(url.encode("utf-8")) > _OLD_KEY_BYTES for rows in _rows() for _, url in rows)
        if long:
            raise RuntimeError(f"{long} sightings have links over {_OLD_KEY_BYTES} bytes, more than revision 0003's "
                               f"index can hold: delete them (DELETE FROM sighting WHERE octet_length(url) > "
                               f"{_OLD_KEY_BYTES}) to downgrade")
    with op.batch_alter_table("hit") as batch_op:
        batch_op.drop_column("total")
    with op.batch_alter_table("sighting", naming_convention=_NAMES) as batch_op:
        batch_op.drop_constraint("sighting_item_id_source_url_hash_key", type_="unique")
        batch_op.create_unique_constraint("sighting_item_id_source_url_key", ["item_id", "source", "url"])
        batch_op.drop_column("url_hash")

"""clean control characters out of stored text (issue 25)

Items stored before text was cleaned at the record boundary (`ingest.text.clean_text`) are cleaned
here: title, authors, site name, lead caption and credit, blocks and the body text, the `meta` JSON;
revisions' titles and blocks; hits' text and snippets, with their offsets moved so that
`field_text[start:end] == text` still holds.  A block left empty is dropped and the block
indices of later hits follow.  The full-text index follows by itself: SQLite's triggers on
`item`, PostgreSQL's generated column.  Nothing to undo on the way down.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-04
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from ingest.text import clean_text, removed_before

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 500
_item = sa.table("item", sa.column("id", sa.Integer), sa.column("title", sa.Text), sa.column("authors", sa.JSON),
                 sa.column("site_name", sa.Text), sa.column("lead_image_caption", sa.Text),
                 sa.column("lead_image_credit", sa.Text), sa.column("blocks", sa.JSON), sa.column("text", sa.Text),
                 sa.column("meta", sa.JSON))
_revision = sa.table("revision", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                     sa.column("blocks", sa.JSON))
_hit = sa.table("hit", sa.column("id", sa.Integer), sa.column("item_id", sa.Integer), sa.column("field", sa.Text),
                sa.column("block", sa.Integer), sa.column("start", sa.Integer), sa.column("end", sa.Integer),
                sa.column("text", sa.Text), sa.column("snippet", sa.Text))


def _clean(value: Any) -> Any:
    """Every string in a value, JSON lists and objects included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


def _blocks(blocks: list[dict]) -> tuple[list[dict], dict[int, int]]:
    """Cleaned blocks without the ones left empty, and where each kept block's index went."""
    kept, moved = [], {}
    for i, block in enumerate(blocks):
        block = _clean(block)
        if block.get("text", "").strip():
            moved[i] = len(kept)
            kept.append(block)
    return kept, moved


def _rows(conn: sa.Connection, table: sa.TableClause) -> Any:
    last = 0
    while rows := conn.execute(sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(_BATCH)).all():
        yield from rows
        last = rows[-1].id


def _fix_hits(conn: sa.Connection, item: Any, moved: dict[int, int]) -> None:
    for hit in conn.execute(sa.select(_hit).where(_hit.c.item_id == item.id)).all():
        old = item.title or "" if hit.field == "title" else (item.blocks[hit.block]["text"]
                                                              if hit.block < len(item.blocks) else "")
        shift = removed_before(old)
        start, end = (hit.start - shift[hit.start], hit.end - shift[hit.end]) if hit.end < len(shift) else (
            hit.start, hit.end)  # an offset outside its text was wrong before: left as it was
        conn.execute(_hit.update().where(_hit.c.id == hit.id).values(
            block=hit.block if hit.field == "title" else moved.get(hit.block, hit.block),
            start=start, end=end, text=clean_text(hit.text), snippet=clean_text(hit.snippet)))


def upgrade() -> None:
    conn = op.get_bind()
    for item in _rows(conn, _item):
        blocks, moved = _blocks(item.blocks or [])
        values = {"title": clean_text(item.title) or None if item.title else item.title,
                  "authors": [a for a in _clean(item.authors or []) if a.strip()],
                  "site_name": _clean(item.site_name), "lead_image_caption": _clean(item.lead_image_caption),
                  "lead_image_credit": _clean(item.lead_image_credit), "blocks": blocks, "meta": _clean(item.meta)}
        if all(values[name] == getattr(item, name) for name in values):
            continue
        values["text"] = "\n\n".join(b["text"] for b in blocks if b.get("kind") != "caption")
        conn.execute(_item.update().where(_item.c.id == item.id).values(**values))
        _fix_hits(conn, item, moved)
    for rev in _rows(conn, _revision):
        title, (blocks, _) = _clean(rev.title), _blocks(rev.blocks or [])
        if (title, blocks) != (rev.title, rev.blocks):
            conn.execute(_revision.update().where(_revision.c.id == rev.id).values(title=title, blocks=blocks))


def downgrade() -> None:
    pass  # the removed characters are not kept

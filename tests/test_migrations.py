"""Migrations on both backends: from an empty database, one revision at a time, and back down."""

import signal
import subprocess
import sys
import time

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ingest.storage import migrate
from ingest.storage.store import Store


def _revisions() -> list[str]:
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_each_revision_upgrades_from_the_previous_and_downgrades(db_url):
    store = Store(db_url)
    revisions = _revisions()
    assert revisions[0] == "0001" and revisions[-1] == migrate.head_revision()
    for revision in revisions:
        migrate.upgrade(store.engine, revision)
        assert migrate.current_revision(store.engine) == revision
    assert {"item", "fingerprint", "hit", "alert", "watchlist_state"} <= set(inspect(store.engine).get_table_names())
    migrate.downgrade(store.engine, "base")
    assert migrate.current_revision(store.engine) is None
    assert "item" not in inspect(store.engine).get_table_names()
    store.prepare()  # an emptied database is set up again
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    store.close()


def test_0005_cleans_rows_stored_raw_at_0004(db_url):
    """Rows stored before text was cleaned: cleaned in place, hits still point at their text, search follows."""
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from ingest.storage.records import article_of
    from ingest.storage.store import ItemQuery
    from ingest.storage.tables import HitRow, ItemRow, RevisionRow

    store = Store(db_url)
    migrate.upgrade(store.engine, "0004")
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    title = "\x1b]0;pw\x07ned\x07\x1b[2J CSTO"
    blocks = [{"kind": "caption", "text": "Lead\x9b2J caption"}, {"kind": "paragraph", "text": "\x1b\x07"},
              {"kind": "paragraph", "text": "Red\x1b[31m\r\nalert: CSTO met"}]
    text = "\n\n".join(b["text"] for b in blocks[1:])
    with store.engine.begin() as conn:
        conn.execute(sa.insert(ItemRow.__table__).values(
            id=1, source="s", url="http://example.org/a", title=title, fetched_at=now, sort_time=now,
            authors=["Mallory\x9b0m", "\x07"], lead_image_caption="Lead\x9b2J caption", blocks=blocks, text=text,
            origin="page", meta={"tags": ["t\x07ag"], "section": "W\x85orld"}, revision=0))
        conn.execute(sa.insert(RevisionRow.__table__).values(
            item_id=1, number=0, fetched_at=now, title="Old\x07", blocks=[{"kind": "paragraph", "text": "o\x1bld"}]))
        for field, block, source in (("title", 0, title), ("body", 2, blocks[2]["text"])):
            start = source.index("CSTO")
            conn.execute(sa.insert(HitRow.__table__).values(
                item_id=1, watchlist="w", version="v", term="CSTO", field=field, block=block, start=start,
                end=start + 4, text="CSTO", snippet="…\x1b[[CSTO]]", revision=0, historical=False))
    migrate.upgrade(store.engine, "0005")
    stored = article_of(store.get(1).item)
    assert stored.title == "]0;pwned[2J CSTO"
    assert stored.authors == ["Mallory0m"]
    assert [b.text for b in stored.blocks] == ["Lead2J caption", "Red[31m\nalert: CSTO met"]
    assert stored.lead_image.caption == "Lead2J caption"
    assert (stored.tags, stored.section) == (["tag"], "World")
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(ItemRow.__table__.c.text)).scalar() == "Red[31m\nalert: CSTO met"
        assert conn.execute(sa.select(RevisionRow.__table__.c.title)).scalar() == "Old"
        hits = conn.execute(sa.select(HitRow.__table__).order_by(HitRow.__table__.c.id)).all()
    fields = {"title": stored.title, "body": None}
    for hit in hits:
        source = fields[hit.field] or stored.blocks[hit.block].text
        assert hit.block in (0, 1) and source[hit.start:hit.end] == hit.text == "CSTO"
        assert hit.snippet == "…[[CSTO]]"
    # The full-text index holds the cleaned words: "pw<BEL>ned" was two words, "pwned" is one now.
    assert [i.item.id for i in store.query(ItemQuery(search="pwned"))] == [1]
    assert [i.item.id for i in store.query(ItemQuery(search="alert"))] == [1]
    store.close()


# Runs `ingest db upgrade` in this interpreter, pausing (and touching PAUSED) at the first statement after
# the first revision was stamped, i.e. in the middle of the upgrade, where the test kills it.
_PAUSING_UPGRADE = """
import sys, time
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.engine import Engine
from ingest.cli import main

stamped = []

@event.listens_for(Engine, "before_cursor_execute")
def pause(conn, cursor, statement, params, context, executemany):
    if stamped:
        Path(sys.argv[2]).touch()
        time.sleep(120)
    if statement.lstrip().upper().startswith("INSERT INTO ALEMBIC_VERSION"):
        stamped.append(statement)

main(["--config", sys.argv[1], "db", "upgrade"])
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_an_upgrade_killed_midway_is_completed_by_the_next(db_url, tmp_path, signum):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    paused = tmp_path / "paused"
    proc = subprocess.Popen([sys.executable, "-c", _PAUSING_UPGRADE, str(config), str(paused)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not paused.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the upgrade never reached its second revision"
            time.sleep(0.05)
        proc.send_signal(signum)
        assert proc.wait(30) != 0
    finally:
        proc.kill()
        proc.communicate()
    again = subprocess.run([sys.executable, "-m", "ingest", "--config", str(config), "db", "upgrade"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"database schema: empty -> {migrate.head_revision()}")
    store = Store(db_url)
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision()
        assert {"item", "fingerprint", "hit", "alert"} <= set(inspect(store.engine).get_table_names())
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        store.close()

"""Long URLs and GUIDs fit every index on both backends: new items, duplicates and their sightings.

PostgreSQL's btree refuses an index entry over 2,704 bytes, so a duplicate whose link is 4 kB used to fail
its source's every poll ("index row size ... exceeds btree version 4 maximum 2704 for index
sighting_item_id_source_url_key"). Every poll here is real: feeds and pages served on loopback.
"""

from __future__ import annotations

import html
import random
import string
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from ingest.config import Source
from ingest.storage import migrate
from ingest.storage.store import Store
from ingest.storage.tables import ItemRow, SightingRow
from tests.helpers.polling import polling
from tests.helpers.site import page

SIZES = (4_000, 100_000)


def _noise(n: int, seed: str) -> str:
    """`n` URL-safe characters that do not compress (PostgreSQL compresses long index entries first)."""
    rng = random.Random(f"{seed}{n}")
    return "".join(rng.choices(string.ascii_letters + string.digits + "-._~", k=n))


def _words(seed: str) -> str:
    """Sixty words of text unique to `seed`: enough for a content fingerprint of its own."""
    return " ".join(f"{seed}word{i} report" for i in range(30))


def _rss(entries: list[tuple[str, str, str, str]], build: str) -> str:
    """entries: (guid, link, title, description)."""
    xml = "".join(f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
                  f'<guid isPermaLink="false">{html.escape(g)}</guid><description>{html.escape(d)}</description>'
                  "</item>" for g, link, t, d in entries)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
            f"<description>d</description><lastBuildDate>{build}</lastBuildDate>{xml}</channel></rss>")


@pytest.fixture
def poller(tmp_path, db_url):
    with polling(tmp_path, db_url, "robots = false") as p:
        yield p


def test_long_urls_and_guids_new_and_duplicate_are_stored_and_polled_again(poller):
    srv, store, pipeline = poller
    own, copies = [], []
    for n in SIZES:
        # A page at a 4 kB address is fetched; a 100 kB request line is refused (414) and the feed's text is used.
        path, other_path = "/a/" + _noise(n, "a"), "/copy/" + _noise(n, "c")
        link, other = srv.url(path), srv.url(other_path)
        body = [_words(f"a{n}"), _words(f"b{n}")]
        for p in (path, other_path):
            srv.route(p, page(f"Article {n}", body), headers={"Content-Type": "text/html; charset=utf-8"})
        text = "\n".join(body)
        own.append((_noise(n, "g"), link, f"Article {n}", text))
        copies.append((f"copy-{n}", link, f"Article {n}", text))  # the same link: a duplicate before any fetch
        copies.append((_noise(n, "h"), other, f"Article {n}", text))  # another link, the same text: a duplicate after
    sources = [Source(name="own", url=srv.url("/own.xml")), Source(name="copies", url=srv.url("/copies.xml"))]
    for build in ("1", "2"):  # the second poll: both feeds changed (no 304), every entry decided again
        srv.route("/own.xml", _rss(own, build), headers={"Content-Type": "application/rss+xml"})
        srv.route("/copies.xml", _rss(copies, build), headers={"Content-Type": "application/rss+xml"})
        results = [pipeline.poll(s) for s in sources]
        assert [(r.error, r.failed) for r in results] == [(None, 0), (None, 0)], [r.entry_error for r in results]
        assert [r.new for r in results] == ([2, 0] if build == "1" else [0, 0])
        assert results[1].duplicates == 4
    with Session(store.engine) as s:
        stored = s.exec(select(ItemRow.source, ItemRow.guid, ItemRow.url)).all()
        sightings = s.exec(select(SightingRow.item_id, SightingRow.source, SightingRow.url)).all()
    assert sorted((g, u) for _, g, u in stored) == sorted((g, u) for g, u, _, _ in own)
    # One sighting per copy, each with its full link, kept once however often it is seen.
    assert sorted(u for _, _, u in sightings) == sorted(u for _, u, _, _ in copies)
    assert {src for _, src, _ in sightings} == {"copies"}


def test_migration_0004_keeps_sightings_keyed_by_a_hash_and_gives_hits_their_totals(db_url):
    store = Store(db_url)
    migrate.upgrade(store.engine, "0003")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO item (id, source, url, fetched_at, sort_time, authors, blocks, text, origin,"
                             " meta, revision) VALUES (1, 's', 'http://a/', '2026-01-01 00:00:00',"
                             " '2026-01-01 00:00:00', '[]', '[]', '', 'page', '{}', 0)")
        conn.exec_driver_sql("INSERT INTO sighting (item_id, source, url, by, seen_at) VALUES"
                             " (1, 'other', 'http://b/é', 'url', '2026-01-02 00:00:00')")
        conn.execute(text('INSERT INTO hit (item_id, watchlist, version, term, field, block, start, "end", text,'
                          " snippet, revision, historical) VALUES (1, 'csto', 'v1', :term, 'body', 0, :start, :end,"
                          " :term, '', 0, false)"),  # stored before hits were capped
                     [{"term": t, "start": n, "end": n + 4} for t, n in (("CSTO", 0), ("CSTO", 9), ("ОДКБ", 20))])
    migrate.upgrade(store.engine, "0004")
    with store.engine.connect() as conn:
        totals = conn.exec_driver_sql("SELECT term, total FROM hit ORDER BY id").all()
    assert [tuple(r) for r in totals] == [("CSTO", 2), ("CSTO", 2), ("ОДКБ", 1)]
    seen = datetime(2026, 1, 3, tzinfo=timezone.utc)
    long = "http://b/" + _noise(100_000, "b")
    for url in ("http://b/é", long, long):  # seen before the migration, new, seen again: one row each
        store.add_sightings([{"item_id": 1, "source": "other", "url": url, "by": "url", "seen_at": seen}])
    with Session(store.engine) as s:
        rows = s.exec(select(SightingRow).order_by(SightingRow.id)).all()
    assert [(r.item_id, r.source, r.url, r.by) for r in rows] == [(1, "other", "http://b/é", "url"),
                                                                  (1, "other", long, "url")]
    assert all(len(r.url_hash) == 64 for r in rows)
    if store.engine.dialect.name == "postgresql":  # the old key cannot index the long link: refused, nothing lost
        with pytest.raises(RuntimeError, match="1 sightings have links over 2000 bytes"):
            migrate.downgrade(store.engine, "0003")
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM sighting WHERE octet_length(url) > 2000")
    migrate.downgrade(store.engine, "0003")
    with store.engine.connect() as conn:
        urls = [u for (u,) in conn.exec_driver_sql("SELECT url FROM sighting ORDER BY id")]
    assert urls == (["http://b/é", long] if store.engine.dialect.name == "sqlite" else ["http://b/é"])
    store.close()

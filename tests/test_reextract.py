"""Raw pages are kept: `reextract` rebuilds records without refetching; `check-source` previews extraction."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import text

from ingest.storage.store import Store
from tests.helpers.cli import ingest, items, write_config
from tests.helpers.paths import SEED_PAGE
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_reextract_rebuilds_records_and_reruns_watchlists(tmp_path, gzipped):
    html = SEED_PAGE.read_bytes()
    sent = gzip.compress(html) if gzipped else html
    with LocalServer() as srv:
        srv.route("/a/1.html", sent, headers={"Content-Type": "text/html; charset=utf-8",
                                              **({"Content-Encoding": "gzip"} if gzipped else {})})
        srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "Armenia")]), headers={"Content-Type": "application/rss+xml"})
        config = write_config(tmp_path, [("rferl", srv.url("/feed.xml"))])
        ingest(config, "fetch")
        page_hits = srv.hits["/a/1.html"]
        [item] = items(config)
        before = json.loads(ingest(config, "show", str(item["id"]), "--format", "json").stdout)
        store = Store(f"sqlite:///{tmp_path / 'ingest.db'}")
        with store.engine.begin() as conn:
            stored = conn.execute(text("select body from page")).scalar_one()
            # A gzip page is kept as it was sent, not inflated and compressed again; a plain one is compressed.
            assert (stored == sent) if gzipped else (len(stored) < len(html) and stored != sent)
            # Pretend an older extractor produced a poorer record: one block, no hits.
            conn.execute(text("update item set blocks = :b, text = 'stub' where id = :i"),
                         {"b": json.dumps([{"kind": "paragraph", "text": "stub"}]), "i": item["id"]})
            conn.execute(text("delete from hit"))
        store.close()
        assert items(config)[0]["watchlists"] == []
        out = ingest(config, "reextract", "--source", "rferl").stdout
        assert out.strip() == "re-extracted 1 item, 1 changed"
        assert srv.hits["/a/1.html"] == page_hits  # nothing was fetched again
    after = json.loads(ingest(config, "show", str(item["id"]), "--format", "json").stdout)
    assert after["blocks"] == before["blocks"] and after["text"] == before["text"]
    assert sorted({h["watchlist"] for h in after["hits"]}) == ["article-2", "csto"]
    assert after["revision"] == 0  # a re-extraction is not a revision of the article


def test_check_source_shows_blocks_and_stores_nothing(tmp_path):
    with LocalServer() as srv:
        srv.route("/a/1.html", SEED_PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "Armenia")]), headers={"Content-Type": "application/rss+xml"})
        config = write_config(tmp_path, [("rferl", srv.url("/feed.xml"))])
        out = ingest(config, "check-source", "rferl").stdout
    assert "from the page" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("   ") and not line.startswith("   from")]
    assert lines[0][:3] == ["caption", "Armenia", "-"]
    assert ["paragraph", "Armenia", "on", "Friday"] == lines[1][:4]
    assert items(config) == []
    assert ingest(config, "check-source", "nope", check=False).returncode == 2


def test_sources_reports_extraction_health(tmp_path):
    with LocalServer() as srv:
        srv.route("/a/1.html", SEED_PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/a/2.html", b"<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>", headers={"Content-Type": "text/html"})
        srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "Armenia"), ("2", "/a/2.html", "Empty page")]),
                  headers={"Content-Type": "application/rss+xml"})
        config = write_config(tmp_path, [("rferl", srv.url("/feed.xml"))])
        ingest(config, "fetch")
    status = ingest(config, "sources").stdout
    assert "; 2 items; extraction: 2 entries, 1 empty body," in status and "1 from feed content" in status

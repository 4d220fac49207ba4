"""One entry repeating a term 100,000 times stores at most MAX_HITS_PER_TERM hits and remembers the total.

Unbounded, that entry stored 100,001 hit rows (a 22 MB database for 500 kB of text) and `show --format
json` printed 40 MB. Fetched through the real CLI from a loopback server, on both backends.
"""

from __future__ import annotations

import json

from ingest.watchlists.matcher import MAX_HITS_PER_TERM
from tests.helpers.cli import ingest, write_config
from tests.helpers.servers import LocalServer
from tests.helpers.site import page, serve_feed, serve_page

REPEATS = 100_000


def test_a_term_repeated_100000_times_stores_100_hits_and_the_total(tmp_path, db_url):
    paragraphs = [" ".join(["CSTO"] * 100)] * (REPEATS // 100)  # 500 kB of text
    with LocalServer() as srv:
        serve_page(srv, "/a/1.html", page("A summit", paragraphs))
        serve_feed(srv, "/feed.xml", [("1", srv.url("/a/1.html"), "A summit")])
        config = write_config(tmp_path, [("spam", srv.url("/feed.xml"))], db_url=db_url)
        assert ingest(config, "fetch").stdout.strip() == "spam: 1 new, 0 duplicate, 0 failed, 1 flagged"
    shown = ingest(config, "show", "1", "--format", "json").stdout
    hits = json.loads(shown)["hits"]
    assert len(hits) == MAX_HITS_PER_TERM == 100
    assert {(h["watchlist"], h["term"], h["total"]) for h in hits} == {("csto", "CSTO", REPEATS)}
    assert [(h["block"], h["start"]) for h in hits] == [(n // 100, 5 * (n % 100)) for n in range(100)]  # the first
    assert len(shown.encode()) < 1_500_000  # the article itself is ~1 MB of JSON (blocks and text): hits add little
    explained = ingest(config, "explain", "1").stdout
    assert "csto 'CSTO': 100 of 100,000 shown" in explained
    if db_url.startswith("sqlite"):
        database = (tmp_path / "ingest.db").stat().st_size + _size(tmp_path / "ingest.db-wal")
        print(f"hits stored {len(hits)}, database {database:,} bytes, show --format json {len(shown.encode()):,} bytes")
        assert database < 3_000_000


def _size(path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_watchlists_test_counts_every_occurrence(tmp_path):
    config = write_config(tmp_path, [])
    out = ingest(config, "watchlists", "test", "csto", " ".join(["CSTO"] * 150)).stdout.splitlines()
    assert out[0] == "csto: 150 hits (the first 100 of each term shown)"
    assert len(out) == 1 + MAX_HITS_PER_TERM

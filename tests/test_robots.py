"""robots.txt is honored for article pages; a missing one allows everything."""

from __future__ import annotations

import json

from tests.helpers.cli import ingest, items, write_config
from tests.helpers.paths import OTHER_PAGE, SEED_PAGE
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss


def _site(srv: LocalServer, robots: str | None) -> None:
    if robots is not None:
        srv.route("/robots.txt", robots, headers={"Content-Type": "text/plain"})
    srv.route("/a/1.html", SEED_PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
    srv.route("/private/2.html", OTHER_PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
    srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "Armenia"), ("2", "/private/2.html", "Metro")]),
              headers={"Content-Type": "application/rss+xml"})


def test_disallowed_page_is_not_fetched_and_the_feed_text_is_used(tmp_path):
    with LocalServer() as srv:
        _site(srv, "User-agent: *\nDisallow: /private/\n")
        config = write_config(tmp_path, [("site", srv.url("/feed.xml"))])
        out = ingest(config, "fetch")
        assert srv.hits["/private/2.html"] == 0 and srv.hits["/a/1.html"] == 1
        assert srv.hits["/robots.txt"] == 1  # once per host, not per page
    assert out.stdout.startswith("site: 2 new")
    assert "robots.txt disallows" in out.stderr
    origins = {i["title"]: json.loads(ingest(config, "show", str(i["id"]), "--format", "json").stdout)["origin"]
               for i in items(config)}
    assert sorted(origins.values()) == ["feed", "page"]


def test_missing_robots_txt_allows_everything(tmp_path):
    with LocalServer() as srv:
        _site(srv, None)
        config = write_config(tmp_path, [("site", srv.url("/feed.xml"))])
        ingest(config, "fetch")
        assert srv.hits["/private/2.html"] == 1

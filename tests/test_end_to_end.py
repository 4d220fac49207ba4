"""The whole pipeline through the real CLI, against feeds and pages served on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from tests.helpers.cli import ingest, items, write_config
from tests.helpers.paths import OTHER_PAGE, SEED_PAGE, SEED_TEXT
from tests.helpers.site import rss
from tests.helpers.waiting import wait_for


def test_fetch_show_and_flag(site, tmp_path, db_url):
    config = write_config(tmp_path, [("azatutyun-test", site.url("/feed.xml"))], db_url=db_url)
    out = ingest(config, "fetch")
    assert out.stdout.strip() == "azatutyun-test: 2 new, 0 duplicate, 0 failed, 1 flagged"

    stored = {i["title"]: i for i in items(config)}
    seed = stored["Armenia Backs Alliance With Russia, Other Ex-Soviet States"]
    other = stored["Yerevan Opens New Metro Station After Decade of Delays"]
    assert seed["watchlists"] == ["article-2", "csto"]
    assert other["watchlists"] == []  # sidebar and related headlines name watched terms; the body does not

    # The text form starts with a header block (up to the first blank line), then reproduces the seed article exactly.
    text = ingest(config, "show", str(seed["id"])).stdout
    header, body = text.split("\n\n", 1)
    fields = dict(line.split(":", 1) for line in header.splitlines())
    assert list(fields) == ["source", "published", "fetched", "authors", "url", "watchlists"]
    assert fields["source"].strip() == "azatutyun-test" and fields["watchlists"].strip() == "article-2, csto"
    assert fields["published"].strip().startswith("2022-06-10 ") and fields["published"].endswith(" UTC") and fields["url"].strip() == site.url("/a/31892678.html")
    assert body == SEED_TEXT.read_text(encoding="utf-8").rstrip("\n") + "\n"

    record = json.loads(ingest(config, "show", str(seed["id"]), "--format", "json").stdout)
    assert record["canonical_url"] == "https://www.azatutyun.am/a/31892678.html"
    assert record["published"].startswith("2022-06-10")
    assert record["language"] == "en"
    assert record["origin"] == "page"
    assert record["blocks"][0]["kind"] == "caption"
    assert record["lead_image"]["caption"] == record["blocks"][0]["text"]
    assert {f["kind"] for f in record["fingerprints"]} >= {"guid", "url", "content"}
    by_list = {}
    for hit in record["hits"]:
        block_text = record["title"] if hit["field"] == "title" else record["blocks"][hit["block"]]["text"]
        assert block_text[hit["start"]:hit["end"]] == hit["text"]
        by_list.setdefault(hit["watchlist"], []).append(hit)
    assert {h["text"] for h in by_list["article-2"]} == {"Article 2"}
    assert {h["text"] for h in by_list["csto"]} >= {"CSTO", "Collective Security Treaty Organization"}
    first_a2 = by_list["article-2"][0]
    assert record["blocks"][first_a2["block"]]["text"].startswith("The Armenian government appealed")

    assert [i["id"] for i in items(config, "--watchlist", "article-2")] == [seed["id"]]


def test_second_fetch_stores_nothing_new_and_fetches_no_pages(site, tmp_path, db_url):
    config = write_config(tmp_path, [("azatutyun-test", site.url("/feed.xml"))], db_url=db_url)
    ingest(config, "fetch")
    page_hits = site.hits["/a/31892678.html"]
    # Same feed under a new build date (so no 304): every entry is a known duplicate.
    site.route("/feed.xml", rss(site, [
        ("31892678", "/a/31892678.html", "Armenia Backs Alliance With Russia, Other Ex-Soviet States"),
        ("31890001", "/a/31890001.html", "Yerevan Opens New Metro Station After Decade of Delays"),
    ], build="Sat, 11 Jun 2022 12:00:00 GMT"), headers={"Content-Type": "application/rss+xml"})
    out = ingest(config, "fetch")
    assert out.stdout.strip() == "azatutyun-test: 0 new, 2 duplicate, 0 failed, 0 flagged"
    assert site.hits["/a/31892678.html"] == page_hits
    # Unchanged feed: the server answers 304 to our conditional GET.
    out = ingest(config, "fetch")
    assert "0 new" in out.stdout and "(not modified)" in out.stdout
    assert len(items(config)) == 2


def test_same_story_under_another_guid_and_url_shape_is_a_duplicate(site, tmp_path, db_url):
    config = write_config(tmp_path, [("azatutyun-test", site.url("/feed.xml"))], db_url=db_url)
    ingest(config, "fetch")
    site.route("/copy/seed.html", SEED_PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
    site.route("/feed.xml", rss(site, [
        ("rotated-guid-1", "/a/31892678.html?utm_source=rss#top", "Armenia Backs Alliance (updated headline)"),
        ("rotated-guid-2", "/copy/seed.html", "Same page under another path"),
    ], build="Sun, 12 Jun 2022 12:00:00 GMT"), headers={"Content-Type": "application/rss+xml"})
    out = ingest(config, "fetch")
    assert out.stdout.strip() == "azatutyun-test: 0 new, 2 duplicate, 0 failed, 0 flagged"


def test_daemon_ingests_new_entry_and_stops_on_sigterm(site, tmp_path, db_url):
    config = write_config(tmp_path, [("azatutyun-test", site.url("/feed.xml"))], every="1s", db_url=db_url)
    log = open(tmp_path / "daemon.log", "w+")  # a file, not a pipe: a full pipe would block the daemon
    daemon = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                              stdout=log, stderr=log, text=True)
    try:
        wait_for(lambda: len(items(config)) == 2, "first poll")
        tram = OTHER_PAGE.read_bytes().replace(b"Metro Station", b"Tram Line").replace(b"metro station", b"tram line")
        tram = tram.replace(b"31890001", b"31890003")  # its own canonical URL
        site.route("/a/3.html", tram,
                   headers={"Content-Type": "text/html; charset=utf-8"})
        site.route("/feed.xml", rss(site, [
            ("3", "/a/3.html", "Yerevan Opens New Tram Line"),
            ("31892678", "/a/31892678.html", "Armenia Backs Alliance With Russia, Other Ex-Soviet States"),
            ("31890001", "/a/31890001.html", "Yerevan Opens New Metro Station After Decade of Delays"),
        ], build="Mon, 13 Jun 2022 12:00:00 GMT"), headers={"Content-Type": "application/rss+xml"})
        wait_for(lambda: len(items(config)) == 3, "the added entry")
        # A second daemon on the same database refuses to start.
        second = ingest(config, "run", check=False)
        assert second.returncode == 1 and "already" in second.stderr
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            code = daemon.wait(timeout=30)
        finally:
            daemon.kill()
    log.seek(0)
    stderr = log.read()
    assert code == 0, stderr
    assert "daemon_stopped" in stderr
    assert any("Tram Line" in i["title"] for i in items(config))

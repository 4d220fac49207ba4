"""Bad input never stops the other sources and always says, in one line, what and where."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.cli import ingest, write_config
from tests.helpers.paths import OTHER_PAGE
from tests.helpers.ports import closed_port_url
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss


def test_bad_config_exits_2_with_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[fetch]\ntimeout = "soon"\n')
    proc = ingest(config, "fetch", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(config) in lines[0] and "fetch.timeout" in lines[0]


def test_bad_cli_arguments_exit_2_with_one_line(tmp_path, db_url):
    config = write_config(tmp_path, [("a", "https://example.org/a.xml")], db_url=db_url)
    for args in (("query", "--since", "the other day"), ("show", "abc"), ("fetch", "--source", "nope"),
                 ("query", "--format", "yaml"), ("nosuchcommand",), ("prune", "--keep", "forever")):
        proc = ingest(config, *args, check=False)
        assert proc.returncode == 2, args
        assert proc.stderr.startswith("ingest: error: ") and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "Missing command" in ingest(config, check=False).stderr
    bare = subprocess.run([sys.executable, "-m", "ingest"], capture_output=True, text=True, timeout=60)
    assert bare.returncode == 2 and "Commands:" in bare.stdout + bare.stderr  # nothing at all: click's help
    keep = ingest(config, "prune", "--keep", "forever", check=False).stderr
    assert keep.count("--keep") == 1 and "'forever'" in keep


def test_db_upgrade_at_head_says_up_to_date(tmp_path, db_url):
    config = write_config(tmp_path, [], db_url=db_url)
    assert "-> " in ingest(config, "db", "upgrade").stdout
    assert ingest(config, "db", "upgrade").stdout.startswith("database schema: up to date at ")


def test_db_upgrade_of_an_unreachable_server_is_one_line_without_the_password(tmp_path):
    port = closed_port_url().split(":")[2].split("/")[0]
    config = write_config(tmp_path, [], db_url=f"postgresql+psycopg://u:s3cret@127.0.0.1:{port}/x")
    proc = ingest(config, "db", "upgrade", check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"ingest: error: cannot open database postgresql+psycopg://u:***@127.0.0.1:{port}/x: ")
    assert len(proc.stderr.strip().splitlines()) == 1 and "s3cret" not in proc.stderr


def test_failing_sources_do_not_stop_healthy_ones(tmp_path, db_url):
    with LocalServer() as srv:
        srv.route("/a/1.html", OTHER_PAGE.read_bytes(), headers={"Content-Type": "text/html"})
        srv.route("/good.xml", rss(srv, [("1", "/a/1.html", "Metro")]), headers={"Content-Type": "application/rss+xml"})
        srv.route("/html.xml", "<html><body><p>Not a feed at all</p></body></html>", headers={"Content-Type": "text/html"})
        srv.route("/broken.xml", "<rss><channel><item><title>unterminated", headers={"Content-Type": "application/rss+xml"})
        srv.route("/missing.xml", "gone", status=404)
        config = write_config(tmp_path, [
            ("unreachable", closed_port_url()),
            ("html-page", srv.url("/html.xml")),
            ("broken-feed", srv.url("/broken.xml")),
            ("missing", srv.url("/missing.xml")),
            ("good", srv.url("/good.xml")),
        ], db_url=db_url)
        proc = ingest(config, "fetch", check=False)
    assert proc.returncode == 3, proc.stderr
    lines = dict(line.split(": ", 1) for line in proc.stdout.strip().splitlines())
    assert lines["good"] == "1 new, 0 duplicate, 0 failed, 0 flagged"
    for name in ("unreachable", "html-page", "broken-feed", "missing"):
        assert lines[name].startswith("FAILED "), lines[name]
    assert "404" in lines["missing"]
    state = ingest(config, "sources").stdout
    assert "unreachable: backing off until" in state and "after 1 failure;" in state and "good: ok" in state


def test_page_that_is_not_html_falls_back_to_feed_content(tmp_path, db_url):
    with LocalServer() as srv:
        srv.route("/doc.pdf", b"%PDF-1.4 binary", headers={"Content-Type": "application/pdf"})
        feed = rss(srv, [("1", "/doc.pdf", "Report On CSTO Exercises")])
        srv.route("/feed.xml", feed, headers={"Content-Type": "application/rss+xml"})
        config = write_config(tmp_path, [("docs", srv.url("/feed.xml"))], db_url=db_url)
        proc = ingest(config, "fetch")
    assert proc.stdout.strip() == "docs: 1 new, 0 duplicate, 0 failed, 1 flagged"
    assert "not HTML" in proc.stderr and "docs" in proc.stderr
    [item] = json.loads(ingest(config, "query", "--format", "json").stdout)
    record = json.loads(ingest(config, "show", str(item["id"]), "--format", "json").stdout)
    assert record["origin"] == "feed"
    assert record["metadata_sources"]["title"] == "feed"


def test_all_sources_failing_exits_1(tmp_path, db_url):
    config = write_config(tmp_path, [("unreachable", closed_port_url())], db_url=db_url)
    proc = ingest(config, "fetch", check=False)
    assert proc.returncode == 1
    assert proc.stdout.startswith("unreachable: FAILED ")
    assert len(proc.stdout.strip().splitlines()) == 1

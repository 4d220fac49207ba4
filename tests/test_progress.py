"""Long commands show progress on a terminal and stay quiet in pipes (issue 18, point 9)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import ingest, write_config
from tests.helpers.paths import OTHER_PAGE
from tests.helpers.ports import closed_port_url
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss


def on_terminal(config: Path, *args: str) -> str:
    """Run `ingest` with stdout and stderr on a pseudo-terminal; everything it wrote there."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), *args],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env={**os.environ, "COLUMNS": "100"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) in (0, 3)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def site_config(tmp_path):
    with LocalServer() as srv:
        srv.route("/a/1.html", OTHER_PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "Metro station opens")]),
                  headers={"Content-Type": "application/rss+xml"})
        yield write_config(tmp_path, [("good", srv.url("/feed.xml")), ("down", closed_port_url())])


def test_fetch_on_a_terminal_shows_the_bar_and_the_summary_and_each_failure_once(site_config):
    out = on_terminal(site_config, "fetch")
    assert "polling" in out and "good: 1 new, 0 duplicate, 0 failed, 0 flagged" in out
    assert out.count("down: FAILED") == 1 and out.count("Connection refused") == 1
    assert "feed_fetch" not in out and "page_fetch" not in out and "item_stored" not in out  # info logs: only with -v
    verbose = on_terminal(site_config, "-v", "fetch")
    assert "page_fetch" in verbose or "feed_fetch" in verbose


def test_fetch_in_a_pipe_has_no_bar(site_config):
    proc = ingest(site_config, "fetch", check=False)
    assert proc.returncode == 3
    assert "polling" not in proc.stderr
    assert all(json.loads(line)["event"] for line in proc.stderr.splitlines())  # log events only, as JSON lines
    assert proc.stdout.splitlines()[0].startswith(("good: ", "down: "))


def test_prune_reextract_rematch_show_progress_on_a_terminal_only(site_config):
    ingest(site_config, "fetch", check=False)
    for args, label in ((("reextract",), "re-extracting"), (("rematch",), "rematching"),
                        (("prune", "--keep", "1d"), "pruning")):
        assert label in on_terminal(site_config, *args), args
        piped = ingest(site_config, *args)
        assert label not in piped.stderr and label not in piped.stdout

"""The database fails under a poll: another process holds SQLite's write lock, the disk fills up.

Each gives one clear error (or a wait), never a traceback or a damaged file, and the next poll
stores everything that was not stored.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.config import LOCK_TIMEOUT
from tests.helpers.cli import ingest, write_config
from tests.helpers.servers import LocalServer
from tests.helpers.site import page, serve_feed, serve_page

SOURCE = "azatutyun-test"


def _config(tmp_path: Path, feed: str, database: str, extra: str = "") -> Path:
    config = write_config(tmp_path, [(SOURCE, feed)], db_url=f"sqlite:///{database}")
    config.write_text(config.read_text(encoding="utf-8").replace("[database]\n", f"[database]\n{extra}", 1)
                      .replace("[fetch]\n", "[fetch]\nstore_batch = 4\n", 1), encoding="utf-8")
    return config


def _count(database: Path) -> tuple[int, int]:
    """(items, distinct GUIDs), read with the plain driver; and the file passes SQLite's integrity check."""
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute("SELECT count(*), count(DISTINCT guid) FROM item").fetchone()


class WriteLock:
    """Another process holding the database's write lock (BEGIN IMMEDIATE) until released or `seconds` pass."""

    def __init__(self, database: Path, seconds: float):
        code = ("import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True)\n"
                "sys.stdin.readline() if float(sys.argv[2]) < 0 else time.sleep(float(sys.argv[2]))\n"
                "c.execute('ROLLBACK')\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(database), str(seconds)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.communicate("\n", timeout=30)
        assert self.proc.returncode == 0


def test_the_default_wait_outlasts_a_writer_holding_the_lock_for_a_minute():
    assert LOCK_TIMEOUT >= 120


def test_a_poll_waits_for_another_process_holding_the_write_lock(site, tmp_path):  # noqa: F811
    database = tmp_path / "ingest.db"
    config = _config(tmp_path, site.url("/feed.xml"), database, "lock_timeout = 30\n")
    ingest(config, "db", "upgrade")
    lock = WriteLock(database, 3)
    started = time.monotonic()
    out = ingest(config, "fetch")
    lock.release()
    assert out.stdout.strip() == f"{SOURCE}: 2 new, 0 duplicate, 0 failed, 1 flagged"
    assert time.monotonic() - started >= 2.5  # it did wait
    assert _count(database) == (2, 2)


def test_a_lock_held_past_lock_timeout_fails_the_poll_clearly_and_the_next_stores_everything(site, tmp_path):  # noqa: F811
    database = tmp_path / "ingest.db"
    config = _config(tmp_path, site.url("/feed.xml"), database, "lock_timeout = 1\n")
    ingest(config, "db", "upgrade")
    lock = WriteLock(database, -1)
    try:
        out = ingest(config, "fetch", check=False)
    finally:
        lock.release()
    assert out.returncode == 1
    assert out.stdout.strip() == (f"{SOURCE}: FAILED database: database is locked (another process held its write "
                                  "lock longer than [database] lock_timeout = 1 s); not stored now, retried at the "
                                  "next poll")
    assert "Traceback" not in out.stderr
    assert _count(database) == (0, 0)
    again = ingest(config, "fetch")
    assert again.stdout.strip() == f"{SOURCE}: 2 new, 0 duplicate, 0 failed, 1 flagged"
    assert _count(database) == (2, 2)


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MiB tmpfs (needs root, as the test machines and CI run)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _words(n: int, seed: str) -> str:
    """Distinct text per seed, so that no two articles are near-duplicates."""
    out, block = [], seed.encode()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += [block[i:i + 4].hex() for i in range(0, 32, 4)]
    return " ".join(out[:n])


def test_a_full_disk_fails_the_poll_clearly_and_the_next_run_stores_everything(small_disk, tmp_path):
    entries = 24
    with LocalServer() as srv:
        serve_feed(srv, "/feed.xml", [(f"g{i}", srv.url(f"/a/{i}.html"), f"Story {i}") for i in range(entries)])
        for i in range(entries):
            serve_page(srv, f"/a/{i}.html", page(f"Story {i}", [_words(120, f"{i}-{p}") for p in range(12)]))
        database = small_disk / "ingest.db"
        config = _config(tmp_path, srv.url("/feed.xml"), database)
        ingest(config, "db", "upgrade")
        free = os.statvfs(small_disk)
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 1024 * 1024))  # room for a few items only

        out = ingest(config, "fetch", check=False)
        assert out.returncode == 1, out.stdout + out.stderr
        assert out.stdout.strip() == (f"{SOURCE}: FAILED database: database or disk is full; not stored now, "
                                      "retried at the next poll")
        assert "Traceback" not in out.stderr
        stored, _ = _count(database)
        assert 0 < stored < entries  # the batches before the disk filled are kept

        filler.unlink()
        again = ingest(config, "fetch")
        assert again.stdout.strip().startswith(f"{SOURCE}: {entries - stored} new, ")
        assert _count(database) == (entries, entries)

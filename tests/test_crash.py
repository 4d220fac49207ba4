"""Crash safety: `ingest run` and `ingest fetch` killed with SIGKILL over and over while they store a feed
farm, then left to finish, store every entry exactly once and leave no half-written item behind.

SQLite only: it is the embedded default, the one whose file a kill -9 could leave torn; PostgreSQL's
transactions are the server's business. Most kills are aimed at the moment items are being written
(the test watches the item count grow), the rest land anywhere, from start-up to the feed request.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.servers import LocalServer
from tests.helpers.site import HTML, RSS, dated_rss, unique_page

FEEDS, ENTRIES = 4, 75
KILLS = 20
WATCHED = "harbour"  # in most pages' text: items must come with their hits


def _serve_farm(srv: LocalServer, shown: int) -> None:
    """Each feed lists its first `shown` entries (the farm grows between runs, so every run has work)."""
    for f in range(FEEDS):
        items = [(f"f{f}-{i}", srv.url(f"/f{f}/{i}.html"), f"Feed {f} story {i}") for i in range(shown)]
        srv.route(f"/f{f}.xml", dated_rss(srv.url("/"), items), headers=RSS)


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM item").fetchone()[0]
    except sqlite3.Error:
        return 0


def _kill_at_random(proc: subprocess.Popen, db: Path, rng: random.Random) -> str:
    """SIGKILL while items are being written (two times in three) or at any moment; returns when it hit."""
    before = _count(db)
    started = time.monotonic()
    if rng.random() < 2 / 3:
        while proc.poll() is None and _count(db) == before and time.monotonic() - started < 20:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.15))
        moment = "while storing" if _count(db) > before else "before storing"
    else:
        time.sleep(rng.uniform(0.2, 3.0))
        moment = "anywhere"
    if proc.poll() is not None:
        return "after it finished"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return moment


def test_sigkill_during_ingestion_loses_nothing_and_duplicates_nothing(tmp_path):
    rng = random.Random(int(os.environ.get("INGEST_CRASH_SEED", time.time())))
    db = tmp_path / "ingest.db"
    config = tmp_path / "config.toml"
    with LocalServer() as srv:
        for f in range(FEEDS):
            for i in range(ENTRIES):
                srv.route(f"/f{f}/{i}.html", unique_page(f"Feed {f} story {i}", f * 1000 + i), headers=HTML)
        config.write_text(
            f'[database]\nurl = "sqlite:///{db}"\n[fetch]\nallow_private_networks = true\ntimeout = 10\nthreads = 4\n'
            + "".join(f'[[sources]]\nname = "f{f}"\nurl = "{srv.url(f"/f{f}.xml")}"\nevery = "1s"\n' for f in range(FEEDS))
            + f'[[watchlists]]\nname = "w"\nterms = ["{WATCHED}"]\n')
        command = [sys.executable, "-m", "ingest", "--config", str(config)]
        subprocess.run([*command, "db", "upgrade"], check=True, capture_output=True)  # kills aim at ingestion
        shown, moments = ENTRIES - 2 * KILLS, []
        with open(tmp_path / "runs.log", "w") as log:
            for n in range(KILLS):
                shown = min(ENTRIES, shown + 2)
                _serve_farm(srv, shown)
                proc = subprocess.Popen([*command, "run" if n % 2 else "fetch"], stdout=log, stderr=log)
                moments.append(_kill_at_random(proc, db, rng))
            _serve_farm(srv, ENTRIES)
            final = subprocess.run([*command, "fetch"], stdout=log, stderr=log, timeout=120)
        assert final.returncode == 0, (tmp_path / "runs.log").read_text()[-3000:]
    print(f"\nkills: {', '.join(f'{m} {moments.count(m)}' for m in sorted(set(moments)))}")
    assert moments.count("while storing") >= KILLS // 3

    conn = sqlite3.connect(db)
    q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    assert q("PRAGMA integrity_check") == [("ok",)]
    assert q("PRAGMA foreign_key_check") == []
    farm = {(f"f{f}", f"f{f}-{i}") for f in range(FEEDS) for i in range(ENTRIES)}
    stored = q("SELECT source, guid, count(*) FROM item GROUP BY source, guid")
    assert {(s, g) for s, g, _ in stored} == farm
    assert [row for row in stored if row[2] != 1] == []  # no duplicates
    assert q("SELECT url FROM item GROUP BY url HAVING count(*) > 1") == []
    # No half items: each has its three fingerprints and its page; hits and pages point at items.
    for kind in ("guid", "url", "content"):
        assert q(f"SELECT id FROM item WHERE id NOT IN (SELECT item_id FROM fingerprint WHERE kind = '{kind}' "
                 "AND item_id IS NOT NULL)") == [], kind
    assert q("SELECT id FROM item WHERE id NOT IN (SELECT item_id FROM page)") == []
    assert q("SELECT id FROM item WHERE text = '' OR origin != 'page'") == []
    assert q(f"SELECT id FROM item WHERE text LIKE '%{WATCHED}%' AND id NOT IN (SELECT item_id FROM hit)") == []
    assert q(f"SELECT count(*) FROM item WHERE text LIKE '%{WATCHED}%'")[0][0] > ENTRIES
    assert q("SELECT id FROM hit WHERE item_id NOT IN (SELECT id FROM item)") == []
    assert q("SELECT state, count(*) FROM source GROUP BY state") == [("ok", FEEDS)]

"""Several worker processes on one PostgreSQL database (`ingest run --workers N`), end to end.

A feed farm on loopback serves 200 feeds under three host names (127.0.0.1, localhost,
127.0.0.2) and records, per feed, when it was fetched, and per host, the most requests it
answered at once.  Four worker processes poll it for several intervals while one of them is
killed with SIGKILL in the middle of a fetch.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

try:
    import procrastinate  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("procrastinate not installed (extra `postgres`)", allow_module_level=True)

from tests.conftest import _as_postgres, _pg_bin
from tests.test_end_to_end import _wait_for as wait_for

HOSTS = ("127.0.0.1", "localhost", "127.0.0.2")  # all loopback: three hosts to be polite to


@dataclass
class FeedFarm:
    """Feed i is RSS at http://HOSTS[i % 3]:port/f/i.xml with items 0..round+1; conditional GET answers 304."""

    feeds: int
    delay: float = 0.02  # per response, so that requests to one host overlap
    round: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    fetches: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))  # feed -> monotonic times
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    peak: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    trap: int | None = None  # the next request for this feed is held until `released` (and not counted)
    trapped: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    client_port: int | None = None  # of the trapped request
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def __enter__(self) -> FeedFarm:
        for address in ("127.0.0.1", "127.0.0.2"):
            server = ThreadingHTTPServer((address, 0), _handler(self))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self.servers.append(server)
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def url(self, i: int) -> str:
        host = HOSTS[i % len(HOSTS)]
        port = self.servers[host == "127.0.0.2"].server_address[1]
        return f"http://{host}:{port}/f/{i}.xml"

    def document(self, i: int) -> bytes:
        items = "".join(
            f"<item><title>Feed {i} story {j}</title><link>http://example.org/{i}/{j}</link>"
            f'<guid isPermaLink="false">{i}-{j}</guid><pubDate>Fri, 10 Jun 2022 08:{j:02d}:00 GMT</pubDate>'
            f"<description>Report number {j} from desk {i}: {_words(i, j)}.</description></item>"
            for j in range(self.round + 2))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {i}</title>'
                f"<link>http://example.org/{i}</link><description>d</description>{items}</channel></rss>").encode()

    def expected_items(self) -> int:
        return self.feeds * (self.round + 2)


def _words(i: int, j: int) -> str:
    """Distinct text per item, so no two items are content duplicates."""
    digest = hashlib.sha256(f"{i}/{j}".encode()).hexdigest()
    return " ".join(digest[k:k + 6] for k in range(0, 48, 6))


def _handler(farm: FeedFarm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            m = re.fullmatch(r"/f/(\d+)\.xml", self.path)
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if not m:
                self.send_error(404)
                return
            i = int(m.group(1))
            with farm.lock:
                trapped = farm.trap == i
                if trapped:
                    farm.trap, farm.client_port = None, self.client_address[1]
                else:
                    farm.fetches[i].append(time.monotonic())
                    farm.in_flight[host] += 1
                    farm.peak[host] = max(farm.peak[host], farm.in_flight[host])
                body = farm.document(i)
            if trapped:  # the worker holding this request gets killed; the request is never answered
                farm.trapped.set()
                farm.released.wait(60)
                self.close_connection = True
                return
            try:
                time.sleep(farm.delay)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            finally:
                with farm.lock:
                    farm.in_flight[host] -= 1

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def write_config(path: Path, db_url: str, farm: FeedFarm, every: float) -> Path:
    sources = "".join(f'[[sources]]\nname = "feed-{i}"\nurl = "{farm.url(i)}"\nevery = "{every}s"\n\n'
                      for i in range(farm.feeds))
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[fetch]\nallow_private_networks = true\ntimeout = 20\n'
                    f"pages = false\nper_host_concurrency = 2\n\n{sources}", encoding="utf-8")
    return path


def ingest(config: Path, *args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", "--config", str(config), *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def start_workers(config: Path, n: int, log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run", "--workers", str(n)],
                            stdout=log.open("a"), stderr=subprocess.STDOUT, env=env)


def stop_workers(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    finally:
        proc.kill()


def cluster_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "INGEST_TICK": "1", "INGEST_HEARTBEAT": "1", "INGEST_STALLED_AFTER": "4", **extra}


def children(pid: int) -> list[int]:
    """The worker processes `ingest run --workers` started (not multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def owner_of_port(pids: list[int], port: int) -> int | None:
    """The process among `pids` with a TCP socket whose local port is `port` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None


def item_counts(db_url: str) -> tuple[int, int]:
    """(items, the most items sharing one (source, guid))."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        total = conn.execute("SELECT count(*) FROM item").fetchone()[0]
        most = conn.execute("SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM item GROUP BY source, guid) c"
                            ).fetchone()[0]
    return total, most


def stalled_sources(log: str) -> set[str]:
    """The sources whose jobs were requeued because their worker died (from the JSON log lines)."""
    events = (json.loads(line) for line in log.splitlines() if line.startswith("{"))
    return {e["lock"] for e in events if e.get("event") == "cluster_stalled_job"}


postgres_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@postgres_only
def test_four_workers_poll_each_feed_once_per_interval_despite_a_kill(db_url, tmp_path):
    every, rounds, tick, stalled_after = 12.0, 3, 1.0, 4.0
    # A poll may start this late on a loaded 2-core machine (5 s was once exceeded by 0.04 s under the full
    # suite); the bound stays short of a skipped interval (checked below).
    latency = 6.5
    with FeedFarm(feeds=200) as farm:
        config = write_config(tmp_path / "config.toml", db_url, farm, every)
        upgraded = ingest(config, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert "job queue schema: applied" in upgraded.stdout
        assert "job queue schema: present" in ingest(config, "db", "upgrade").stdout
        log = tmp_path / "workers.log"
        proc = start_workers(config, 4, log, cluster_env())
        try:
            wait_for(lambda: item_counts(db_url)[0] == farm.expected_items(), "the first round", 90)
            killed = None
            for r in range(1, rounds + 1):
                with farm.lock:
                    farm.round = r
                    if r == 2:
                        farm.trap = 0
                if r == 2:  # SIGKILL the worker process whose request for feed 0 the farm is holding
                    assert farm.trapped.wait(every * 2), "feed 0 was not polled in round 2"
                    killed = owner_of_port(children(proc.pid), farm.client_port)
                    assert killed is not None
                    os.kill(killed, signal.SIGKILL)
                    farm.released.set()
                wait_for(lambda: item_counts(db_url)[0] == farm.expected_items(), f"round {r}", 2 * every + 30)
                time.sleep(every)
            assert killed is not None and killed not in children(proc.pid)  # replaced by a new worker
            assert len(children(proc.pid)) == 4
        finally:
            code = stop_workers(proc)
        text = log.read_text()
        assert code == 0, text[-3000:]
        assert "cluster_stopped" in text

        total, most = item_counts(db_url)
        assert (total, most) == (farm.expected_items(), 1)  # every item stored exactly once

        # Exactly once per interval: consecutive fetches of a feed are one interval apart (±10 %
        # jitter, plus the tick and some latency), never closer (a double poll), never two
        # intervals apart (a missed poll).  The sources the killed worker had in flight are
        # redone once, after the stalled timeout.
        redone = stalled_sources(text)
        assert "feed-0" in redone
        # The next poll is planned from when the last one was due, so one that started late is followed by
        # one sooner: a gap is short by at most that latency, and by half a tick (due at the nearest tick).
        low, high = 0.9 * every - tick / 2 - latency, 1.1 * every + tick + latency
        assert high < 2 * 0.9 * every
        for i in range(farm.feeds):
            times = farm.fetches[i]
            gaps = [b - a for a, b in zip(times, times[1:])]
            assert len(times) >= rounds + 1, f"feed {i}: fetched {len(times)} times"
            if f"feed-{i}" in redone:
                assert sum(g < low for g in gaps) <= 1, (i, gaps)
                high_i = high + stalled_after + 2 * tick
                assert all(g <= high_i for g in gaps), (i, gaps)
            else:
                assert all(low <= g <= high for g in gaps), (i, gaps)
        # Politeness across processes: at most per_host_concurrency requests per host at once.
        assert set(farm.peak) == set(HOSTS)
        assert max(farm.peak.values()) == 2 and all(p <= 2 for p in farm.peak.values()), dict(farm.peak)


@postgres_only
def test_an_interval_equal_to_the_tick_is_kept(db_url, tmp_path):
    """`every` = the tick: one poll per tick, not one every other tick (2 s, as the default 10 s is to 10 s)."""
    every = 2.0
    with FeedFarm(feeds=1, delay=0.0) as farm:
        config = write_config(tmp_path / "config.toml", db_url, farm, every)
        assert ingest(config, "db", "upgrade").returncode == 0
        proc = start_workers(config, 1, tmp_path / "workers.log", cluster_env(INGEST_TICK=str(int(every))))
        try:
            wait_for(lambda: len(farm.fetches[0]) >= 1, "the first poll", 60)
            time.sleep(8 * every)
        finally:
            assert stop_workers(proc) == 0
    times = farm.fetches[0]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    assert len(times) >= 7 and gaps[len(gaps) // 2] < 1.5 * every, gaps


def restart_postgres(server_url: str) -> None:
    """Restart the test cluster in place (same port and options): every session is cut."""
    import psycopg

    with psycopg.connect(server_url) as conn:
        datadir = Path(conn.execute("SHOW data_directory").fetchone()[0])
    subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(datadir), "-l", str(datadir.parent / "log"),
                                 "-m", "fast", "-w", "restart"]), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


@postgres_only
def test_workers_carry_on_after_postgresql_restarts(postgres_server, db_url, tmp_path):
    if os.environ.get("INGEST_TEST_PG_URL"):
        pytest.skip("restarts only the cluster the tests started")
    with FeedFarm(feeds=20) as farm:
        config = write_config(tmp_path / "config.toml", db_url, farm, every=3.0)
        assert ingest(config, "db", "upgrade").returncode == 0
        log = tmp_path / "workers.log"
        proc = start_workers(config, 2, log, cluster_env())
        try:
            wait_for(lambda: item_counts(db_url)[0] == farm.expected_items(), "the first round", 60)
            for r in (1, 2):
                restart_postgres(postgres_server)
                with farm.lock:
                    farm.round = r
                wait_for(lambda: item_counts(db_url)[0] == farm.expected_items(), f"round {r} after a restart", 90)
            assert len(children(proc.pid)) == 2
        finally:
            code = stop_workers(proc)
        text = log.read_text()
    assert code == 0, text[-3000:]
    assert "cluster_worker_restarting" in text  # the workers noticed, and rebuilt themselves
    assert item_counts(db_url) == (farm.expected_items(), 1)


def test_workers_need_postgres(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///ingest.db"\n\n[[sources]]\nname = "a"\nurl = "http://127.0.0.1:9/"\n',
                      encoding="utf-8")
    out = ingest(config, "run", "--workers", "2")
    assert out.returncode == 2
    assert out.stderr.strip() == ("ingest: error: --workers N > 1 needs a PostgreSQL [database] url; "
                                  "the embedded SQLite mode is one process")

"""A feed farm of many loopback feeds and the `ingest run --workers N` processes that poll it (PostgreSQL mode)."""

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
    server_port: int | None = None  # the farm port it was sent to
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
                    farm.server_port = self.server.server_address[1]
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
            finally:
                # Counted out before answering: once the answer is written, the client may already send its next
                # request to this host while this thread has not run again (seen on a loaded machine).
                with farm.lock:
                    farm.in_flight[host] -= 1
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


def owner_of_port(pids: list[int], port: int, remote_port: int) -> int | None:
    """The process among `pids` with a TCP socket from local `port` to `remote_port` (Linux /proc).

    The remote port matters: Linux reuses an ephemeral local port for connections to other
    destinations, so another worker's database connection can share the local port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if (int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16)) == (port, remote_port):
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

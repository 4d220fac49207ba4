"""The optional observability listener (`[server] listen`): Prometheus `/metrics`, `/livez`, `/readyz`.

Liveness is a heartbeat that the scheduler itself runs, so a wedged scheduler fails it and not only a
dead process; readiness is the database answering at the schema revision this code needs, the same
check `ingest healthcheck` makes when no listener is configured.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import unquote

from sqlalchemy import Engine, text

from ingest.storage import migrate

if TYPE_CHECKING:
    from ingest.poll.pipeline import PollResult

HEARTBEAT_SECONDS = 5.0
STALE_AFTER = 3 * HEARTBEAT_SECONDS  # /livez fails when the scheduler has not ticked for this long
HEAD_TIMEOUT = 10.0  # seconds for a client to send its whole request head; then the connection is closed
MAX_CONNECTIONS = 64  # connections served at once (a thread each); more are answered 503 and closed
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class ListenError(RuntimeError):
    """The listener's address cannot be bound."""


class Metrics:
    """Per-daemon registry (not the global one), so that several daemons in one test process do not clash."""

    def __init__(self) -> None:
        # Imported here, not at module level: `ingest healthcheck` needs only `database_problem`.
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter("ingest_feed_fetches", "Feed requests by result: ok, not_modified, or the failure kind",
                               ["result"], registry=r)
        self.fetch_seconds = Histogram("ingest_feed_fetch_duration_seconds", "Feed request duration", registry=r,
                                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.items = Counter("ingest_items_stored", "New items stored", registry=r)
        self.flagged = Counter("ingest_items_flagged", "New items with at least one watchlist hit", registry=r)
        self.backoff = Gauge("ingest_sources_in_backoff", "Sources whose last poll failed", registry=r)
        self.last_success = Gauge("ingest_last_successful_poll_timestamp_seconds",
                                  "Unix time of the last poll that succeeded", registry=r)
        self._backoff: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, result: PollResult, state: str | None) -> None:
        """Count one poll; `state` is the source's stored state after it (ok, backoff, gone)."""
        if result.fetch_seconds is not None:
            self.fetches.labels(result.failure or ("not_modified" if result.not_modified else "ok")).inc()
            self.fetch_seconds.observe(result.fetch_seconds)
        self.items.inc(result.new)
        self.flagged.inc(result.flagged)
        if result.ok:
            self.last_success.set_to_current_time()
        with self._lock:  # a set, not a scan over every source: this runs after each of thousands of polls
            if state == "backoff":
                self._backoff.add(result.source)
            else:
                self._backoff.discard(result.source)
            self.backoff.set(len(self._backoff))


class Heartbeat:
    def __init__(self) -> None:
        self.last: float | None = None  # time.monotonic() of the last tick

    def beat(self) -> None:
        self.last = time.monotonic()

    def problem(self) -> str | None:
        if self.last is None:
            return "scheduler has not ticked yet"
        age = time.monotonic() - self.last
        return f"scheduler last ticked {age:.0f} s ago" if age > STALE_AFTER else None


def database_problem(engine: Engine) -> str | None:
    """Why the database cannot serve this code (one line), or None when it can."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = migrate.current_revision(engine)
    except Exception as exc:  # any driver error: the reason is what the operator needs
        return f"database unreachable: {' '.join(str(exc).split())[:200]}"
    head = migrate.head_revision()
    if current != head:
        return f"database schema at revision {current or 'none'}, this version needs {head}: run `ingest db upgrade`"
    return None


class Listener:
    """A small threaded HTTP server; each request reads the live state, nothing is cached."""

    def __init__(self, address: tuple[str, int], metrics: Metrics, heartbeat: Heartbeat, engine: Engine,
                 atom: Callable[[str], bytes | None] = lambda name: None):
        self.metrics, self.heartbeat, self.engine = metrics, heartbeat, engine
        self.atom = atom  # a watchlist's Atom feed by name; None for an unknown name
        try:
            self._httpd = _BoundedServer(address, _handler(self))
        except OSError as exc:
            raise ListenError(f"cannot listen on {address[0]}:{address[1]}: {exc.strerror or exc}") from None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> Listener:
        threading.Thread(target=self._httpd.serve_forever, name="ingest-listener", daemon=True).start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

            return 200, CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry)
        if path in ("/livez", "/readyz"):
            problem = self.heartbeat.problem() if path == "/livez" else database_problem(self.engine)
            return (503, "text/plain; charset=utf-8", f"{problem}\n".encode()) if problem else \
                (200, "text/plain; charset=utf-8", b"ok\n")
        if path.startswith("/watchlists/") and path.endswith(".atom"):
            feed = self.atom(unquote(path[len("/watchlists/"):-len(".atom")]))
            if feed is not None:
                return 200, "application/atom+xml; charset=utf-8", feed
        return 404, "text/plain; charset=utf-8", b"not found: try /metrics, /livez or /readyz\n"


class _BoundedServer(ThreadingHTTPServer):
    """At most MAX_CONNECTIONS connections get a thread; one more is told 503 at once and closed."""

    daemon_threads = True

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: socket.socket, client_address: object) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _HeadReader(io.RawIOBase):
    """The socket read under one deadline for the whole request head, so a client trickling a byte at a
    time cannot hold its connection (and thread) longer than HEAD_TIMEOUT."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request head not received in time")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


def _handler(listener: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.rfile.close()  # the socket's own reader, replaced by one with a deadline
            self.rfile = io.BufferedReader(_HeadReader(self.connection, time.monotonic() + HEAD_TIMEOUT))

        def parse_request(self) -> bool:
            parsed = super().parse_request()
            self.connection.settimeout(HEAD_TIMEOUT)  # the answer: each send, not the head's deadline left
            return parsed

        def version_string(self) -> str:
            return "ingest"  # no interpreter or library versions for a scanner to match

        def end_headers(self) -> None:
            self.send_header("X-Content-Type-Options", "nosniff")
            super().end_headers()

        def do_GET(self, body: bool = True) -> None:
            status, content_type, payload = listener.answer(self.path.split("?", 1)[0])
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def do_HEAD(self) -> None:
            self.do_GET(body=False)

        def log_message(self, format: str, *args: object) -> None:  # scrapes every few seconds are not news
            pass

    return Handler

"""A real HTTP server on 127.0.0.1 for tests: static routes with conditional GET, and raw handlers that misbehave.

    with LocalServer() as srv:
        srv.route("/feed.xml", rss_bytes, headers={"Content-Type": "application/rss+xml"})
        srv.route("/slow", handler=drip(b"x" * 100, interval=1.0))
        fetch(srv.url("/feed.xml"))
        assert srv.hits["/feed.xml"] == 1

Routes can be replaced while the server runs (a feed that gains an entry). Static routes answer
304 to a matching If-None-Match / If-Modified-Since; raw handlers get the request and the socket's
write file and may do anything (drip, stall, lie about Content-Length, close early).
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent, query string included
    headers: Message  # case-insensitive .get()
    body: bytes = b""


Handler = Callable[[Request, BinaryIO], None]


@dataclass
class _Static:
    body: bytes
    status: int
    headers: dict[str, str]
    conditional: bool


@dataclass
class _Stats:
    """Counts shared by the server's request threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    hits: Counter = field(default_factory=Counter)
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0


class LocalServer:
    """A threaded HTTP/1.1 server on an ephemeral loopback port; use as a context manager."""

    def __init__(self) -> None:
        self._routes: dict[str, _Static | Handler] = {}
        self._stats = _Stats()
        self.closing = threading.Event()  # set on exit: long-running handlers should wait on it, not sleep
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> LocalServer:
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "use LocalServer as a context manager"
        return self._httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def route(self, path: str, body: bytes | str = b"", status: int = 200, headers: dict[str, str] | None = None,
              *, handler: Handler | None = None, conditional: bool = True) -> None:
        """Serve `body` (or hand the request to `handler`) at `path`; replaces any earlier route there."""
        if handler is not None:
            self._routes[path] = handler
            return
        data = body.encode("utf-8") if isinstance(body, str) else body
        given = dict(headers or {})
        names = {k.lower() for k in given}
        if "etag" not in names:
            given["ETag"] = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        if "last-modified" not in names:
            given["Last-Modified"] = formatdate(int(time.time()) - 60, usegmt=True)
        self._routes[path] = _Static(data, status, given, conditional)

    @property
    def hits(self) -> Counter:
        """Requests per path (query string excluded)."""
        with self._stats.lock:
            return Counter(self._stats.hits)

    @property
    def requests(self) -> list[Request]:
        """Every request received, in arrival order (to check the headers a client sent)."""
        with self._stats.lock:
            return list(self._stats.requests)

    @property
    def peak_concurrency(self) -> int:
        """The most requests this server was answering at the same moment."""
        with self._stats.lock:
            return self._stats.peak

    def _lookup(self, path: str) -> _Static | Handler | None:
        return self._routes.get(path) or self._routes.get(urlsplit(path).path)

    def _enter(self, request: Request) -> None:
        with self._stats.lock:
            self._stats.hits[urlsplit(request.path).path] += 1
            self._stats.requests.append(request)
            self._stats.in_flight += 1
            self._stats.peak = max(self._stats.peak, self._stats.in_flight)

    def _leave(self) -> None:
        with self._stats.lock:
            self._stats.in_flight -= 1


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early are what fetch tests provoke; anything else is still reported."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def _not_modified(route: _Static, headers: Message) -> bool:
    if not route.conditional or route.status != 200:
        return False
    etag = _header(route.headers, "etag")
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or (etag or "").removeprefix("W/") in tags
    since, modified = headers.get("If-Modified-Since"), _header(route.headers, "last-modified")
    if since and modified:
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _make_handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class _RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: Nagle + delayed ACK cost ~40 ms each

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, self.headers, self.rfile.read(length) if length else b"")
            server._enter(request)
            try:
                self._answer(request)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up, as fetch tests make it do
            finally:
                server._leave()

        def _answer(self, request: Request) -> None:
            route = server._lookup(request.path)
            if route is None:
                route = _Static(b"not found", 404, {"Content-Type": "text/plain"}, False)
            if not isinstance(route, _Static):
                self.close_connection = True  # a raw handler owns the connection's framing
                route(request, self.wfile)
                self.wfile.flush()
                return
            status = 304 if _not_modified(route, request.headers) else route.status
            body = b"" if status == 304 or request.method == "HEAD" else route.body
            self.send_response(status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_HEAD = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return _RequestHandler


# Misbehaving handlers, shared by the fault-injection tests.

def _head(out: BinaryIO, status: int = 200, headers: dict[str, str] | None = None) -> None:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    out.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def drip(body: bytes, interval: float, closing: threading.Event) -> Handler:
    """Send a correct Content-Length, then one byte per `interval` seconds."""
    def handler(request: Request, out: BinaryIO) -> None:
        _head(out, 200, {"Content-Length": str(len(body)), "Content-Type": "text/plain"})
        for i in range(len(body)):
            out.write(body[i:i + 1])
            out.flush()
            if closing.wait(interval):
                return
    return handler


def stall(closing: threading.Event) -> Handler:
    """Accept the request and never answer (until the server closes)."""
    def handler(request: Request, out: BinaryIO) -> None:
        closing.wait(60)
    return handler


def endless_chunked(chunk: bytes = b"x" * 65536) -> Handler:
    """Transfer-Encoding: chunked with no last chunk, as fast as the client reads."""
    def handler(request: Request, out: BinaryIO) -> None:
        _head(out, 200, {"Transfer-Encoding": "chunked", "Content-Type": "text/plain"})
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while True:
            out.write(frame)
    return handler


def raw(status: int, headers: dict[str, str], body: bytes = b"") -> Handler:
    """Send exactly these headers and bytes, then close: lie about Content-Length, close early."""
    def handler(request: Request, out: BinaryIO) -> None:
        _head(out, status, headers)
        out.write(body)
    return handler


def answers(plan: list[int]) -> Handler:
    """A receiver (a JSON webhook's): each request gets the next status of `plan`, then 200; `plan` shrinks."""
    lock = threading.Lock()

    def handler(request: Request, out: BinaryIO) -> None:
        with lock:
            status = plan.pop(0) if plan else 200
        _head(out, status, {"Content-Length": "0"})
    return handler

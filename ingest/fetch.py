"""Bounded HTTP GET of feeds and pages: a decoded-size cap, checked redirects, conditional GET, polite per host.

Every bound is enforced where it can be, not trusted to the server: the size cap counts decoded bytes
while decompressing (so a gzip bomb stops at the cap), and every redirect hop goes through `ingest.http`
again, whose total deadline (one for the whole chain) clamps each socket operation and whose address
policy refuses private networks on the address actually connected to.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urljoin

import httpx

from ingest import http
from ingest.config import FetchSettings
from ingest.http import AddressPolicy, redact
from ingest.schedule import MAX_RETRY_AFTER

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int  # 2xx or 304
    headers: Mapping[str, str]  # case-insensitive
    content: bytes  # decoded, unless asked for as sent (`get(..., decode=False)`); empty for 304
    duration_ms: int
    redirects: tuple[tuple[int, str], ...] = ()  # (status, location) per hop: callers act on permanent moves

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def content_encoding(self) -> str:
        return self.headers.get("content-encoding", "identity").strip().lower()


class FetchError(Exception):
    """Anything but 2xx/304. `kind` is one of: timeout, too_large, private_address, bad_scheme,
    too_many_redirects, connection, http, invalid_url, cancelled (the fetcher is shutting down)."""

    def __init__(self, kind: str, url: str, detail: str, status: int | None = None,
                 retry_after: float | None = None):
        self.kind, self.url, self.status, self.retry_after = kind, redact(url), status, retry_after
        super().__init__(f"{self.url}: {' '.join(detail.split())}")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, from delta-seconds or an HTTP date; capped so a hostile date cannot park a feed forever."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(0.0, when - (time.time() if now is None else now)), MAX_RETRY_AFTER)


class _Cookies(httpx.Cookies):
    """The client's cookie jar, which skips building urllib's request and response wrappers (a large part of
    a 304's cost) for the responses that set no cookie: nearly all of them."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            super().extract_cookies(response)


class HostGate(Protocol):
    """Per-host politeness: `slot(host)` is held for each request to that host (one hop)."""

    def slot(self, host: str) -> AbstractContextManager[None]: ...


@dataclass
class _HostGate:
    """Per-host politeness shared by all threads: a concurrency limit and a minimum gap between starts."""

    limit: int
    gap: float
    cancelled: threading.Event
    lock: threading.Lock = field(default_factory=threading.Lock)
    slots: dict[str, threading.BoundedSemaphore] = field(default_factory=dict)
    next_start: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self.lock:
            semaphore = self.slots.setdefault(host, threading.BoundedSemaphore(max(1, self.limit)))
        while not semaphore.acquire(timeout=0.2):  # waiting for a slot must not outlive a shutdown
            if self.cancelled.is_set():
                raise FetchError("cancelled", host, "shutting down")
        with _released(semaphore):
            with self.lock:
                now = time.monotonic()
                start = max(now, self.next_start.get(host, now))
                self.next_start[host] = start + self.gap
            if start > now:
                time.sleep(start - now)
            yield


@contextmanager
def _released(semaphore: threading.BoundedSemaphore) -> Iterator[None]:
    try:
        yield
    finally:
        semaphore.release()


_NO_RESPONSE = "Server disconnected without sending a response"  # httpcore's words for a hang-up before any byte

class Fetcher:
    """Thread-safe; `address_allowed` replaces the private-network policy (tests allow loopback only);
    `gate` replaces the in-process per-host limit (several worker processes share one in PostgreSQL)."""

    def __init__(self, settings: FetchSettings, *, address_allowed: AddressPolicy | None = None,
                 gate: HostGate | None = None):
        self.settings = settings
        self._client = http.client(address_allowed or http.address_policy(settings.allow_private_networks),
                                   settings.timeout)
        self._client._cookies = _Cookies()  # the public setter would copy it into a plain httpx.Cookies
        self._cancelled = threading.Event()
        self._gate = gate or _HostGate(settings.per_host_concurrency, settings.per_host_delay, self._cancelled)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def cancel(self) -> None:
        """Refuse new requests (FetchError kind "cancelled"), also to callers waiting for a host slot."""
        self._cancelled.set()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            accept: str | None = None, decode: bool = True) -> Response:
        """`decode=False` keeps a gzip body as sent, capped at `max_bytes` sent: the caller decodes it with
        `decode_body` (an extraction worker does, and the page is stored as it came, already compressed)."""
        headers = {"User-Agent": self.settings.user_agent, "Accept": accept or "*/*",
                   "Accept-Encoding": "gzip"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        redirects: list[tuple[int, str]] = []
        started = deadline = None
        while True:
            parsed = _checked_url(url)
            if self._cancelled.is_set():
                raise FetchError("cancelled", redact(url), "shutting down")
            with self._gate.slot(parsed.host):
                if started is None:  # waiting for the first slot is queueing, not the request's time
                    started = time.monotonic()
                    deadline = started + self.settings.timeout  # one deadline for every hop
                status, response_headers, content = self._exchange(url, parsed, headers, decode, deadline)
            if status not in REDIRECT_CODES or "location" not in response_headers:
                break
            if len(redirects) >= self.settings.max_redirects:
                raise FetchError("too_many_redirects", url, f"more than {self.settings.max_redirects} redirects")
            url = urljoin(url, response_headers["location"].strip())
            redirects.append((status, url))
        if not (200 <= status < 300 or status == 304):
            raise FetchError("http", url, f"HTTP {status} {httpx.codes.get_reason_phrase(status)}", status=status,
                             retry_after=parse_retry_after(response_headers.get("retry-after")))
        return Response(url, status, response_headers, content, int((time.monotonic() - started) * 1000),
                        tuple(redirects))

    def _exchange(self, url: str, parsed: httpx.URL, headers: dict[str, str], decode: bool,
                  deadline: float) -> tuple[int, httpx.Headers, bytes]:
        """One hop, asked again once if the server hung up before answering.

        A keep-alive connection from the pool may be closed by the server (its idle timeout) just
        as we send on it; httpx then reports no response at all.  A GET is safe to repeat, and the
        repeat opens a new connection; it stays within the request's deadline.
        """
        try:
            return self._exchange_once(url, parsed, headers, decode, deadline)
        except FetchError as exc:
            if exc.kind != "connection" or _NO_RESPONSE not in str(exc):
                raise
        return self._exchange_once(url, parsed, headers, decode, deadline)

    def _exchange_once(self, url: str, parsed: httpx.URL, headers: dict[str, str], decode: bool,
                       deadline: float) -> tuple[int, httpx.Headers, bytes]:
        """The status, headers and (only for 2xx) the body; every failure as FetchError."""
        try:
            # `parsed` was parsed once, by _checked_url
            with http.request(self._client, "GET", parsed, timeout=self.settings.timeout, deadline=deadline,
                              headers=headers) as response:
                content = b""
                if 200 <= response.status_code < 300:
                    content = self._read_body(url, response, decode)
                elif response.status_code == 304:
                    # A 304 has no body, but until its end is read the connection counts as busy and is closed
                    # instead of going back to the pool: every poll of a quiet feed would open a new one.
                    for _ in response.iter_raw():
                        pass
                return response.status_code, response.headers, content
        except http.RequestError as exc:
            raise FetchError(exc.kind, url, str(exc)) from None

    def _read_body(self, url: str, response: httpx.Response, decode: bool) -> bytes:
        cap = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError("too_large", url, f"Content-Length {declared} exceeds the {cap}-byte cap")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if not decode:
            _check_encoding(encoding, url)  # refused here, as a decoded fetch would
            return _joined(response.iter_raw(), cap, url)
        return _joined(_decoded(response.iter_raw(), encoding, url), cap, url)


def decode_body(body: bytes, encoding: str, url: str, cap: int) -> bytes:
    """A body fetched with `decode=False`, decoded with the same cap a decoded fetch has."""
    return _joined(_decoded(iter((body,)), encoding, url), cap, url)


def _joined(chunks: Iterator[bytes], cap: int, url: str) -> bytes:
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > cap:
            raise FetchError("too_large", url, f"body exceeds the {cap}-byte cap")
    return bytes(body)


def _checked_url(url: str) -> httpx.URL:
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError("invalid_url", url, f"invalid URL: {exc}") from None
    if parts.scheme and parts.scheme not in ("http", "https"):
        raise FetchError("bad_scheme", url, f"only http and https are fetched, not {parts.scheme}")
    if not parts.scheme or not parts.host:
        raise FetchError("invalid_url", url, "not an absolute URL with a host")
    return parts


def _check_encoding(encoding: str, url: str) -> None:
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise FetchError("connection", url, f"unsupported Content-Encoding {encoding!r}")


def _decoded(chunks: Iterator[bytes], encoding: str, url: str) -> Iterator[bytes]:
    """Decompress lazily in bounded pieces, so the caller's cap sees a bomb before it is inflated."""
    if encoding in ("identity", ""):
        yield from chunks
        return
    _check_encoding(encoding, url)
    decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # accepts a gzip or a zlib (RFC 9110 deflate) header
    received = False
    try:
        for chunk in chunks:
            received = received or bool(chunk)
            while chunk:
                yield decoder.decompress(chunk, 65536)
                chunk = decoder.unconsumed_tail
        yield decoder.flush()
    except zlib.error as exc:
        raise FetchError("connection", url, f"corrupt {encoding} body: {exc}") from None
    if received and not decoder.eof:
        raise FetchError("connection", url, f"truncated {encoding} body")

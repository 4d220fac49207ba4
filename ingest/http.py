"""The guarded HTTP client under every outbound request (feeds, pages, robots.txt, webhooks).

Two guards live here, so that no caller can forget one: the address policy runs on the addresses DNS
returned, which are the only ones connected to (so DNS rebinding cannot slip past), and a request's total
deadline clamps every connect, read and write (so a server dripping one byte a second cannot stretch it).
`redact` is how every URL is written to logs and errors.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]
SECRET_PARAMS = frozenset({"token", "access_token", "key", "api_key", "apikey", "password", "secret", "sig",
                           "signature"})


def redact(url: str) -> str:
    """The URL without user:password@ and with secret-looking query values masked, for logs and errors."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(_mask_param(p) for p in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _mask_param(param: str) -> str:
    name, eq, _ = param.partition("=")
    return f"{name}=REDACTED" if eq and name.lower() in SECRET_PARAMS else param


def is_public_address(ip: IPAddress) -> bool:
    """False for loopback, RFC 1918, link-local (cloud metadata), CGNAT, unique-local, multicast, unspecified."""
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour):
        ip = ip.ipv4_mapped or ip.sixtofour
    return ip.is_global and not ip.is_multicast


def address_policy(allow_private_networks: bool) -> AddressPolicy:
    """The production policy: public addresses only, unless the config allows private networks."""
    return (lambda ip: True) if allow_private_networks else is_public_address


class RequestError(Exception):
    """No usable response. `kind` is one of: private_address, timeout, connection, invalid_url."""

    def __init__(self, kind: str, detail: str):
        self.kind = kind
        super().__init__(detail)


class _Refused(Exception):
    """A hop would connect to an address the policy forbids."""

    def __init__(self, ip: IPAddress):
        super().__init__(f"refusing to connect to non-public address {ip}")


# The deadline of the request the current thread is running: httpx is synchronous, so every
# connect/read/write for a request happens on the thread that called `request`.
_deadline = threading.local()


def _clamp(timeout: float | None) -> float:
    """A socket timeout that cannot outlive the request's deadline."""
    remaining = _deadline.at - time.monotonic()
    if remaining <= 0:
        raise httpcore.ReadTimeout("total deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


_resolver = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ingest-dns")


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, refuses forbidden addresses, and connects only to the addresses it checked."""

    def __init__(self, allowed: AddressPolicy):
        self._allowed = allowed

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options=None) -> httpcore.NetworkStream:
        lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = lookup.result(timeout=_clamp(timeout))  # getaddrinfo itself cannot time out
        except FutureTimeout:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        for ip in addresses:
            if not self._allowed(ip):
                raise _Refused(ip)
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for ip in addresses:
            try:
                stream = super().connect_tcp(str(ip), port, _clamp(timeout), local_address, socket_options)
                return _DeadlineStream(stream)
            except httpcore.ConnectError as exc:
                error = exc
        raise error


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allowed: AddressPolicy):
        super().__init__(trust_env=False)
        # httpx 0.28 cannot take a network backend; its pool is swapped for one that has ours.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                             max_keepalive_connections=20, keepalive_expiry=5.0,
                                             network_backend=_GuardedBackend(allowed))


def client(address_allowed: AddressPolicy, timeout: float) -> httpx.Client:
    """A client whose every connection passes the address policy; it never follows redirects (each hop is the
    caller's to check) and ignores proxy and certificate settings from the environment. Send through `request`."""
    return httpx.Client(transport=_GuardedTransport(address_allowed), follow_redirects=False, timeout=timeout,
                        trust_env=False)


@contextmanager
def request(http: httpx.Client, method: str, url: str | httpx.URL, *, timeout: float, deadline: float | None = None,
            **kwargs: Any) -> Iterator[httpx.Response]:
    """A streamed request of a `client`, over by `deadline` (`time.monotonic()`; default `timeout` seconds from
    now), reading the body included; every failure to get a response is a `RequestError`."""
    _deadline.at = time.monotonic() + timeout if deadline is None else deadline
    try:
        with http.stream(method, url, **kwargs) as response:
            yield response
    except _Refused as exc:
        raise RequestError("private_address", str(exc)) from None
    except httpx.TimeoutException:
        raise RequestError("timeout", f"no complete response within {timeout:g} s") from None
    except (httpx.TransportError, httpx.DecodingError) as exc:
        raise RequestError("connection", f"{type(exc).__name__}: {exc}") from None
    except httpx.InvalidURL as exc:
        raise RequestError("invalid_url", str(exc)) from None

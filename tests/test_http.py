"""The guarded client's public API (`ingest.http`): the address policy, the total deadline, redaction.

Fetches of feeds and pages (`test_fetch.py`) and webhook POSTs (`test_alerts.py`) go through it too.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest

from ingest import http
from tests.helpers.servers import drip

LOOPBACK = http.client(lambda ip: ip.is_loopback, 1.0)  # the policy tests inject: loopback only


def refusal(client, url: str, **kwargs) -> http.RequestError:  # noqa: ANN001
    started = time.monotonic()
    with pytest.raises(http.RequestError) as info:
        with http.request(client, "GET", url, **{"timeout": 1.0, **kwargs}) as response:
            response.read()
    assert time.monotonic() - started < 5.0
    return info.value


@pytest.mark.parametrize(("address", "public"), [
    ("127.0.0.1", False), ("10.2.3.4", False), ("172.16.0.1", False), ("192.168.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("fc00::1", False), ("fe80::1", False), ("::1", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
    ("2002:7f00:1::", False), ("8.8.8.8", True), ("2606:4700::1111", True), ("::ffff:8.8.8.8", True),
])
def test_public_address_policy(address, public):
    ip = ipaddress.ip_address(address)
    assert http.is_public_address(ip) is public
    assert http.address_policy(allow_private_networks=False)(ip) is public
    assert http.address_policy(allow_private_networks=True)(ip) is True


def test_the_address_connected_to_is_refused_before_connecting(local_server):
    local_server.route("/hook", "fine")
    client = http.client(http.address_policy(False), 1.0)
    for host in ("127.0.0.1", "localhost"):  # an address, and a name that resolves to one
        err = refusal(client, local_server.url("/hook").replace("127.0.0.1", host))
        assert err.kind == "private_address" and "non-public address 127.0.0.1" in str(err)
    assert local_server.hits["/hook"] == 0
    with http.request(http.client(http.address_policy(True), 1.0), "GET", local_server.url("/hook"),
                      timeout=1.0) as response:
        assert response.read() == b"fine"


def test_the_deadline_cuts_a_slow_drip(local_server):
    local_server.route("/drip", handler=drip(b"x" * 100, 0.2, local_server.closing))  # 20 s if let run
    started = time.monotonic()
    err = refusal(LOOPBACK, local_server.url("/drip"))
    assert err.kind == "timeout" and str(err) == "no complete response within 1 s"
    assert 0.9 < time.monotonic() - started < 2.0


def test_a_deadline_given_is_kept_across_requests(local_server):
    """A caller's deadline (a fetch's redirect chain) is not renewed by the next request."""
    local_server.route("/drip", handler=drip(b"x" * 100, 0.2, local_server.closing))
    started = time.monotonic()
    assert refusal(LOOPBACK, local_server.url("/drip"), timeout=30.0, deadline=started + 0.5).kind == "timeout"
    assert refusal(LOOPBACK, local_server.url("/drip"), timeout=30.0, deadline=started + 0.5).kind == "timeout"
    assert time.monotonic() - started < 2.0


def test_slow_dns_is_bounded_by_the_deadline(monkeypatch):
    release, real = threading.Event(), socket.getaddrinfo

    def stuck_resolver(*args, **kwargs):  # a hung resolver cannot be made real on loopback
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck_resolver)
    try:
        assert refusal(LOOPBACK, "http://feeds.example.test/rss").kind == "timeout"
    finally:
        release.set()


def test_connection_refused_and_invalid_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert refusal(LOOPBACK, f"http://127.0.0.1:{port}/").kind == "connection"
    assert refusal(LOOPBACK, "http://exa\x01mple/").kind == "invalid_url"


def test_redact():
    assert http.redact("https://u:p@example.org/x?token=abc&q=news&SIG=zz#top") == \
        "https://example.org/x?token=REDACTED&q=news&SIG=REDACTED#top"
    assert http.redact("https://example.org/feed.xml") == "https://example.org/feed.xml"
    assert http.redact("http://[bad") == "<unparseable URL>"

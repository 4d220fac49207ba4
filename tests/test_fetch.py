"""Fault injection against a real loopback server: every misbehaviour ends in bounded time with the right kind.

Fetchers here allow loopback only (an injected address policy), so a redirect to another private
range is still refused exactly as production refuses everything non-public.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from email.utils import formatdate

import pytest

from ingest.fetch import Fetcher, FetchError, FetchSettings, decode_body, parse_retry_after
from tests.helpers.servers import Request, drip, endless_chunked, raw, stall

BOUND = 5.0  # seconds; every test runs with timeout=1 s, so anything near this is a hang


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchSettings(timeout=1.0, max_bytes=1_000_000), address_allowed=lambda ip: ip.is_loopback) as f:
        yield f


def failure(fetcher: Fetcher, url: str, **kwargs) -> FetchError:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetcher.get(url, **kwargs)
    assert time.monotonic() - started < BOUND
    assert "\n" not in str(info.value)
    return info.value


def slow(seconds: float, then):
    """A handler that thinks for a while before answering."""
    def handler(request: Request, out) -> None:
        time.sleep(seconds)
        then(request, out)
    return handler


# Bounded time and size

def test_slow_drip_is_cut_at_the_total_deadline(fetcher, local_server):
    local_server.route("/drip", handler=drip(b"x" * 100, 0.2, local_server.closing))  # 20 s if let run
    assert failure(fetcher, local_server.url("/drip")).kind == "timeout"


def test_server_that_never_answers_times_out(fetcher, local_server):
    local_server.route("/hang", handler=stall(local_server.closing))
    assert failure(fetcher, local_server.url("/hang")).kind == "timeout"


def test_deadline_covers_the_whole_redirect_chain(fetcher, local_server):
    for hop in range(4):  # each hop answers well within the timeout; together they exceed it
        redirect = raw(302, {"Location": f"/hop{hop + 1}", "Content-Length": "0"})
        local_server.route(f"/hop{hop}", handler=slow(0.4, redirect))
    assert failure(fetcher, local_server.url("/hop0")).kind == "timeout"
    assert local_server.hits["/hop3"] == 0


def test_connection_refused(fetcher):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = failure(fetcher, f"http://127.0.0.1:{port}/feed")
    assert err.kind == "connection" and err.status is None


def test_huge_content_length_is_refused_before_reading(fetcher, local_server):
    local_server.route("/big", handler=raw(200, {"Content-Length": str(10 * 1024**3)}, b"x" * 10))
    err = failure(fetcher, local_server.url("/big"))
    assert err.kind == "too_large" and "Content-Length" in str(err)


def test_endless_chunked_body_stops_at_the_cap(fetcher, local_server):
    local_server.route("/endless", handler=endless_chunked())
    assert failure(fetcher, local_server.url("/endless")).kind == "too_large"


def test_gzip_bomb_stops_at_the_decoded_cap(fetcher, local_server):
    bomb = gzip.compress(b"\0" * 200_000_000)  # about 200 KB on the wire, 200 MB decoded
    local_server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < 1_000_000  # it would pass a cap on wire bytes
    assert failure(fetcher, local_server.url("/bomb")).kind == "too_large"


def test_gzip_and_deflate_bodies_are_decoded(fetcher, local_server):
    text = "Grüße, 世界. " * 500
    local_server.route("/gz", gzip.compress(text.encode()), headers={"Content-Encoding": "gzip"})
    local_server.route("/zz", zlib.compress(text.encode()), headers={"Content-Encoding": "deflate"})
    assert fetcher.get(local_server.url("/gz")).content.decode() == text
    assert fetcher.get(local_server.url("/zz")).content.decode() == text
    assert local_server.requests[0].headers["Accept-Encoding"] == "gzip"


def test_an_undecoded_body_is_as_sent_and_decode_body_keeps_the_cap(fetcher, local_server):
    text = "Grüße, 世界. " * 500
    bomb = gzip.compress(b"\0" * 200_000_000)
    local_server.route("/gz", gzip.compress(text.encode()), headers={"Content-Encoding": "gzip"})
    local_server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    local_server.route("/br", b"whatever", headers={"Content-Encoding": "br"})
    response = fetcher.get(local_server.url("/gz"), decode=False)
    assert response.content_encoding == "gzip" and response.content == gzip.compress(text.encode())
    assert decode_body(response.content, "gzip", "u", cap=1_000_000).decode() == text
    raw = fetcher.get(local_server.url("/bomb"), decode=False).content  # ~200 KB as sent: under the cap
    with pytest.raises(FetchError) as info:
        decode_body(raw, "gzip", "u", cap=1_000_000)
    assert info.value.kind == "too_large"
    assert failure(fetcher, local_server.url("/br"), decode=False).kind == "connection"


@pytest.mark.parametrize("body", [gzip.compress(b"x" * 1000)[:-20], b"\x1f\x8b\x08\x00\0\0\0\0\0\x03" + b"\xff" * 20])
def test_truncated_or_corrupt_gzip_is_a_connection_error(fetcher, local_server, body):
    local_server.route("/bad", body, headers={"Content-Encoding": "gzip"})
    assert failure(fetcher, local_server.url("/bad")).kind == "connection"


def test_body_shorter_than_content_length(fetcher, local_server):
    local_server.route("/lie", handler=raw(200, {"Content-Length": "1000"}, b"only this"))
    assert failure(fetcher, local_server.url("/lie")).kind == "connection"


def test_empty_body_is_a_response_not_an_error(fetcher, local_server):
    local_server.route("/empty", b"", headers={"Content-Type": "application/rss+xml"})
    response = fetcher.get(local_server.url("/empty"))
    assert response.status == 200 and response.content == b""


def test_wrong_charset_bytes_are_returned_untouched(fetcher, local_server):
    body = "<rss><channel><title>Café</title></channel></rss>".encode("latin-1")  # declared utf-8 below
    local_server.route("/feed", body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    response = fetcher.get(local_server.url("/feed"))
    assert response.content == body
    assert response.content_type == "application/rss+xml; charset=utf-8"


# Redirects

def test_redirect_loop(fetcher, local_server):
    local_server.route("/loop", status=302, headers={"Location": "/loop"})
    err = failure(fetcher, local_server.url("/loop"))
    assert err.kind == "too_many_redirects"
    assert local_server.hits["/loop"] == 6  # the first request plus five followed hops


def test_permanent_redirect_chain_is_recorded(fetcher, local_server):
    local_server.route("/old", status=301, headers={"Location": local_server.url("/older")})
    local_server.route("/older", status=308, headers={"Location": "/new"})
    local_server.route("/new", "<rss/>")
    response = fetcher.get(local_server.url("/old"))
    assert response.url == local_server.url("/new")
    assert response.redirects == ((301, local_server.url("/older")), (308, local_server.url("/new")))
    assert response.content == b"<rss/>"


@pytest.mark.parametrize("target", ["http://10.0.0.1/admin", "http://169.254.169.254/latest/meta-data/",
                                    "http://[fd00::1]/", "http://192.168.1.1:8080/"])
def test_redirect_to_a_private_address_is_refused_before_connecting(fetcher, local_server, target):
    local_server.route("/go", status=302, headers={"Location": target})
    err = failure(fetcher, local_server.url("/go"))
    assert err.kind == "private_address"
    assert err.url == target


@pytest.mark.parametrize("location", ["http://[::1/x", "http://exa\x01mple/"])
def test_redirect_to_an_invalid_url_is_the_servers_fault(fetcher, local_server, location):
    local_server.route("/go", status=302, headers={"Location": location})
    err = failure(fetcher, local_server.url("/go"))
    assert err.kind == "connection" and "location" in str(err)


def test_redirect_to_another_scheme_is_refused(fetcher, local_server):
    local_server.route("/go", status=301, headers={"Location": "file:///etc/passwd"})
    assert failure(fetcher, local_server.url("/go")).kind == "bad_scheme"


# Address policy and URLs (production policy: no private networks)

@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://localhost:9/", "http://2130706433/",
                                 "http://0x7f000001/", "http://0.0.0.0:9/", "http://[::1]:9/",
                                 "http://[::ffff:127.0.0.1]:9/"])
def test_private_addresses_refused_by_default(url):
    with Fetcher(FetchSettings(timeout=1.0)) as f:
        assert failure(f, url).kind == "private_address"


def test_allow_private_networks_setting(local_server):
    local_server.route("/ok", "fine")
    with Fetcher(FetchSettings(timeout=1.0, allow_private_networks=True)) as f:
        assert f.get(local_server.url("/ok")).content == b"fine"


@pytest.mark.parametrize(("url", "kind"), [
    ("ftp://example.org/feed", "bad_scheme"), ("file:///etc/passwd", "bad_scheme"), ("javascript:alert(1)", "bad_scheme"),
    ("feed.xml", "invalid_url"), ("http:///feed", "invalid_url"),
])
def test_non_http_urls_refused(fetcher, url, kind):
    assert failure(fetcher, url).kind == kind


def test_credentials_are_redacted_in_errors(fetcher):
    err = failure(fetcher, "http://alice:hunter2@10.9.9.9/feed?api_key=s3cret&page=2")
    assert err.kind == "private_address"
    assert "hunter2" not in str(err) and "s3cret" not in str(err) and "alice" not in str(err)
    assert err.url == "http://10.9.9.9/feed?api_key=REDACTED&page=2"


# HTTP status handling

def test_429_with_retry_after_seconds(fetcher, local_server):
    local_server.route("/busy", "slow down", status=429, headers={"Retry-After": "120"})
    err = failure(fetcher, local_server.url("/busy"))
    assert (err.kind, err.status, err.retry_after) == ("http", 429, 120.0)
    assert "429" in str(err)


def test_429_with_retry_after_date(fetcher, local_server):
    local_server.route("/busy", "", status=429, headers={"Retry-After": formatdate(time.time() + 600, usegmt=True)})
    err = failure(fetcher, local_server.url("/busy"))
    assert err.status == 429 and 500 < err.retry_after <= 600


def test_503_and_410(fetcher, local_server):
    local_server.route("/down", "", status=503)
    local_server.route("/gone", "", status=410)
    down, gone = failure(fetcher, local_server.url("/down")), failure(fetcher, local_server.url("/gone"))
    assert (down.kind, down.status, down.retry_after) == ("http", 503, None)
    assert (gone.kind, gone.status) == ("http", 410)


def test_parse_retry_after():
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("999999999999") == 31 * 24 * 3600  # capped
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# Conditional GET

def test_conditional_get_with_etag(fetcher, local_server):
    local_server.route("/feed", "<rss/>")
    first = fetcher.get(local_server.url("/feed"))
    again = fetcher.get(local_server.url("/feed"), etag=first.etag)
    assert again.not_modified and again.status == 304 and again.content == b""
    assert local_server.requests[-1].headers["If-None-Match"] == first.etag
    local_server.route("/feed", "<rss><channel/></rss>")  # the feed changed: a full answer again
    changed = fetcher.get(local_server.url("/feed"), etag=first.etag)
    assert changed.status == 200 and changed.etag != first.etag


def test_conditional_get_with_last_modified(fetcher, local_server):
    local_server.route("/feed", "<rss/>", headers={"ETag": '"v1"'})
    first = fetcher.get(local_server.url("/feed"))
    again = fetcher.get(local_server.url("/feed"), last_modified=first.last_modified)
    assert again.not_modified
    assert local_server.requests[-1].headers["If-Modified-Since"] == first.last_modified


# Politeness and threads



def test_per_host_concurrency_is_shared_across_threads(local_server):
    # `raw` closes after answering: say so, or a pooled connection may be reused as the server closes it.
    local_server.route("/slow", handler=slow(0.3, raw(200, {"Content-Length": "2", "Connection": "close"}, b"ok")))
    settings = FetchSettings(timeout=5.0, per_host_concurrency=2)
    with Fetcher(settings, address_allowed=lambda ip: ip.is_loopback) as f:
        threads = [threading.Thread(target=f.get, args=(local_server.url("/slow"),)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert local_server.hits["/slow"] == 6
    assert local_server.peak_concurrency == 2


def test_a_hang_up_before_any_answer_is_asked_again_once(fetcher, local_server):
    """A pooled keep-alive connection the server has just closed looks like this; a GET may be repeated."""
    answered = raw(200, {"Content-Length": "2", "Connection": "close"}, b"ok")
    calls = []

    def first_hangs_up(request, out) -> None:
        calls.append(request)
        if len(calls) > 1:
            answered(request, out)  # the first time: nothing at all, the connection just closes

    local_server.route("/flaky", handler=first_hangs_up)
    assert fetcher.get(local_server.url("/flaky")).content == b"ok"
    local_server.route("/mute", handler=lambda request, out: None)
    assert failure(fetcher, local_server.url("/mute")).kind == "connection"
    assert len(calls) == 2 and local_server.hits["/mute"] == 2  # asked again once, not more


def test_per_host_delay_spaces_request_starts(local_server):
    local_server.route("/feed", "x")
    with Fetcher(FetchSettings(per_host_delay=0.25), address_allowed=lambda ip: ip.is_loopback) as f:
        started = time.monotonic()
        for _ in range(3):
            f.get(local_server.url("/feed"))
        assert time.monotonic() - started >= 0.5  # two gaps; a lower bound, never flaky


def test_user_agent_and_accept_are_sent(fetcher, local_server):
    local_server.route("/page", "<html></html>")
    fetcher.get(local_server.url("/page"), accept="text/html")
    sent = local_server.requests[-1].headers
    assert sent["User-Agent"] == "ingest/0.1" and sent["Accept"] == "text/html"

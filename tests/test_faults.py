"""Fault injection through the whole pipeline: one misbehaving source next to a healthy one, one poll each.

For every misbehaviour (in the feed request, and for some in an article page) the poll ends in
bounded time and memory, the bad source's stored schedule is what `schedule.plan` promises (backoff,
host block, gone, moved), and the healthy source polled right after it is ingested in full.

The bad source is reached as `localhost` and the healthy one as `127.0.0.1`: the same server, but two
hosts as far as Retry-After blocks go. Loopback is allowed through the Fetcher's `address_allowed`
hook and nothing else: `allow_private_networks = true` in a config allows every private range, so a
redirect to 10.0.0.1 or 169.254.169.254 could not be shown refused through config alone.
"""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest import config, daemon
from ingest.config import Config
from ingest.fetch import Fetcher
from ingest.poll.pipeline import Pipeline
from ingest.storage.store import ItemQuery, Store
from tests.helpers.ports import free_port
from tests.helpers.servers import LocalServer, drip, endless_chunked, raw, stall
from tests.helpers.site import HTML, RSS, dated_rss, unique_page
from tests.helpers.waiting import wait_for

TIMEOUT = 2.0  # [fetch] timeout
BOUND = 20.0  # seconds for the bad poll plus the healthy one: generous, a hang would take minutes
MEMORY = 100_000_000  # bytes of Python allocations a hostile body may cost at most
EVERY = 900.0
HEALTHY = 5
def gzip_bomb() -> bytes:
    """About 200 KB on the wire, 200 MB decoded; built in pieces so the test itself stays small."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * 1_000_000
    return b"".join([*(z.compress(zeros) for _ in range(200)), z.flush()])


def billion_laughs() -> str:
    levels = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(levels)}]><rss version="2.0"><channel><title>&l9;</title>'
            "<item><title>&l9;</title><link>http://localhost/x</link></item></channel></rss>")


XXE = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel>'
       "<title>t</title><item><title>&x;</title><link>http://localhost/x</link><description>&x;</description></item>"
       "</channel></rss>")

CYRILLIC = "Московский городской совет утвердил бюджет на строительство новой линии метро до аэропорта"


@dataclass(frozen=True)
class Fault:
    """One misbehaviour: what the server does, and what the bad source's stored state must be after."""

    serve: Callable[[LocalServer], None]  # installs /bad.xml (and maybe its pages)
    state: str = "backoff"
    failures: int = 1
    delay: tuple[float, float] | None = (2 * EVERY * 0.9, 2 * EVERY * 1.1)  # next poll, seconds from now
    error: str | None = None  # in PollResult.error
    host_block: float | None = None  # seconds Retry-After blocked `localhost` for
    memory: bool = False  # measure allocations
    polls: int = 1
    moved: bool = False
    items: int = 0  # of the bad source
    check: Callable[[Store], None] | None = None


def _feed_with_page(page_handler=None, page_body: bytes | None = None, headers=HTML):
    """A good feed at /bad.xml whose one entry's page misbehaves."""
    def serve(srv: LocalServer) -> None:
        link = srv.url("/bad/1.html").replace("127.0.0.1", "localhost")
        srv.route("/bad.xml", dated_rss(link, [("bad-1", link, "Budget approved")]), headers=RSS)
        if page_handler is not None:
            srv.route("/bad/1.html", handler=page_handler(srv))
        else:
            srv.route("/bad/1.html", page_body, headers=headers)
    return serve


def _static(body: bytes | str, status: int = 200, headers: dict | None = None):
    return lambda srv: srv.route("/bad.xml", body, status=status, headers=headers or RSS)


def _handler(make):
    return lambda srv: srv.route("/bad.xml", handler=make(srv))


def _moved(srv: LocalServer) -> None:
    new = srv.url("/new.xml").replace("127.0.0.1", "localhost")
    srv.route("/bad.xml", handler=raw(301, {"Location": new, "Content-Length": "0"}))
    srv.route("/new.xml", dated_rss(new, [("moved-1", srv.url("/bad/1.html").replace("127.0.0.1", "localhost"), "Moved")]),
              headers=RSS)
    srv.route("/bad/1.html", unique_page("Moved feed story", 991), headers=HTML)


def _cyrillic_stored(store: Store) -> None:
    [item] = store.query(ItemQuery(sources=("bad",)))
    assert CYRILLIC in item.item.text and item.item.origin == "page"


def _from_feed(store: Store) -> None:
    [item] = store.query(ItemQuery(sources=("bad",)))
    assert item.item.origin == "feed" and item.item.title == "Budget approved"


def _nothing_of_passwd(store: Store) -> None:
    assert "root:" not in " ".join((i.item.text or "") + (i.item.title or "") for i in store.query(ItemQuery()))


CYRILLIC_PAGE = (f"<html><head><title>{CYRILLIC[:30]}</title></head><body><article><h1>{CYRILLIC[:30]}</h1>"
                 + f"<p>{CYRILLIC}. {CYRILLIC}.</p>" * 3 + "</article></body></html>").encode("cp1251")

FAULTS = {
    "slow drip": Fault(_handler(lambda s: drip(b"<rss>" + b" " * 200, 0.2, s.closing)), error="within 2 s"),
    "never answers": Fault(_handler(lambda s: stall(s.closing)), error="within 2 s"),
    "connection refused": Fault(lambda srv: None, error="ConnectError"),  # /bad.xml's port: see _bad_url
    "10 GB Content-Length": Fault(_handler(lambda s: raw(200, {"Content-Length": str(10 ** 10)}, b"<rss>")),
                                  error="exceeds", memory=True),
    "endless chunked body": Fault(_handler(lambda s: endless_chunked()), error="exceeds", memory=True),
    "gzip bomb": Fault(lambda srv: srv.route("/bad.xml", gzip_bomb(), headers={**RSS, "Content-Encoding": "gzip"}),
                       error="exceeds", memory=True),
    "redirect loop": Fault(_handler(lambda s: raw(302, {"Location": "/bad.xml", "Content-Length": "0"})),
                           error="redirects"),
    "redirect to 10.0.0.1": Fault(_handler(lambda s: raw(302, {"Location": "http://10.0.0.1/feed",
                                                                "Content-Length": "0"})), error="non-public"),
    "redirect to cloud metadata": Fault(_handler(lambda s: raw(302, {"Location": "http://169.254.169.254/latest",
                                                                      "Content-Length": "0"})), error="non-public"),
    "429 Retry-After": Fault(_static("slow down", 429, {"Retry-After": "120"}), state="ok", failures=0,
                             delay=(119, 121), host_block=120, error="429"),
    "503 Retry-After": Fault(_static("maintenance", 503, {"Retry-After": "600"}), state="ok", failures=0,
                             delay=(599, 601), host_block=600, error="503"),
    "503 without Retry-After": Fault(_static("down", 503), error="503"),
    "410 gone": Fault(_static("gone", 410), state="gone", delay=None, error="410"),
    "301 three times": Fault(_moved, state="ok", failures=0, delay=(EVERY * 0.9, EVERY * 1.1), polls=3, moved=True,
                             items=1),
    "cp1251 page served as UTF-8": Fault(_feed_with_page(page_body=CYRILLIC_PAGE), state="ok", failures=0,
                                         delay=(EVERY * 0.9, EVERY * 1.1), items=1, check=_cyrillic_stored),
    "HTML instead of a feed": Fault(_static(unique_page("Not a feed", 5), headers=HTML), error="looks like HTML"),
    "empty body": Fault(_static(b""), error="empty body"),
    "entity blowup": Fault(_static(billion_laughs()), error="entity declarations refused", memory=True),
    "external entity": Fault(_static(XXE), error="entity declarations refused", check=_nothing_of_passwd),
    # The page misbehaves, not the feed: the entry is stored from the feed's own content.
    "page drips": Fault(_feed_with_page(lambda s: drip(b"<html>" + b" " * 200, 0.2, s.closing)), state="ok",
                        failures=0, delay=(EVERY * 0.9, EVERY * 1.1), items=1, check=_from_feed),
    "page never answers": Fault(_feed_with_page(lambda s: stall(s.closing)), state="ok", failures=0,
                                delay=(EVERY * 0.9, EVERY * 1.1), items=1, check=_from_feed),
    "page is a gzip bomb": Fault(_feed_with_page(lambda s: raw(200, {"Content-Encoding": "gzip", **HTML,
                                                                      "Content-Length": str(len(gzip_bomb()))},
                                                                gzip_bomb())),
                                 state="ok", failures=0, delay=(EVERY * 0.9, EVERY * 1.1), items=1, memory=True,
                                 check=_from_feed),
}


def _config(tmp_path: Path, bad_url: str, healthy_url: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite:///ingest.db"\n[fetch]\ntimeout = {TIMEOUT}\nmax_bytes = 5000000\n'
                    f'[[sources]]\nname = "bad"\nurl = "{bad_url}"\nevery = "{EVERY:g}s"\n'
                    f'[[sources]]\nname = "healthy"\nurl = "{healthy_url}"\nevery = "{EVERY:g}s"\n')
    return config.load(path)


def _serve_healthy(srv: LocalServer) -> None:
    items = []
    for i in range(HEALTHY):
        srv.route(f"/ok/{i}.html", unique_page(f"Healthy story {i}", i), headers=HTML)
        items.append((f"ok-{i}", srv.url(f"/ok/{i}.html"), f"Healthy story {i}"))
    srv.route("/healthy.xml", dated_rss(srv.url("/"), items), headers=RSS)


def loopback_fetcher(cfg: Config) -> Fetcher:
    return Fetcher(cfg.settings.fetch, address_allowed=lambda ip: ip.is_loopback)


@pytest.mark.parametrize("name", list(FAULTS))
def test_bad_source_next_to_a_healthy_one(name, tmp_path):
    fault = FAULTS[name]
    with LocalServer() as srv:
        _serve_healthy(srv)
        fault.serve(srv)
        port = free_port() if name == "connection refused" else srv.port
        bad_url = f"http://localhost:{port}/bad.xml"
        cfg = _config(tmp_path, bad_url, srv.url("/healthy.xml"))
        store = Store(cfg.database_url)
        store.prepare()
        bad, healthy = cfg.sources
        with loopback_fetcher(cfg) as fetcher:
            pipeline = Pipeline(cfg, store, fetcher)
            for _ in range(fault.polls - 1):
                assert pipeline.poll(bad).ok
                assert store.source_state("bad").url == bad_url  # not moved before the third time
            if fault.memory:
                tracemalloc.start()
            started = time.monotonic()
            result = pipeline.poll(bad)
            if fault.memory:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                assert peak < MEMORY, f"{peak / 1e6:.0f} MB allocated"
            good = pipeline.poll(healthy)
            elapsed = time.monotonic() - started
            state, hits_after = store.source_state("bad"), srv.hits["/bad.xml"]
            if fault.host_block or fault.state == "gone":  # such a source is not requested again
                again = pipeline.poll(bad)
    assert elapsed < BOUND, f"{elapsed:.1f} s"
    print(f"\n{name}: {elapsed:.1f} s" + (f", peak {peak / 1e6:.1f} MB allocated" if fault.memory else ""))
    now = datetime.now(timezone.utc)

    assert (good.new, good.failed, good.error) == (HEALTHY, 0, None), good.summary()
    assert store.count_items("healthy") == HEALTHY
    assert store.source_state("healthy").state == "ok"

    assert (state.state, state.failures) == (fault.state, fault.failures), (state.state, state.failures, result)
    if fault.error:
        assert result.error and fault.error in result.error and "\n" not in result.error, result.error
    else:
        assert result.ok, result.error
    if fault.delay is None:
        assert state.next_poll is None and result.next_poll is None
    else:
        delay = (state.next_poll - now).total_seconds()
        assert fault.delay[0] - BOUND <= delay <= fault.delay[1], delay
    blocked = store.blocked_hosts().get("localhost")
    if fault.host_block:
        assert blocked and abs((blocked - now).total_seconds() - fault.host_block) < BOUND
        assert "asked to wait" in again.error and srv.hits["/bad.xml"] == hits_after
        assert "127.0.0.1" not in store.blocked_hosts()
    else:
        assert blocked is None
    if fault.state == "gone":
        assert "gone" in again.error and srv.hits["/bad.xml"] == hits_after
    assert (state.url != bad_url) == fault.moved
    if fault.moved:
        assert state.url.endswith("/new.xml")
    assert store.count_items("bad") == fault.items
    if fault.check:
        fault.check(store)
    store.close()


def test_network_down_parks_every_source_and_a_probe_resumes_them(tmp_path, monkeypatch, capsys):
    """Three sources, all refused: the daemon stops polling them (failures stay at 1) and probes;
    once the address answers, every source is polled again and ingests."""
    monkeypatch.setattr(daemon, "PROBE_SECONDS", 0.3)
    monkeypatch.setattr(daemon, "FIRST_POLL_SPREAD", 0.2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused until listen()
    port = listener.getsockname()[1]
    with LocalServer() as srv:
        _serve_healthy(srv)
        for i in range(3):
            srv.route(f"/s{i}.xml", srv._routes["/healthy.xml"].body, headers=RSS)
        path = tmp_path / "config.toml"
        path.write_text(f'[database]\nurl = "sqlite:///ingest.db"\n[fetch]\ntimeout = {TIMEOUT}\n' + "".join(
            f'[[sources]]\nname = "s{i}"\nurl = "http://127.0.0.1:{port}/s{i}.xml"\nevery = "1s"\n' for i in range(3)))
        cfg = config.load(path)
        store = Store(cfg.database_url)
        store.prepare()
        with loopback_fetcher(cfg) as fetcher:
            d = daemon.Daemon(cfg, store, fetcher)
            d.start()
            try:
                wait_for(lambda: d._held is not None, "network_down")
                time.sleep(2.5)  # several probe periods and source intervals (1 s, backoff 2 s) go by
                assert [s.failures for s in store.source_states()] == [1, 1, 1]
                assert not any(d.scheduler.get_job(f"s{i}") for i in range(3))
                # The network comes back: the port now forwards to the healthy feed server.
                listener.listen()
                threading.Thread(target=_forward, args=(listener, srv.port), daemon=True).start()
                wait_for(lambda: d._held is None, "network_up")
                wait_for(lambda: all(s.failures == 0 for s in store.source_states()), "every source polled again")
            finally:
                d.stop(grace=5)
                listener.close()
    logged = "".join(capsys.readouterr())
    assert "network_down" in logged and "network_up" in logged
    assert store.count_items() == HEALTHY  # the three sources serve one feed: stored once
    store.close()


def _forward(listener: socket.socket, port: int) -> None:
    """Serve every connection by relaying it to the LocalServer (so one port can be down, then up)."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", port))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


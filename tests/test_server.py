"""The observability listener over real HTTP: /metrics from real polls, /livez from the heartbeat, /readyz
from the database; and `ingest healthcheck` against a running daemon and against a bare database."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from urllib.error import HTTPError
from urllib.request import ProxyHandler, build_opener

import pytest

from ingest import config, server
from ingest.config import ConfigError
from ingest.fetch import Fetcher
from ingest.poll.pipeline import Pipeline
from ingest.server import Heartbeat, Listener, Metrics, database_problem
from ingest.storage.store import Store
from tests.helpers.cli import ingest, write_config
from tests.helpers.paths import OTHER_PAGE
from tests.helpers.ports import free_port
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss
from tests.helpers.waiting import wait_for

_http = build_opener(ProxyHandler({}))


def get(url: str) -> tuple[int, str]:
    try:
        with _http.open(url, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as exc:
        return exc.code, exc.read().decode()


def test_server_listen_config(tmp_path):
    path = tmp_path / "c.toml"
    for body, expected in (("", None), ('[server]\nlisten = "127.0.0.1:9108"', ("127.0.0.1", 9108)),
                           ('[server]\nlisten = "[::1]:80"', ("::1", 80))):
        path.write_text(body)
        assert config.load(path).listen == expected
    for bad in ('listen = "9108"', 'listen = "host:99999"', "listen = 9108", "port = 1"):
        path.write_text(f"[server]\n{bad}\n")
        with pytest.raises(ConfigError, match="server"):
            config.load(path)


@pytest.fixture
def ready_store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'ingest.db'}")
    store.prepare()
    yield store
    store.close()


def test_metrics_count_real_polls(tmp_path, ready_store):
    cfg_path = tmp_path / "c.toml"
    with LocalServer() as srv:
        srv.route("/a/1.html", OTHER_PAGE.read_bytes(), headers={"Content-Type": "text/html"})
        srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "Metro")]), headers={"Content-Type": "application/rss+xml"})
        srv.route("/gone.xml", "bye", status=410)
        cfg_path.write_text(f'[fetch]\nallow_private_networks = true\n[[sources]]\nname = "good"\nurl = "{srv.url("/feed.xml")}"\n'
                            f'[[sources]]\nname = "gone"\nurl = "{srv.url("/gone.xml")}"\n'
                            f'[[watchlists]]\nname = "m"\nterms = ["metro"]\n')
        cfg = config.load(cfg_path)
        metrics, heartbeat = Metrics(), Heartbeat()
        with Fetcher(cfg.settings.fetch) as fetcher:
            pipeline = Pipeline(cfg, ready_store, fetcher)
            for source in cfg.sources:
                result = pipeline.poll(source)
                metrics.observe(result, ready_store.source_state(source.name).state)
    listener = Listener(("127.0.0.1", 0), metrics, heartbeat, ready_store.engine).start()
    try:
        status, text = get(f"http://127.0.0.1:{listener.port}/metrics")
    finally:
        listener.close()
    assert status == 200
    lines = set(text.splitlines())
    assert 'ingest_feed_fetches_total{result="ok"} 1.0' in lines
    assert 'ingest_feed_fetches_total{result="http"} 1.0' in lines
    assert "ingest_feed_fetch_duration_seconds_count 2.0" in lines
    assert "ingest_items_stored_total 1.0" in lines and "ingest_items_flagged_total 1.0" in lines
    assert "ingest_sources_in_backoff 0.0" in lines  # gone is not backoff
    last = next(line for line in lines if line.startswith("ingest_last_successful_poll_timestamp_seconds "))
    assert abs(float(last.split()[1]) - time.time()) < 60


def test_livez_follows_the_heartbeat(ready_store):
    heartbeat = Heartbeat()
    listener = Listener(("127.0.0.1", 0), Metrics(), heartbeat, ready_store.engine).start()
    url = f"http://127.0.0.1:{listener.port}/livez"
    try:
        assert get(url) == (503, "scheduler has not ticked yet\n")
        heartbeat.beat()
        assert get(url) == (200, "ok\n")
        heartbeat.last = time.monotonic() - 60  # the scheduler stopped ticking a minute ago
        status, text = get(url)
        assert status == 503 and "last ticked 60 s ago" in text
        assert get(f"http://127.0.0.1:{listener.port}/nope")[0] == 404
    finally:
        listener.close()


def test_readyz_needs_the_database_at_head(tmp_path, ready_store):
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    broken = Store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    try:
        for store, expected in ((ready_store, None), (empty, "schema at revision none"),
                                (broken, "database unreachable")):
            problem = database_problem(store.engine)
            assert (problem is None) if expected is None else (expected in problem), problem
            listener = Listener(("127.0.0.1", 0), Metrics(), Heartbeat(), store.engine).start()
            try:
                status, text = get(f"http://127.0.0.1:{listener.port}/readyz")
            finally:
                listener.close()
            assert (status, text.count("\n")) == ((200, 1) if expected is None else (503, 1))
    finally:
        empty.close()
        broken.close()


def test_healthcheck_without_listener_checks_the_database(tmp_path):
    cfg = write_config(tmp_path, [])
    proc = ingest(cfg, "healthcheck", check=False)
    assert proc.returncode == 1 and "schema at revision none" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    ingest(cfg, "db", "upgrade")
    assert ingest(cfg, "healthcheck", check=False).returncode == 0


def test_daemon_serves_metrics_and_passes_healthcheck(tmp_path):
    port = free_port()
    with LocalServer() as srv:
        srv.route("/a/1.html", OTHER_PAGE.read_bytes(), headers={"Content-Type": "text/html"})
        srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "Metro")]), headers={"Content-Type": "application/rss+xml"})
        cfg = write_config(tmp_path, [("good", srv.url("/feed.xml"))], every="1s")
        cfg.write_text(cfg.read_text() + f'\n[server]\nlisten = "127.0.0.1:{port}"\n')
        log = open(tmp_path / "daemon.log", "w+")
        daemon = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(cfg), "run"],
                                  stdout=log, stderr=log)
        try:
            metrics = f"http://127.0.0.1:{port}/metrics"
            wait_for(lambda: daemon.poll() is None and "ingest_items_stored_total 1.0" in _text(metrics),
                      "the first poll in /metrics", timeout=30)
            assert get(f"http://127.0.0.1:{port}/livez") == (200, "ok\n")
            assert get(f"http://127.0.0.1:{port}/readyz") == (200, "ok\n")
            assert ingest(cfg, "healthcheck", check=False).returncode == 0
            # Another daemon (on another database) cannot take the same address: one line, exit 1.
            other = tmp_path / "other"
            other.mkdir()
            clash = write_config(other, [("good", srv.url("/feed.xml"))])
            clash.write_text(clash.read_text() + f'\n[server]\nlisten = "127.0.0.1:{port}"\n')
            proc = ingest(clash, "run", check=False)
            assert proc.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in proc.stderr
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=30)
    log.seek(0)
    assert code == 0, log.read()
    down = ingest(cfg, "healthcheck", check=False)
    assert down.returncode == 1 and "/livez: no answer" in down.stderr


def _text(url: str) -> str:
    try:
        return get(url)[1]
    except OSError:
        return ""


def _raw(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sent before closing; fails when it is still open after `seconds`."""
    sock.settimeout(seconds)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_half_sent_heads_are_closed_after_the_head_timeout(ready_store, monkeypatch):
    monkeypatch.setattr(server, "HEAD_TIMEOUT", 0.5)
    listener = Listener(("127.0.0.1", 0), Metrics(), Heartbeat(), ready_store.engine).start()
    try:
        stalled = [_raw(listener.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n") for _ in range(20)]
        trickle = _raw(listener.port, b"G")
        started = time.monotonic()
        for _ in range(8):  # one byte every 0.1 s: each read is quick, the head never complete in time
            time.sleep(0.1)
            try:
                trickle.sendall(b"E")
            except OSError:
                break
        assert get(f"http://127.0.0.1:{listener.port}/metrics")[0] == 200  # others are served meanwhile
        for sock in [*stalled, trickle]:
            assert _closed_within(sock, 5) == b""
            sock.close()
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_connections_beyond_the_cap_are_refused_at_once(ready_store, monkeypatch):
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 3)
    listener = Listener(("127.0.0.1", 0), Metrics(), Heartbeat(), ready_store.engine).start()
    try:
        stalled = [_raw(listener.port, b"GET /metrics HTTP/1.1\r\n") for _ in range(3)]
        time.sleep(0.2)  # all three accepted and holding a thread
        refused = _closed_within(_raw(listener.port, b"GET /metrics HTTP/1.0\r\n\r\n"), 5)
        assert refused.startswith(b"HTTP/1.0 503 ")
        for sock in stalled:
            sock.close()
        deadline = time.monotonic() + 5
        while get(f"http://127.0.0.1:{listener.port}/metrics")[0] != 200:  # slots come back as they close
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        listener.close()


def test_head_nosniff_and_no_interpreter_version(ready_store):
    listener = Listener(("127.0.0.1", 0), Metrics(), Heartbeat(), ready_store.engine).start()
    try:
        got = _closed_within(_raw(listener.port, b"GET /metrics HTTP/1.0\r\n\r\n"), 5)
        head = _closed_within(_raw(listener.port, b"HEAD /metrics HTTP/1.0\r\n\r\n"), 5)
        bad = _closed_within(_raw(listener.port, b"DELETE /metrics HTTP/1.0\r\n\r\n"), 5)
    finally:
        listener.close()
    got_head, body = got.split(b"\r\n\r\n", 1)
    assert got_head.startswith(b"HTTP/1.0 200 ") and body.startswith(b"# HELP")
    assert head.startswith(b"HTTP/1.0 200 ") and head.endswith(b"\r\n\r\n")  # no body
    assert f"Content-Length: {len(body)}".encode() in head
    assert bad.startswith(b"HTTP/1.0 501 ")
    for response in (got_head, head, bad):
        headers = response.split(b"\r\n\r\n", 1)[0].decode().lower()
        assert "x-content-type-options: nosniff" in headers
        assert "\r\nserver: ingest\r\n" in headers and "python" not in headers

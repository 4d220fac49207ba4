"""Alert delivery from the outbox: signed webhooks to a real receiver on 127.0.0.1, digests, Atom files."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlmodel import Session, select

from ingest import alerts, config
from ingest.alerts import AtomFiles, Sender, backoff, digest_due, feed_of
from ingest.backfill import rematch
from ingest.config import Outputs, Webhook
from ingest.fetch import FetchSettings
from ingest.server import Heartbeat, Listener, Metrics
from ingest.storage.store import Store
from ingest.storage.tables import AlertRow, HitRow
from ingest.watchlists import Watchlist
from tests.helpers.items import CSTO, T0, add_item, run_on_separate_stores
from tests.helpers.paths import SEED_PAGE
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss
from tests.helpers.waiting import wait_for

SECRET = "s3cret"
LOOPBACK = FetchSettings(allow_private_networks=True, timeout=5)


# -- a webhook receiver that can fail, stop, and come back on the same port ----------

@dataclass
class Received:
    key: str
    status: int | str  # an HTTP status, or "close" (hung up without answering)
    body: bytes
    signature: str | None


@dataclass
class Journal:
    """What every incarnation of the receiver saw; `plan` scripts the answers to the first requests."""

    plan: list[int | str] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Received] = field(default_factory=list)

    def accepted(self) -> Counter:
        with self.lock:
            return Counter(r.key for r in self.requests if isinstance(r.status, int) and 200 <= r.status < 300)


class Receiver:
    def __init__(self, journal: Journal, port: int = 0):
        journal_ = journal

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(journal_.delay)
                with journal_.lock:
                    n = len(journal_.requests)
                    status = journal_.plan[n] if n < len(journal_.plan) else 200
                    journal_.requests.append(Received(self.headers.get("Idempotency-Key"), status, body,
                                                      self.headers.get("X-Ingest-Signature")))
                if status == "close":
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def journal():
    return Journal()


@pytest.fixture
def receiver(journal):
    r = Receiver(journal)
    yield r
    r.stop()


def verify(r: Received) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
    return r.signature is not None and hmac.compare_digest(r.signature, expected)


# -- items -----------------------------------------------------------------------------

def outputs(url: str, digest: float | None = None, atom: Path | None = None) -> dict[str, Outputs]:
    return {"csto": Outputs(Webhook(url, SECRET), atom, digest)}


def alert_rows(store: Store) -> list[AlertRow]:
    with Session(store.engine) as s:
        return list(s.exec(select(AlertRow).order_by(AlertRow.id)).all())


# -- tests -------------------------------------------------------------------------------

def test_every_alert_arrives_once_through_failures_and_a_receiver_restart(store, journal, receiver, db_url):
    journal.plan = [500, "close", 503]
    ids = [add_item(store, f"The CSTO met in city {i}.", url=f"https://e.org/{i}") for i in range(4)]
    sender = Sender(store, outputs(receiver.url()), LOOPBACK)
    now = T0
    assert sender.run(now) == 0  # 500
    assert all(r.state == "pending" for r in alert_rows(store))
    now += timedelta(hours=2)
    assert sender.run(now) == 0  # connection closed without an answer
    port = receiver.port
    receiver.stop()
    now += timedelta(hours=2)
    assert sender.run(now) == 0  # nobody listening: refused
    assert all(r.state == "pending" and r.last_error for r in alert_rows(store)[:1])

    # A new receiver on the same port, and a new daemon (store and sender) on the same database.
    again = Receiver(journal, port)
    try:
        restarted = Store(db_url)
        sender = Sender(restarted, outputs(again.url()), LOOPBACK)
        for _ in range(10):
            now += timedelta(hours=2)
            sender.run(now)
            if all(r.state == "sent" for r in alert_rows(restarted)):
                break
        restarted.close()
    finally:
        again.stop()

    rows = alert_rows(store)
    assert [r.item_id for r in rows] == ids and all(r.state == "sent" and r.sent_at for r in rows)
    accepted = journal.accepted()
    assert len(accepted) == 4 and set(accepted.values()) == {1}  # each key accepted exactly once
    assert [r.status for r in journal.requests[:3]] == [500, "close", 503]
    assert all(verify(r) for r in journal.requests)
    assert rows[0].attempts == 5  # 500, closed, refused, 503, then 2xx
    keys = {json.loads(r.body)["key"] for r in journal.requests}
    assert keys == set(accepted)  # the Idempotency-Key header is the body's key


def test_two_items_of_one_story_make_one_alert_listing_both_outlets(store, receiver, journal):
    first = add_item(store, "The CSTO summit opened.", url="https://a.org/1", source="a")
    second = add_item(store, "The CSTO summit opened today.", url="https://b.org/9", source="b", story=first)
    assert len(alert_rows(store)) == 1
    assert Sender(store, outputs(receiver.url()), LOOPBACK).run(T0) == 1
    (request,) = journal.requests
    body = json.loads(request.body)
    assert body["watchlist"] == "csto" and body["story_id"] == first and body["item"]["id"] == first
    assert body["item"]["snippets"] == ["The [[CSTO]] summit opened."]
    assert body["item"]["published"] is None and body["item"]["source"] == "a"
    assert [(o["source"], o["url"], o["site_name"]) for o in body["outlets"]] == [
        ("a", "https://a.org/1", "Site a"), ("b", "https://b.org/9", "Site b")]
    assert second != first and verify(request)


def test_a_historical_hit_from_rematch_sends_nothing(store, receiver, journal):
    add_item(store, "The CSTO summit opened.", url="https://a.org/1", watchlists=(), alerting=False)
    (result,) = rematch(store, [CSTO])
    assert result.flagged == 1
    with Session(store.engine) as s:
        assert [h.historical for h in s.exec(select(HitRow))] == [True]
    assert alert_rows(store) == []
    assert Sender(store, outputs(receiver.url()), LOOPBACK).run(T0 + timedelta(days=1)) == 0
    assert journal.requests == []


def test_digest_groups_alerts_into_one_post_per_interval(store, receiver, journal):
    for i in range(3):
        add_item(store, f"CSTO story {i}.", url=f"https://e.org/{i}", at=T0 + timedelta(seconds=i))
    sender = Sender(store, outputs(receiver.url(), digest=60), LOOPBACK)
    assert sender.run(T0 + timedelta(seconds=30)) == 0  # the oldest alert has not waited a minute yet
    assert sender.run(T0 + timedelta(seconds=61)) == 1
    (request,) = journal.requests
    body = json.loads(request.body)
    assert body["digest"] is True and len(body["alerts"]) == 3 and verify(request)
    assert body["key"] == request.key and len({a["key"] for a in body["alerts"]}) == 3

    sent_at = T0 + timedelta(seconds=61)
    add_item(store, "CSTO again.", url="https://e.org/late", at=sent_at - timedelta(seconds=50))
    assert sender.run(sent_at + timedelta(seconds=30)) == 0  # less than a minute after the last digest
    assert sender.run(sent_at + timedelta(seconds=60)) == 1
    assert len(journal.requests) == 2 and len(json.loads(journal.requests[1].body)["alerts"]) == 1


def test_concurrent_senders_never_send_an_alert_twice(store, receiver, journal, db_url):
    journal.delay = 0.05  # deliveries overlap
    for i in range(12):
        add_item(store, f"CSTO {i}.", url=f"https://e.org/{i}")
    run_on_separate_stores(db_url, lambda s: Sender(s, outputs(receiver.url()), LOOPBACK).run(T0))
    assert len(journal.requests) == 12 and set(journal.accepted().values()) == {1}
    assert all(r.state == "sent" and r.attempts == 1 for r in alert_rows(store))


def test_a_dead_receiver_does_not_hold_up_other_watchlists(store, receiver, journal, monkeypatch):
    monkeypatch.setattr(alerts, "BATCH", 3)  # fewer than the dead receiver's backlog
    other = Watchlist.from_config({"name": "other", "terms": ["Eurovision"]}, "test")
    for i in range(4):
        add_item(store, f"CSTO {i}.", url=f"https://e.org/{i}")
    add_item(store, "Eurovision.", url="https://e.org/live", watchlists=(other,))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    hooks = {**outputs(dead), "other": Outputs(Webhook(receiver.url(), SECRET))}
    assert Sender(store, hooks, LOOPBACK).run(T0) == 1
    assert [json.loads(r.body)["watchlist"] for r in journal.requests] == ["other"]
    assert [r.attempts for r in alert_rows(store)] == [1, 0, 0, 0, 1]  # one try at the dead one, then it waits


def test_private_webhook_address_is_refused_unless_allowed(store, receiver, journal):
    add_item(store, "CSTO.", url="https://e.org/1")
    assert Sender(store, outputs(receiver.url()), FetchSettings(timeout=5)).run(T0) == 0
    (row,) = alert_rows(store)
    assert row.state == "pending" and "non-public address" in row.last_error and journal.requests == []
    assert row.next_attempt > T0  # backed off


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.1", "192.168.1.1", "169.254.169.254", "[::1]",
                                  "[::ffff:127.0.0.1]", "0.0.0.0"])
def test_private_webhook_addresses_are_refused_before_connecting(store, host):
    """The same guard as feed and page fetches: checked on the resolved address, before any connection."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        listening.setblocking(False)
        port = listening.getsockname()[1]
        add_item(store, "CSTO.", url="https://e.org/1")
        started = time.monotonic()
        assert Sender(store, outputs(f"http://{host}:{port}/hook"), FetchSettings(timeout=5)).run(T0) == 0
        assert time.monotonic() - started < 2
        with pytest.raises(BlockingIOError):
            listening.accept()  # nobody connected
    (row,) = alert_rows(store)
    assert "non-public address" in row.last_error and row.state == "pending"


def test_webhook_secrets_and_url_credentials_never_reach_logs_or_errors(store, capsys):
    with socket.socket() as s:  # a port nobody listens on: the POST fails after the address check passed
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    add_item(store, "CSTO.", url="https://e.org/1")
    url = f"http://hookuser:hook-pw-123@127.0.0.1:{dead}/hook?token=tok-456&x=1"
    hooks = {"csto": Outputs(Webhook(url, "the-hmac-secret-789"))}
    assert Sender(store, hooks, LOOPBACK).run(T0) == 0
    assert Sender(store, {"csto": Outputs(Webhook(url.replace("127.0.0.1", "10.0.0.1"), "the-hmac-secret-789"))},
                  FetchSettings(timeout=5)).run(T0 + timedelta(days=1)) == 0
    logged = "".join(capsys.readouterr())
    (row,) = alert_rows(store)
    assert "alert_failed" in logged and f"127.0.0.1:{dead}/hook?token=REDACTED" in logged
    assert row.last_error.startswith("http://10.0.0.1:")  # the second, refused attempt
    for secret in ("hook-pw-123", "hookuser", "tok-456", "the-hmac-secret-789"):
        assert secret not in logged and secret not in row.last_error
    assert "the-hmac-secret-789" not in repr(hooks)


def test_database_password_never_appears_in_errors(tmp_path):
    with socket.socket() as s:  # a PostgreSQL server that is not there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "c.toml"
    refused = f"postgresql://ingest:db-pw-321@127.0.0.1:{port}/news"
    for url, command in [(refused, "query"), (refused, "healthcheck"), (refused, "db upgrade"), (refused, "run"),
                         (refused + "?sslmode=bogus", "fetch"),
                         ("postgresql://ingest:db-pw-321@127.0.0.1:notaport/news", "query")]:
        path.write_text(f'[database]\nurl = "{url}"\n[[sources]]\nname = "a"\nurl = "http://127.0.0.1:{port}/f"\n')
        out = subprocess.run([sys.executable, "-m", "ingest", "--config", str(path), *command.split()],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "db-pw-321" not in out.stdout + out.stderr, (url, command, out.stderr)
        if command != "db upgrade":
            assert out.stderr.count("\n") == 1, out.stderr  # one line, not a traceback


def test_backoff_doubles_with_jitter_and_is_capped():
    assert 2.5 <= backoff(1, lambda: 0.0) and backoff(1, lambda: 1.0) == 5.0
    assert backoff(3, lambda: 0.0) == 10.0 and backoff(30, lambda: 1.0) == 3600.0


def test_digest_due_waits_for_the_oldest_alert_and_the_last_digest():
    row = AlertRow(key="k", watchlist="w", story_id=1, created_at=T0, next_attempt=T0)
    assert not digest_due([row], None, 60, T0 + timedelta(seconds=59))
    assert digest_due([row], None, 60, T0 + timedelta(seconds=60))
    assert not digest_due([row], T0 + timedelta(seconds=30), 60, T0 + timedelta(seconds=60))


def test_atom_file_lists_flagged_items_and_is_valid_xml(store, tmp_path):
    path = tmp_path / "feeds" / "csto.xml"
    atom = AtomFiles(store, {"csto": Outputs(atom=path)})
    add_item(store, "The CSTO & friends <met>.", url="https://e.org/1?a=1&b=2", alerting=False)
    add_item(store, "Nothing watched here.", url="https://e.org/2", alerting=False)
    add_item(store, "Old CSTO news.", url="https://e.org/3", watchlists=(), alerting=False)
    rematch(store, [CSTO])  # finds e.org/3: historical, so not in the feed
    assert atom.refresh(T0) == 1
    ns = {"a": "http://www.w3.org/2005/Atom"}
    doc = etree.parse(str(path))
    entries = doc.findall("a:entry", ns)
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == ["Title https://e.org/1?a=1&b=2"]
    assert entries[0].find("a:link", ns).get("href") == "https://e.org/1?a=1&b=2"
    assert entries[0].findtext("a:summary", namespaces=ns) == "The [[CSTO]] & friends <met>."
    assert entries[0].findtext("a:updated", namespaces=ns) == "2026-01-01T12:00:00Z"
    assert atom.refresh(T0) == 0  # nothing new: not rewritten
    add_item(store, "More CSTO.", url="https://e.org/4", at=T0 + timedelta(hours=1), alerting=False)
    before = path.stat().st_ino
    assert atom.refresh(T0) == 1
    assert path.stat().st_ino != before  # a new file renamed over the old one, never rewritten in place
    titles = [e.findtext("a:title", namespaces=ns) for e in etree.parse(str(path)).findall("a:entry", ns)]
    assert titles == ["Title https://e.org/4", "Title https://e.org/1?a=1&b=2"]
    assert [p.name for p in path.parent.iterdir()] == ["csto.xml"]  # no temp files left behind


def test_listener_serves_each_watchlists_atom_feed(store):
    add_item(store, "The CSTO met.", url="https://e.org/1", alerting=False)
    listener = Listener(("127.0.0.1", 0), Metrics(), Heartbeat(), store.engine, feed_of(store, ["csto", "quiet"]))
    listener.start()
    try:
        base = f"http://127.0.0.1:{listener.port}/watchlists"
        found, quiet, unknown = (httpx.get(f"{base}/{name}.atom", trust_env=False) for name in ("csto", "quiet", "nato"))
    finally:
        listener.close()
    assert found.status_code == 200 and found.headers["content-type"].startswith("application/atom+xml")
    assert len(etree.fromstring(found.content).findall("{http://www.w3.org/2005/Atom}entry")) == 1
    assert quiet.status_code == 200 and etree.fromstring(quiet.content).find("{http://www.w3.org/2005/Atom}entry") is None
    assert unknown.status_code == 404


def test_outputs_do_not_change_the_watchlist_version_and_bad_values_name_the_key(tmp_path, monkeypatch):
    base = '[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\n'
    path = tmp_path / "c.toml"
    path.write_text(base, encoding="utf-8")
    plain = config.load(path)
    monkeypatch.setenv("HOOK_SECRET", "from-env")
    path.write_text(base + 'webhook = {url = "https://hooks.example/x", secret_env = "HOOK_SECRET"}\n'
                    'atom = "out/csto.xml"\ndigest = "15m"\n', encoding="utf-8")
    cfg = config.load(path)
    assert cfg.watchlists[0].version == plain.watchlists[0].version
    out = cfg.outputs["csto"]
    assert out.webhook.secret == "from-env" and out.digest == 900 and out.atom == tmp_path / "out" / "csto.xml"
    assert "from-env" not in repr(cfg)
    for extra, message in [
        ('webhook = {url = "ftp://x"}', "'webhook.url' must be an http(s) URL"),
        ('webhook = {url = "https://x", secret_env = "NOT_SET_ANYWHERE"}', "NOT_SET_ANYWHERE is not set"),
        ('webhook = {url = "https://x", token = "t"}', "unknown key 'webhook.token'"),
        ('digest = "soon"', "'digest': expected a duration"),
        ('atom = "a.xml"\ndigest = "1h"', "'digest' needs a 'webhook'"),
    ]:
        path.write_text(base + extra + "\n", encoding="utf-8")
        with pytest.raises(config.ConfigError) as err:
            config.load(path)
        assert str(err.value).startswith(f"{path}: watchlist 'csto': ") and message in str(err.value)
        assert "\n" not in str(err.value)


def atom_entries(path: Path) -> int:
    return len(etree.parse(str(path)).findall("{http://www.w3.org/2005/Atom}entry")) if path.exists() else 0


def test_daemon_posts_alerts_and_writes_the_atom_file(tmp_path, journal, receiver):
    with LocalServer() as site:
        site.route("/a/1.html", SEED_PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"})
        site.route("/feed.xml", rss(site, [("1", "/a/1.html", "Armenia Backs Alliance With Russia")]),
                   headers={"Content-Type": "application/rss+xml"})
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            '[database]\nurl = "sqlite:///ingest.db"\n\n[fetch]\nallow_private_networks = true\ntimeout = 10\n\n'
            f'[[sources]]\nname = "s"\nurl = "{site.url("/feed.xml")}"\nevery = "1h"\n\n'
            '[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\n'
            f'webhook = {{url = "{receiver.url()}", secret = "{SECRET}"}}\natom = "csto.xml"\n',
            encoding="utf-8")
        log = open(tmp_path / "daemon.log", "w+")
        daemon = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(cfg), "run"],
                                  stdout=log, stderr=log)
        try:
            wait_for(lambda: journal.accepted() and atom_entries(tmp_path / "csto.xml") == 1,
                      "a webhook and the Atom file")
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            finally:
                daemon.kill()
    (request,) = journal.requests
    body = json.loads(request.body)
    assert verify(request) and body["item"]["title"] == "Armenia Backs Alliance With Russia, Other Ex-Soviet States"
    assert any("[[CSTO]]" in s for s in body["item"]["snippets"])
    log.seek(0)
    assert '"event": "rematched"' in log.read()  # a new watchlist is run over the (empty) past once

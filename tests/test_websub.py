"""WebSub (issue 19 point 4): subscribe to a feed's hub, answer its verification, take signed pushes, renew leases."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from ingest import config as config_mod
from ingest.sources import websub
from ingest.storage.store import Store
from ingest.storage.tables import WebSubRow
from tests.helpers.cli import invoke, sources_config
from tests.helpers.servers import LocalServer

RSS = {"Content-Type": "application/rss+xml"}


def feed(srv: LocalServer, items: list[tuple[str, str]], hub: bool = True) -> str:
    links = (f'<atom:link rel="hub" href="{srv.url("/hub")}"/><atom:link rel="self" href="{srv.url("/feed.xml")}"/>'
             if hub else "")
    entries = "".join(f"<item><title>{title}</title><link>{srv.url('/a/' + guid)}</link><guid>{guid}</guid>"
                      f"<pubDate>Fri, 10 Jun 2022 08:36:20 GMT</pubDate><description>{title} body text.</description>"
                      "</item>" for guid, title in items)
    return (f'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f"<title>pushed</title><link>{srv.url('/')}</link>{links}{entries}</channel></rss>")


class Hub:
    """A loopback hub: records each subscription request; if `verifies`, calls the callback before answering 202."""

    def __init__(self, srv: LocalServer, verifies: bool = True, lease: int = 86400, status: int = 202):
        self.verifies, self.lease, self.status = verifies, lease, status
        self.requests: list[dict[str, str]] = []
        self.verifications: list[httpx.Response] = []
        srv.route("/hub", handler=self.handle)

    def handle(self, request, out) -> None:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.requests.append(form)
        if self.verifies:
            self.verifications.append(self.verify(form, form["hub.topic"]))
        out.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())

    def verify(self, form: dict[str, str], topic: str, mode: str = "subscribe") -> httpx.Response:
        return httpx.get(form["hub.callback"], params={"hub.mode": mode, "hub.topic": topic,
                                                       "hub.challenge": "c-123", "hub.lease_seconds": self.lease})

    def push(self, body: str, secret: str, method: str = "sha1", signature: str | None = None) -> httpx.Response:
        digest = hmac.new(secret.encode(), body.encode(), getattr(hashlib, method)).hexdigest()
        headers = {"Content-Type": "application/rss+xml", "X-Hub-Signature": signature or f"{method}={digest}"}
        if signature == "":
            del headers["X-Hub-Signature"]
        return httpx.post(self.requests[-1]["hub.callback"], content=body.encode(), headers=headers, timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    """The feed's server with its hub, the config, the store and (with a public URL) the web app serving callbacks."""

    def __init__(self, tmp_path: Path, db_url: str, public: bool = True, **hub):
        self.srv = LocalServer().__enter__()
        self.hub = Hub(self.srv, **hub)
        port = free_port()
        web = f'[web]\npublic_url = "http://127.0.0.1:{port}/"\n\n' if public else ""
        self.config = sources_config(tmp_path, f'{web}[[sources]]\nname = "pushed"\nurl = "{self.srv.url("/feed.xml")}"\n'
                                      'every = "15m"\n\n', db_url)
        self.cfg = config_mod.load(self.config)
        self.store = Store(self.cfg.database_url)
        self.store.prepare()
        from ingest.web.app import WebServer

        self.web = WebServer(self.cfg, self.store, ("127.0.0.1", port)).start()
        deadline = time.monotonic() + 30
        while not self.web.server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def close(self) -> None:
        self.web.close()
        self.store.close()
        self.srv.__exit__(None, None, None)

    def serve(self, items: list[tuple[str, str]]) -> None:
        self.srv.route("/feed.xml", feed(self.srv, items), headers=RSS)

    def row(self) -> WebSubRow | None:
        return self.store.websub.get("pushed")

    def titles(self) -> list[str]:
        return sorted(json.loads(line)["title"] for line in invoke(self.config, "export").stdout.splitlines())

    def next_poll(self) -> datetime:
        return self.store.source_state("pushed").next_poll


@pytest.fixture
def site_factory(tmp_path):
    sites = []

    def make(db_url: str, **kw) -> Site:
        sites.append(Site(tmp_path, db_url, **kw))
        return sites[-1]

    yield make
    for s in sites:
        s.close()


def test_a_verified_hub_pushes_signed_feeds_stored_once_and_a_later_poll_sees_duplicates(site_factory, db_url):
    site = site_factory(db_url)
    site.serve([("g1", "First story")])
    first = invoke(site.config, "fetch")
    assert first.stdout == "pushed: 1 new, 0 duplicate, 0 failed, 0 flagged\n", first.output
    [asked] = site.hub.requests
    assert asked["hub.mode"] == "subscribe" and asked["hub.topic"] == site.srv.url("/feed.xml")
    assert asked["hub.callback"].endswith("/websub/pushed") and int(asked["hub.lease_seconds"]) > 0
    assert len(asked["hub.secret"]) >= 32
    [verified] = site.hub.verifications
    assert verified.status_code == 200 and verified.text == "c-123"  # the challenge echoed
    row = site.row()
    assert row.state == "verified" and row.lease_seconds == 86400 and row.secret == asked["hub.secret"]
    now = datetime.now(timezone.utc)
    assert site.next_poll() >= now + websub.SAFETY_POLL - timedelta(minutes=1)  # the safety net only
    # A topic or mode we did not ask for is not confirmed.
    assert site.hub.verify(asked, site.srv.url("/other.xml")).status_code == 404
    assert site.hub.verify(asked, asked["hub.topic"], mode="unsubscribe").status_code == 404

    body = feed(site.srv, [("g2", "Pushed CSTO story"), ("g1", "First story")])
    for bad in (site.hub.push(body, "wrong-secret"), site.hub.push(body, asked["hub.secret"], signature=""),
                site.hub.push(body, asked["hub.secret"], signature="md5=00")):
        assert bad.status_code == 403, bad.text
    assert site.titles() == ["First story"]  # nothing stored from a bad push

    pushed = site.hub.push(body, asked["hub.secret"], "sha256")
    assert pushed.status_code == 200 and pushed.text == "pushed: 1 new, 1 duplicate, 0 failed, 1 flagged\n"
    again = site.hub.push(body, asked["hub.secret"], "sha1")
    assert again.status_code == 200 and again.text == "pushed: 0 new, 2 duplicate, 0 failed, 0 flagged\n"
    site.serve([("g2", "Pushed CSTO story"), ("g1", "First story")])
    polled = invoke(site.config, "fetch")
    assert polled.stdout == "pushed: 0 new, 2 duplicate, 0 failed, 0 flagged\n"  # the push's item, not a new one
    assert site.titles() == ["First story", "Pushed CSTO story"]
    assert len(site.hub.requests) == 1  # a running lease is not asked for again


def test_a_hub_that_never_verifies_leaves_polling_as_it_was_and_is_asked_again_only_after_a_while(site_factory,
                                                                                                  tmp_path):
    site = site_factory(f"sqlite:///{tmp_path / 'ingest.db'}", verifies=False)
    site.serve([("g1", "First story")])
    for _ in range(3):
        assert invoke(site.config, "fetch").exit_code == 0
    assert len(site.hub.requests) == 1  # once, not at every poll
    row, now = site.row(), datetime.now(timezone.utc)
    assert row.state == "pending" and row.error is None
    assert site.next_poll() < now + timedelta(hours=1)  # its own 15 min (with jitter): nothing is pushed yet
    assert "pushed: ok" in invoke(site.config, "sources").stdout
    body = feed(site.srv, [("g2", "Pushed story")])
    assert site.hub.push(body, row.secret).status_code == 404  # not verified: no pushes taken
    row.requested_at = now - websub.RETRY - timedelta(minutes=1)
    site.store.websub.save(row)
    site.hub.status = 500  # asked again after RETRY, with a new secret; the hub now fails: one warning, poll fine
    assert invoke(site.config, "fetch").stdout == "pushed: 0 new, 0 duplicate, 0 failed, 0 flagged (not modified)\n"
    assert len(site.hub.requests) == 2 and site.hub.requests[1]["hub.secret"] != site.hub.requests[0]["hub.secret"]
    assert "the hub answered HTTP 500" in site.row().error and site.row().state == "pending"
    assert invoke(site.config, "fetch").exit_code == 0 and len(site.hub.requests) == 2
    assert site.titles() == ["First story"]


def test_lease_renewal_keeps_the_secret_and_happens_before_expiry(site_factory, db_url):
    site = site_factory(db_url)
    site.serve([("g1", "First story")])
    invoke(site.config, "fetch")
    row = site.row()
    secret = row.secret
    now = datetime.now(timezone.utc)
    assert websub.renew_at(row) < row.expires and websub.due(row, row.hub, row.topic, now) is None
    # Near its end (the last fifth of the lease), with the last request long ago: the next poll renews it.
    row.expires, row.requested_at = now + timedelta(hours=2), now - timedelta(days=1)
    site.store.websub.save(row)
    assert websub.due(row, row.hub, row.topic, now) == "renew"
    soon = WebSubRow(**{**row.model_dump(), "expires": now + timedelta(hours=10)})  # renewed from now + 5.2 h
    assert websub.next_poll(soon, now + timedelta(minutes=15), now) == websub.renew_at(soon) < now + websub.SAFETY_POLL
    assert websub.next_poll(row, now + timedelta(minutes=15), now) == now + timedelta(minutes=15)  # renewal due
    invoke(site.config, "fetch", "--source", "pushed")
    assert len(site.hub.requests) == 2 and site.hub.requests[1]["hub.secret"] == secret
    renewed = site.row()
    assert renewed.state == "verified" and renewed.expires > now + timedelta(hours=23)


def test_without_a_public_url_nothing_is_asked_and_callbacks_are_refused(site_factory, db_url):
    site = site_factory(db_url, public=False)
    site.serve([("g1", "First story")])
    assert invoke(site.config, "fetch").stdout == "pushed: 1 new, 0 duplicate, 0 failed, 0 flagged\n"
    assert site.hub.requests == [] and site.row() is None
    assert site.next_poll() < datetime.now(timezone.utc) + timedelta(hours=1)  # its own 15 min (with jitter)
    callback = f"http://127.0.0.1:{site.web.port}/websub/pushed"
    assert httpx.get(callback, params={"hub.mode": "subscribe", "hub.topic": site.srv.url("/feed.xml"),
                                       "hub.challenge": "x"}).status_code == 404
    assert httpx.post(callback, content=b"<rss/>", headers={"X-Hub-Signature": "sha1=00"}).status_code == 404


def test_hubs_and_the_self_url_are_read_from_rss_atom_and_json_feed():
    from ingest.feeds import parse_feed

    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><link rel="hub" href="/hub"/>'
            b'<link rel="hub" href="javascript:x"/><link rel="self" href="https://a.example/atom.xml"/>'
            b'<entry><title>e</title><id>1</id></entry></feed>')
    parsed = parse_feed(atom, "https://a.example/feed", "application/atom+xml")
    assert parsed.hubs == ("https://a.example/hub",) and parsed.self_url == "https://a.example/atom.xml"
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "feed_url": "https://a.example/f.json",
           "hubs": [{"type": "WebSub", "url": "https://hub.example/"}, "junk"], "items": [{"id": "1", "title": "e"}]}
    parsed = parse_feed(json.dumps(doc).encode(), "https://a.example/f.json", "application/feed+json")
    assert parsed.hubs == ("https://hub.example/",) and parsed.self_url == "https://a.example/f.json"


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha512"])
def test_signatures(method):
    body = b"<rss/>"
    good = f"{method}={hmac.new(b'k', body, getattr(hashlib, method)).hexdigest()}"
    assert websub.signature_ok("k", body, good) and websub.signature_ok("k", body, good.upper().replace(method.upper(), method))
    assert not websub.signature_ok("k", body + b" ", good) and not websub.signature_ok("other", body, good)
    assert not websub.signature_ok("k", body, None) and not websub.signature_ok("k", body, "md5=" + good.split("=")[1])

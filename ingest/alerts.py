"""Deliver watchlist alerts from the outbox: signed webhook POSTs (one per alert, or digests) and Atom files.

Delivery is at least once on the wire and every message carries an idempotency key, so a receiver
that remembers keys acts on each alert exactly once.  A row is marked sent only after a 2xx, and
only the sender that claimed it may send it (`storage/outbox.py`), so concurrent senders never
post the same alert twice and a receiver that answered 2xx never hears of it again.  All state is
in the database: a restarted daemon carries on where the last one stopped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx

from ingest import atom, http
from ingest.config import FetchSettings, Outputs, Webhook
from ingest.files import write_atomically
from ingest.holds import interval_due, muted
from ingest.http import redact
from ingest.logs import log
from ingest.storage.outbox import Alert
from ingest.storage.store import Store
from ingest.storage.tables import AlertRow, ItemRow

EVERY = 5.0  # seconds between sender runs in the daemon
BACKOFF_BASE = 5.0  # seconds before the first retry; doubles per failed attempt
BACKOFF_CAP = 3600.0
LEASE_MARGIN = 30.0  # a claimed row is left alone this long past the request deadline
BATCH = 500  # due alerts read per run
ATOM_ENTRIES = 50


class DeliveryError(Exception):
    """No HTTP response at all: refused address, connection failure, timeout."""


# -- messages (pure) -----------------------------------------------------------------

def backoff(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after `attempts` tries: doubling and capped; jittered so that alerts
    that failed together do not retry in lockstep."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return ceiling / 2 + rng() * ceiling / 2


def idempotency_key(keys: Iterable[str]) -> str:
    """Opaque, ASCII and stable across retries (outbox keys may hold any character)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:32]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def digest_due(pending: Sequence[AlertRow], last_sent: datetime | None, every: float, now: datetime) -> bool:
    """A digest goes once its oldest alert has waited `every`, and never sooner than `every` after the last one."""
    return interval_due(min(r.created_at for r in pending), last_sent, every, now)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def alert_dict(a: Alert) -> dict:
    item = None
    if a.item is not None:
        item = {"id": a.item.id, "title": a.item.title, "url": a.item.url, "published": _iso(a.item.published),
                "source": a.item.source, "snippets": list(a.snippets)}
    return {"id": a.row.id, "key": idempotency_key([a.row.key]), "watchlist": a.row.watchlist,
            "story_id": a.row.story_id, "created_at": _iso(a.row.created_at), "item": item,
            "outlets": [{"source": o.source, "site_name": o.site_name, "url": o.url, "title": o.title}
                        for o in a.outlets]}


def message(watchlist: str, alerts: Sequence[Alert], digest: bool) -> tuple[str, bytes]:
    """The idempotency key and JSON body of one POST: an alert, or a digest of several."""
    if not digest:
        body = alert_dict(alerts[0])
        return body["key"], _json(body)
    key = idempotency_key(a.row.key for a in alerts)
    return key, _json({"digest": True, "key": key, "watchlist": watchlist, "alerts": [alert_dict(a) for a in alerts]})


def _json(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def headers(key: str, body: bytes, secret: str | None, user_agent: str) -> dict[str, str]:
    out = {"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": user_agent}
    if secret:
        out["X-Ingest-Signature"] = signature(secret, body)
    return out


# -- sending -------------------------------------------------------------------------

class Poster:
    """POST under the fetcher's guards: a total deadline, no private addresses unless allowed, no redirects."""

    def __init__(self, settings: FetchSettings):
        self.settings = settings
        self._client = http.client(http.address_policy(settings.allow_private_networks), settings.timeout)

    def close(self) -> None:
        self._client.close()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The response status; the body is never read (the status is all a webhook answers)."""
        try:
            with http.request(self._client, "POST", url, timeout=self.settings.timeout, content=body,
                              headers=dict(headers)) as response:
                return response.status_code
        except http.RequestError as exc:
            raise DeliveryError(f"{redact(url)}: {exc}") from None


class Sender:
    def __init__(self, store: Store, outputs: Mapping[str, Outputs], settings: FetchSettings,
                 rng: Callable[[], float] = random.random):
        self.outbox = store.outbox
        self.hooks = {name: o for name, o in outputs.items() if o.webhook}
        self.settings, self.rng = settings, rng

    def run(self, now: datetime | None = None) -> int:
        """Send what is due at `now` (default: the clock, read again before each claim so that a lease
        always starts when its request does); returns the number of messages a receiver accepted."""
        work = []
        for name, out in self.hooks.items():  # each list on its own, so a dead receiver cannot starve the others
            at = now or datetime.now(timezone.utc)
            if muted(out, at):
                continue  # held in the outbox until the mute ends
            rows = self.outbox.due([name], at, BATCH)
            if not rows:
                continue
            if not out.digest:
                work.append((name, out, [[r] for r in rows]))
            elif digest_due(rows, self.outbox.last_sent(name), out.digest, at):
                work.append((name, out, [rows]))
        if not work:
            return 0
        poster = Poster(self.settings)
        delivered = 0
        try:
            for name, out, batches in work:
                for batch in batches:
                    ok = self._deliver(poster, name, out.webhook, batch, bool(out.digest),
                                       now or datetime.now(timezone.utc))
                    if ok is False:
                        break  # the receiver is failing: the rest of this list waits for the next run
                    delivered += bool(ok)
        finally:
            poster.close()
        return delivered

    def _deliver(self, poster: Poster, name: str, hook: Webhook, rows: list[AlertRow], digest: bool,
                 now: datetime) -> bool | None:
        """True: accepted; False: failed (retried later); None: another sender claimed every row."""
        claimed = self.outbox.claim(rows, now, self.settings.timeout + LEASE_MARGIN)
        if not claimed:
            return None
        key, body = message(name, self.outbox.details(claimed), digest)
        try:
            status = poster.post(hook.url, body, headers(key, body, hook.secret, self.settings.user_agent))
            error = None if 200 <= status < 300 else f"HTTP {status} {httpx.codes.get_reason_phrase(status)}"
        except DeliveryError as exc:
            error = str(exc)
        if error is None:
            self.outbox.mark_sent(claimed, now)
            log.info("alert_sent", watchlist=name, alerts=len(claimed), key=key, url=redact(hook.url))
            return True
        attempts = min(r.attempts for r in claimed)
        retry_at = now + timedelta(seconds=backoff(attempts, self.rng))
        self.outbox.mark_failed(claimed, retry_at, error)
        log.warning("alert_failed", watchlist=name, alerts=len(claimed), key=key, attempts=attempts,
                    retry_at=_iso(retry_at), error=error)
        return False


# -- Atom ----------------------------------------------------------------------------

def atom_feed(watchlist: str, entries: Sequence[tuple[ItemRow, Sequence[str]]], now: datetime, *,
              feed_id: str | None = None, title: str | None = None) -> bytes:
    """An Atom 1.0 document of flagged items, newest first; the summary is the item's snippets.
    A watchlist's feed unless `feed_id` and `title` say otherwise (the web app's saved searches)."""
    return atom.document([atom.Entry(item, [watchlist], snippets) for item, snippets in entries],
                         title=title or f"ingest watchlist: {watchlist}",
                         feed_id=feed_id or f"urn:ingest:watchlist:{quote(watchlist, safe='')}", now=now)


def feed_of(store: Store, watchlists: Sequence[str]) -> Callable[[str], bytes | None]:
    """The listener's `/watchlists/<name>.atom`, built from the stored hits on each request."""
    names = set(watchlists)

    def feed(name: str) -> bytes | None:
        if name not in names:
            return None
        return atom_feed(name, store.outbox.flagged(name, ATOM_ENTRIES), datetime.now(timezone.utc))

    return feed


class AtomFiles:
    """Rewrites a watchlist's Atom file when its ingestion hits changed since the last write."""

    def __init__(self, store: Store, outputs: Mapping[str, Outputs]):
        self.outbox = store.outbox
        self.paths = {name: o.atom for name, o in outputs.items() if o.atom}
        self._marks: dict[str, tuple[int | None, int]] = {}

    def refresh(self, now: datetime | None = None) -> int:
        written = 0
        for name, path in self.paths.items():
            mark = self.outbox.flagged_mark(name)
            if self._marks.get(name) == mark and path.exists():
                continue
            entries = self.outbox.flagged(name, ATOM_ENTRIES)
            write_atomically(path, atom_feed(name, entries, now or datetime.now(timezone.utc)))
            self._marks[name] = mark
            written += 1
        return written


class Alerts:
    """The daemon's periodic job: send due webhooks and notify messages, then refresh Atom files."""

    def __init__(self, store: Store, outputs: Mapping[str, Outputs], settings: FetchSettings,
                 public_url: str | None = None):
        from ingest.channels import Notifier  # (it imports this module)

        self.sender = Sender(store, outputs, settings)
        self.notifier = Notifier(store, outputs, settings, public_url)
        self.atom = AtomFiles(store, outputs)

    @property
    def active(self) -> bool:
        return bool(self.sender.hooks or self.notifier.lists or self.atom.paths)

    def tick(self) -> None:
        try:
            self.sender.run()
            self.notifier.run()
            self.atom.refresh()
        except Exception:  # a bug or a database hiccup must not end the job; the next tick retries
            log.exception("alerts_crashed")

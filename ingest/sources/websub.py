"""WebSub (W3C): a feed that declares a hub is pushed to us, and polled only as a safety net.

With `[web] public_url` set, a poll that finds `<link rel="hub">` (JSON Feed `hubs`) asks the first hub to
push the feed (the topic: its `rel="self"` URL, else the URL polled) to `{public_url}/websub/{source}`, with
a new random secret. The web app answers the hub's verification GET (`ingest.web.websub`) only for the
source, topic and mode we asked for, and takes pushes signed with that secret (X-Hub-Signature) into
`Pipeline.ingest_pushed`: the entries of a poll, with the same dedup, records and watchlists.

    plan = due(row, hub, topic, now)       # pure: None, or why to send a subscription request now
    next = next_poll(row, planned, now)    # pure: while verified, at least SAFETY_POLL, renewing on time

A hub that never verifies leaves the subscription pending: the source keeps its own interval and the request
is repeated once per `RETRY` (one log line each), never per poll.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from ingest.logs import log
from ingest.storage.tables import WebSubRow

if TYPE_CHECKING:
    from ingest.config import Config, Source
    from ingest.feeds import Feed
    from ingest.storage.store import Store
    from ingest.storage.tables import SourceState

LEASE_SECONDS = 10 * 24 * 3600  # asked for; the hub grants what it will (hub.lease_seconds of its verification)
SAFETY_POLL = timedelta(hours=6)  # while pushes come, a source is still polled at least this often
RETRY = timedelta(hours=1)  # a request not verified (or refused) is sent again after this, not before
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def callback_url(public_url: str, source: str) -> str:
    return f"{public_url}/websub/{quote(source, safe='')}"


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature: sha1=HEX` (or sha256/384/512) is the HMAC of the body under the subscription's secret."""
    method, _, digest = (header or "").strip().partition("=")
    hash_ = _HASHES.get(method.lower())
    if hash_ is None or not digest:
        return False
    return hmac.compare_digest(hmac.new(secret.encode(), body, hash_).hexdigest(), digest.strip().lower())


def renew_at(row: WebSubRow) -> datetime | None:
    """A verified lease is renewed in its last fifth (at least an hour before its end)."""
    if row.state != "verified" or row.expires is None:
        return None
    margin = max(timedelta(seconds=(row.lease_seconds or 0) / 5), timedelta(hours=1))
    return row.expires - margin


def due(row: WebSubRow | None, hub: str, topic: str, now: datetime) -> str | None:
    """Why a subscription request should go out now, or None."""
    if row is None:
        return "subscribe"
    if (row.hub, row.topic) != (hub, topic):
        return "hub or topic changed"
    if now - row.requested_at < RETRY:
        return None  # asked recently: wait for the hub (or for RETRY after a failure)
    renew = renew_at(row)
    if renew is None:
        return f"retry ({row.state})"
    return "renew" if now >= renew else None


def next_poll(row: WebSubRow | None, planned: datetime | None, now: datetime) -> datetime | None:
    """While a lease runs, poll at least SAFETY_POLL apart, but in time to renew it."""
    renew = renew_at(row) if row is not None else None
    if planned is None or renew is None or row.expires <= now:  # type: ignore[union-attr]
        return planned
    return max(min(max(planned, now + SAFETY_POLL), renew), planned)


@dataclass(frozen=True)
class Subscriber:
    """The I/O: the subscription rows and the hub requests (POST under the fetcher's guards, `alerts.Poster`)."""

    config: Config
    store: Store

    def after_poll(self, source: Source, state: SourceState, feed: Feed | None, now: datetime) -> datetime | None:
        """Subscribe or renew if due (`feed` None: a 304, the stored hub stands); the source's next poll."""
        row = self.store.websub.get(source.name)
        if feed is not None and not feed.hubs:
            if row is not None:
                self.store.websub.forget(source.name)
                log.info("websub_forgotten", source=source.name, reason="the feed no longer declares a hub")
            return state.next_poll
        hub, topic = (feed.hubs[0], feed.self_url or state.url) if feed is not None else \
            (row.hub, row.topic) if row is not None else (None, None)
        if hub is not None and (why := due(row, hub, topic, now)):
            self._request(source, hub, topic, row if why == "renew" else None, why, now)
            row = self.store.websub.get(source.name)  # a hub may have verified it already
        planned = next_poll(row, state.next_poll, now)
        if planned != state.next_poll:
            state.next_poll = planned
            self.store.save_source_state(state)
        return state.next_poll

    def _request(self, source: Source, hub: str, topic: str, keep: WebSubRow | None, why: str,
                 now: datetime) -> None:
        """Ask the hub to push `topic` (`keep`: the verified subscription a renewal keeps, secret and all);
        saved before sending, since a hub may verify before it answers."""
        from ingest.alerts import DeliveryError, Poster
        from ingest.http import redact

        row = WebSubRow(source=source.name, hub=hub, topic=topic, secret=keep.secret if keep else secrets.token_hex(32),
                        state="verified" if keep else "pending", requested_at=now,
                        expires=keep.expires if keep else None, lease_seconds=keep.lease_seconds if keep else None)
        self.store.websub.save(row)
        body = urlencode({"hub.mode": "subscribe", "hub.topic": topic, "hub.secret": row.secret,
                          "hub.callback": callback_url(self.config.public_url or "", source.name),
                          "hub.lease_seconds": str(LEASE_SECONDS)}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": self.config.settings.fetch.user_agent}
        poster = Poster(self.config.settings.fetch)
        try:
            status = poster.post(hub, body, headers)
            error = None if 200 <= status < 300 else f"the hub answered HTTP {status}"
        except DeliveryError as exc:
            error = str(exc)
        finally:
            poster.close()
        if error:
            row.error = f"subscription request to {redact(hub)}: {error}; asked again in {RETRY}"
            self.store.websub.save(row)
            log.warning("websub_subscribe", source=source.name, hub=redact(hub), why=why, error=row.error)
        else:
            log.info("websub_subscribe", source=source.name, hub=redact(hub), topic=redact(topic), why=why)

"""Deliver alerts to notify targets (Apprise URLs: e-mail, Slack, Teams, Telegram, Matrix, ntfy, JSON…).

Each target has its own outbox rows (`delivery`, one per alert and target, made by `Outbox.fan_out`),
claimed, sent and marked exactly as the webhook's (`ingest.alerts`): a row is marked sent only after
the channel accepted it, and only the sender that claimed it sends it, so each (watchlist, story,
target) goes out once, across failures and restarts; failures back off. Mute, quiet hours and digests
(`ingest.holds`) only hold rows back. A target's host is resolved and refused when it is not public
(unless `[fetch] allow_private_networks`), before Apprise is given the URL.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ingest import holds
from ingest.alerts import BATCH, LEASE_MARGIN, DeliveryError, backoff
from ingest.config import FetchSettings, Outputs, Target
from ingest.http import is_public_address
from ingest.logs import log
from ingest.messages import Message, TemplateFailed, render
from ingest.storage.outbox import Alert
from ingest.storage.store import Store
from ingest.storage.tables import AlertRow, DeliveryRow, ItemRow


def destination(target: Target) -> str | None:
    """The host Apprise will connect to for this URL (the SMTP server for e-mail); None when Apprise
    does not know the URL."""
    import apprise

    plugin = apprise.Apprise.instantiate(target.url, suppress_exceptions=True)
    if plugin is None:
        return None
    return getattr(plugin, "smtp_host", None) or getattr(plugin, "host", None) or ""


def refusal(host: str, allow_private: bool) -> str | None:
    """Why a target's host may not be sent to, or None. A host part that is not a DNS name (a hosted
    service's token or topic, like Telegram's bot id or an ntfy.sh topic) addresses that public service."""
    if allow_private or not host or host.isdigit():
        return None
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return None
    for address in sorted(found):
        if not is_public_address(ipaddress.ip_address(address.split("%")[0])):
            return (f"refused: {host} is a non-public address ({address}); "
                    "set [fetch] allow_private_networks = true to allow it")
    return None


def send(target: Target, message: Message, allow_private: bool) -> None:
    """One message to one target through Apprise; a DeliveryError (secrets scrubbed) when it was not accepted."""
    import apprise

    host = destination(target)
    if host is None:
        raise DeliveryError(f"{target.name}: not a URL Apprise knows ({target.scheme}://…)")
    why = refusal(host, allow_private)
    if why:
        raise DeliveryError(f"{target.name}: {why}")
    logging.getLogger("apprise").propagate = False  # its lines may name hosts and users: we report, scrubbed
    sender = apprise.Apprise()
    sender.add(target.url)
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        ok = sender.notify(body=message.body, title=message.title,
                           body_format=apprise.NotifyFormat.HTML if message.html else apprise.NotifyFormat.TEXT)
        said = captured.getvalue().strip().splitlines()
    if not ok:
        reason = said[-1] if said else "not accepted"
        raise DeliveryError(target.scrub(f"{target.name}: {reason}")[:500])


def message(target: Target, watchlist: str, alerts: list[Alert], public_url: str | None) -> Message:
    """The target's message from its templates; a template that fails is this delivery's DeliveryError."""
    try:
        return render(watchlist, alerts, target.scheme, public_url, target.digest is not None, target.template)
    except TemplateFailed as exc:
        raise DeliveryError(target.scrub(f"{target.name}: template {exc}")[:500]) from None


@dataclass(frozen=True)
class Outcome:
    target: str
    error: str | None  # None: accepted


class Notifier:
    """Sends due deliveries to every notify target: one message per alert, or a digest."""

    def __init__(self, store: Store, outputs: Mapping[str, Outputs], settings: FetchSettings,
                 public_url: str | None = None, rng: Callable[[], float] = random.random,
                 transport: Callable[[Target, Message, bool], None] = send):
        self.outbox = store.outbox
        self.lists = {name: o for name, o in outputs.items() if o.notify}
        self.settings, self.public_url, self.rng, self.transport = settings, public_url, rng, transport

    def run(self, now: datetime | None = None) -> int:
        """Send what is due at `now` (default: the clock); returns the number of messages accepted."""
        delivered = 0
        for name, out in self.lists.items():
            for target in out.notify:
                at = now or datetime.now(timezone.utc)
                self.outbox.fan_out(name, target.name, at)  # also while held: nothing is missed
                if holds.muted(out, at) or holds.quiet(target, at):
                    continue
                rows = self.outbox.due_deliveries(name, target.name, at, BATCH)
                if not rows:
                    continue
                if target.digest is None:
                    batches = [[r] for r in rows]
                elif holds.digest_ready(target.digest, [r.created_at for r in rows],
                                        self.outbox.last_sent(name, target.name), target.zone, at):
                    batches = [rows]
                else:
                    continue
                for batch in batches:
                    ok = self._deliver(name, target, batch, now or datetime.now(timezone.utc))
                    if ok is False:
                        break  # this target is failing: the rest waits for its retry time
                    delivered += bool(ok)
        return delivered

    def _deliver(self, name: str, target: Target, rows: list[DeliveryRow], now: datetime) -> bool | None:
        """True: accepted; False: failed (retried later); None: another sender claimed every row."""
        claimed = self.outbox.claim(rows, now, self.settings.timeout + LEASE_MARGIN)
        if not claimed:
            return None
        alerts = self.outbox.details(self.outbox.alerts_of(claimed))
        try:
            self.transport(target, message(target, name, alerts, self.public_url), self.settings.allow_private_networks)
        except DeliveryError as exc:
            attempts = min(r.attempts for r in claimed)
            retry_at = now + timedelta(seconds=backoff(attempts, self.rng))
            self.outbox.mark_failed(claimed, retry_at, str(exc))
            log.warning("notify_failed", watchlist=name, target=target.name, alerts=len(claimed),
                        attempts=attempts, retry_at=retry_at.isoformat(), error=str(exc))
            return False
        self.outbox.mark_sent(claimed, now)
        log.info("notify_sent", watchlist=name, target=target.name, alerts=len(claimed))
        return True

    def test(self, name: str, now: datetime | None = None) -> list[Outcome]:
        """One sample message to each target of the watchlist, whatever its holds; nothing is stored."""
        now = now or datetime.now(timezone.utc)
        item = ItemRow(id=0, title=f"Sample alert from ingest for watchlist {name}", url="https://example.org/sample",
                       source="sample", site_name="Sample outlet", published=now)
        sample = Alert(AlertRow(key="sample", watchlist=name, story_id=0, created_at=now, next_attempt=now), item,
                       (f"A sample snippet with the [[matched term]] of {name}.",), (item,))
        outcomes = []
        for target in self.lists[name].notify:
            try:
                self.transport(target, message(target, name, [sample], None), self.settings.allow_private_networks)
                outcomes.append(Outcome(target.name, None))
            except DeliveryError as exc:
                outcomes.append(Outcome(target.name, str(exc)))
        return outcomes

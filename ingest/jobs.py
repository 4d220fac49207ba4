"""What the embedded daemon (`daemon.py`, APScheduler) and the worker pool (`cluster.py`, Procrastinate) both
run: when a source is due, the prune, the alert sender and the rematch of changed watchlists.  Each scheduler
decides only when; what each job does, and the rules of when a poll is due, are here once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from ingest.alerts import EVERY as ALERTS_EVERY
from ingest.backfill import rematch_changed
from ingest.clock import utcnow
from ingest.config import Outputs, Retention, Source
from ingest.logs import log
from ingest.poll.source import kept_state
from ingest.storage.store import Store
from ingest.storage.tables import SourceState
from ingest.watchlists import Watchlist

__all__ = ["ALERTS_EVERY", "GRACE_SECONDS", "alerts_wanted", "first_poll", "is_due", "planned", "poll_url",
           "prune", "rematch"]

GRACE_SECONDS = 30.0  # SIGTERM: how long in-flight polls may finish before they are left to be redone


def first_poll(source: Source, state: SourceState | None, now: datetime) -> datetime | None:
    """When a source is first due after a start: its planned poll, or now; None when gone (410) until the
    config changes its URL."""
    kept = kept_state(state, source)
    if kept is None:
        return now
    if kept.state == "gone":
        return None
    return max(kept.next_poll or now, now)


def is_due(source: Source, state: SourceState | None, now: datetime, tick: float = 0.0) -> bool:
    """Due at the tick nearest its planned time (half a tick early at most): waiting for the tick after
    it would stretch every interval by up to a tick (`every = "10s"` polled every 20 s at a 10 s tick)."""
    kept = kept_state(state, source)
    if kept is None:  # never polled, or the config changed its URL
        return True
    return kept.state != "gone" and (kept.next_poll is None or kept.next_poll <= now + timedelta(seconds=tick / 2))


def planned(source: Source, state: SourceState | None) -> datetime | None:
    """When the poll was planned, so the next is planned from it and a scheduler's rounding does not add up."""
    kept = kept_state(state, source)
    return kept.next_poll if kept else None


def poll_url(source: Source, state: SourceState | None) -> str:
    """The URL a poll would fetch now: where the feed moved to, else the config's."""
    kept = kept_state(state, source)
    return kept.url if kept else source.url


def prune(store: Store, retention: Retention) -> None:
    cutoff = utcnow() - timedelta(seconds=retention.keep)
    log.info("pruned", items=store.prune(cutoff, retention.keep_flagged), older_than=cutoff.isoformat())


def rematch(store: Store, watchlists: Sequence[Watchlist]) -> None:
    """Watchlists defined or changed since the last run see the stored items too (historical hits, no alerts)."""
    rematch_changed(store, watchlists)


def alerts_wanted(outputs: Mapping[str, Outputs]) -> bool:
    """The sender runs (every `ALERTS_EVERY` seconds) only when some watchlist has a webhook, notify targets or
    an Atom file."""
    return any(o.sends or o.atom for o in outputs.values())

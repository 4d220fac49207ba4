"""A source's lifecycle around one poll: its stored state, Retry-After blocks of its host, the next poll
(through `schedule.plan`), what a failure means for the schedule, and extraction health.

The state is loaded once per poll, changed here only, and saved once, after the poll's items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from ingest.config import Source
from ingest.feeds import Feed, FeedError
from ingest.fetch import FetchError, Response
from ingest.http import redact
from ingest.logs import log
from ingest.poll.draft import Draft
from ingest.schedule import AUTO_MAX, Outcome, auto_interval, plan
from ingest.storage.store import Store
from ingest.storage.tables import SourceState

BLOCKS_READ_EVERY = timedelta(seconds=60)  # other workers may add Retry-After blocks


def kept_state(state: SourceState | None, source: Source) -> SourceState | None:
    """The stored state while it is for the config's URL; None when the source is new or the config changed its
    URL since: then the source starts over (validators, schedule, moves and failures were the old URL's)."""
    return state if state is not None and state.config_url == source.url else None


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass
class Health:
    """Extraction health of one poll; added to the source's running counts."""

    extracted: int = 0
    empty_bodies: int = 0
    missing_dates: int = 0
    missing_titles: int = 0
    feed_fallbacks: int = 0

    def count(self, d: Draft) -> None:
        self.extracted += 1
        self.empty_bodies += d.empty_page
        self.feed_fallbacks += d.origin == "feed" and d.error is not None
        if d.article is not None:
            self.missing_dates += d.article.published is None
            self.missing_titles += not d.article.title

    def add_to(self, state: SourceState) -> None:
        state.extracted += self.extracted
        state.empty_bodies += self.empty_bodies
        state.missing_dates += self.missing_dates
        state.missing_titles += self.missing_titles
        state.feed_fallbacks += self.feed_fallbacks

    def degraded(self, state: SourceState) -> tuple[float, float] | None:
        """(this poll's empty-body rate, the source's usual rate) when its pages suddenly stop yielding text:
        usually its template changed."""
        if self.extracted < 3:
            return None
        rate = self.empty_bodies / self.extracted
        usual = state.empty_bodies / state.extracted if state.extracted else 0.0
        return (rate, usual) if rate >= 0.5 and rate > 2 * usual else None


def failure_outcome(exc: FetchError | FeedError) -> Outcome:
    """What a failed poll means for the schedule."""
    error = str(exc)
    if isinstance(exc, FeedError):
        return Outcome("invalid", error=error)
    if exc.status in (429, 503) and exc.retry_after is not None:
        return Outcome("rate_limited", error=error, retry_after=exc.retry_after)
    if exc.status == 410:
        return Outcome("gone", error=error)
    if exc.status == 404:
        return Outcome("not_found", error=error)
    if exc.kind in ("timeout", "connection") or (exc.status or 0) >= 500 or exc.status == 429:
        return Outcome("transient", error=error)
    return Outcome("invalid", error=error)


def moved_to(response: Response) -> str | None:
    """The feed's new URL when every redirect on the way was permanent."""
    if response.redirects and all(code in (301, 308) for code, _ in response.redirects):
        return response.url
    return None


def record_feed(state: SourceState, source: Source, feed: Feed, response: Response, health: Health,
                entries_failed: bool) -> None:
    """What a parsed feed changes in the source's state: health counts, validators, the automatic interval."""
    if (degraded := health.degraded(state)) is not None:
        log.warning("extraction_degraded", source=source.name, empty_rate=round(degraded[0], 2),
                    usual_rate=round(degraded[1], 2), hint="template changed? check with `ingest check-source`")
    health.add_to(state)
    # A failed entry is retried at the next poll: no validators, so an unchanged feed is not a 304.
    state.etag, state.last_modified = (None, None) if entries_failed else (response.etag, response.last_modified)
    if source.every is None:
        state.interval = auto_interval([t for e in feed.entries if (t := e.published or e.updated)])


class SourceStates:
    """Loads and saves sources' polling state; keeps the hosts' Retry-After blocks (shared by the sources)."""

    def __init__(self, store: Store):
        self.store = store
        self._blocked: dict[str, datetime] = {}
        self._blocked_read_at = datetime.min.replace(tzinfo=timezone.utc)

    def load(self, source: Source) -> SourceState:
        return kept_state(self.store.source_state(source.name), source) or \
            SourceState(name=source.name, config_url=source.url, url=source.url)

    def host_blocked_until(self, url: str, now: datetime) -> datetime | None:
        """Retry-After blocks, read from the database once a minute (other workers may add some), else from memory."""
        if now >= self._blocked_read_at + BLOCKS_READ_EVERY:
            self._blocked, self._blocked_read_at = self.store.blocked_hosts(), now
        return self._blocked.get(host_of(url))

    def wait_for_host(self, state: SourceState, until: datetime) -> datetime:
        """The host asked us to wait (Retry-After): not this source's failure, only its next poll moves."""
        state.next_poll = until
        self.store.save_source_state(state)
        return until

    def reschedule(self, state: SourceState, source: Source, outcome: Outcome, now: datetime,
                   planned: datetime | None = None) -> datetime | None:
        """Save validators and the next poll time, after the poll's items are stored."""
        p = plan(state=state.state, failures=state.failures, url=state.url, moved_to=state.moved_to,
                 moved_count=state.moved_count, outcome=outcome, every=source.every or state.interval or AUTO_MAX / 4,
                 now=now, planned=planned)
        if p.url != state.url:
            log.warning("source_moved", source=source.name, old=redact(state.url), new=redact(p.url))
            state.etag = state.last_modified = None
        if outcome.kind in ("ok", "not_modified"):
            state.last_success, state.last_error = now, outcome.error  # a poll that stored, some entries may not
        else:
            state.last_error = outcome.error
        state.state, state.failures, state.next_poll = p.state, p.failures, p.next_poll
        state.url, state.moved_to, state.moved_count = p.url, p.moved_to, p.moved_count
        if p.host_blocked_until:
            self.store.block_host(host_of(state.url), p.host_blocked_until)
            self._blocked[host_of(state.url)] = p.host_blocked_until
        self.store.save_source_state(state)
        return state.next_poll

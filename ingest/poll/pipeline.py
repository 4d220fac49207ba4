"""One poll of one source, through every stage: fetch → parse feed → screen entries → draft → decide and store.

Wiring only: the source's lifecycle is `poll.source`, the entries up to their drafts `poll.entries`, storing
them `poll.commit`, the rules `poll.decide`.  A poll never raises for a bad source or a failing database
(locked, full): problems become a `PollResult.error` and a log event, so one source cannot stop the others.
"""

from __future__ import annotations

import time
from concurrent.futures import TimeoutError
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from ingest.clock import elapsed_ms, utcnow
from ingest.config import Config, Source
from ingest.feeds import Feed, FeedEntry, FeedError
from ingest.fetch import Fetcher, FetchError, Response
from ingest.http import redact
from ingest.logs import log
from ingest.poll.commit import Committer
from ingest.poll.draft import Draft
from ingest.poll.entries import Drafter, screen
from ingest.poll.faults import cancelled
from ingest.poll.result import PollResult
from ingest.poll.source import Health, SourceStates, failure_outcome, host_of, moved_to, record_feed
from ingest.poll.workers import WorkerPool
from ingest.schedule import AUTO_MAX, Outcome, cache_hint
from ingest.sources import SitemapIndex, read_source
from ingest.sources.websub import Subscriber
from ingest.storage.store import Store
from ingest.storage.tables import SourceState

__all__ = ["PARSE_SECONDS", "Pipeline", "PollResult"]

PARSE_SECONDS = 30.0  # a feed that takes longer to parse is treated as invalid


class Pipeline:
    def __init__(self, config: Config, store: Store, fetcher: Fetcher, workers: WorkerPool | None = None):
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.workers = workers or WorkerPool(processes=0, watchlists=config.watchlists)
        self.settings = config.settings
        self.sources = SourceStates(store)
        self.drafter = Drafter(config.settings, fetcher, self.workers)
        # Watchlists with a webhook or notify targets: their hits go to the outbox (an Atom file reads the hits
        # themselves).
        alerting = {name for name, out in config.outputs.items() if out.sends}
        self.committer = Committer(store, alerting, config.settings.tracking_params, config.settings.store_batch,
                                   config.settings.near_duplicate_candidates)
        # WebSub (ingest.sources.websub): only with a public URL for hubs to call back.
        self.websub = Subscriber(config, store) if config.public_url else None

    def poll(self, source: Source, planned: datetime | None = None) -> PollResult:
        """`planned`: when the poll was due, for a scheduler that starts it later (see `schedule.plan`)."""
        result = PollResult(source.name)
        try:
            return self._poll(source, planned, result)
        except OperationalError as exc:  # locked too long, disk full, server gone: the database's, not the source's
            return self._database_failed(source, result, exc)

    def _database_failed(self, source: Source, result: PollResult, exc: OperationalError) -> PollResult:
        """One clear error; nothing more is written (it would fail too).  Each batch is one transaction and the
        feed's validators are saved only after its items, so the next poll fetches what was not stored."""
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        if "locked" in reason:
            reason += f" (another process held its write lock longer than [database] lock_timeout = " \
                      f"{self.config.lock_timeout:g} s)"
        result.error, result.failure = f"database: {reason}; not stored now, retried at the next poll", "database"
        result.next_poll = utcnow() + timedelta(seconds=source.every or AUTO_MAX / 4)
        log.error("poll_database_error", source=source.name, error=reason, new=result.new)
        return result

    def _poll(self, source: Source, planned: datetime | None, result: PollResult) -> PollResult:
        state = self.sources.load(source)
        now = utcnow()
        if state.state == "gone":
            result.error = f"gone (HTTP 410) since {state.last_polled:%Y-%m-%d}; not polled: change its url to retry"
            result.failure, result.state = "gone", "gone"
            return result
        blocked = self.sources.host_blocked_until(state.url, now)
        if blocked and blocked > now:
            # The host asked us to wait (Retry-After): not this source's failure.
            result.error = f"host {host_of(state.url)} asked to wait until {blocked:%Y-%m-%d %H:%M:%S} UTC"
            result.failure, result.state = "host_blocked", state.state
            result.next_poll = self.sources.wait_for_host(state, blocked)
            return result
        state.last_polled = now
        started = time.monotonic()
        feed = None
        try:
            response = self.fetcher.get(state.url, etag=state.etag, last_modified=state.last_modified)
            if not response.not_modified:
                feed = self._read(source, response)
        except (FetchError, FeedError) as exc:
            if cancelled(exc):
                return _stopped(result)
            result.error, result.failure = str(exc), getattr(exc, "kind", "feed")
            result.fetch_seconds = elapsed_ms(started) / 1000
            log.warning("feed_fetch", source=source.name, url=redact(state.url), status=getattr(exc, "status", None),
                        duration_ms=elapsed_ms(started), error=result.error)
            result.next_poll = self.sources.reschedule(state, source, failure_outcome(exc), now)
            result.state = state.state
            return result
        result.fetch_seconds = response.duration_ms / 1000
        log.info("feed_fetch", source=source.name, url=redact(state.url), status=response.status,
                 duration_ms=response.duration_ms, bytes=len(response.content),
                 entries=len(feed.entries) if feed else 0)
        if feed is None:
            result.not_modified = True
        else:
            health = Health()
            for failure in feed.failed:
                result.entry_failed(failure)
                log.warning("item_failed", source=source.name, error=failure)
            try:
                self._ingest(source, feed.entries, result, health)
            except FetchError as exc:
                if not cancelled(exc):
                    raise
                # What was stored stays stored; validators are not saved, so the next run sees every entry.
                return _stopped(result)
            record_feed(state, source, feed, response, health, entries_failed=bool(result.failed))
        hint = cache_hint(dict(response.headers), feed.ttl_minutes if feed else None, now)
        error = f"{result.failed} entries failed, first {result.entry_error}" if result.failed else None
        outcome = Outcome("ok", error=error, hint=hint, moved_to=moved_to(response))
        result.next_poll = self.sources.reschedule(state, source, outcome, now, planned)
        result.state = state.state
        if self.websub is not None:  # subscribe or renew; while pushed, a long safety-net interval
            result.next_poll = self._websub(source, state, feed, now)
        if feed is not None:  # a 304 is fully told by its feed_fetch event
            log.info("poll_done", source=source.name, new=result.new, updated=result.updated,
                     duplicates=result.duplicates, failed=result.failed, flagged=result.flagged,
                     duration_ms=elapsed_ms(started))
        return result

    def _websub(self, source: Source, state: SourceState, feed: Feed | None, now: datetime) -> datetime | None:
        """A hub that fails costs a log line, never the poll: its items are stored already."""
        try:
            return self.websub.after_poll(source, state, feed, now)  # type: ignore[union-attr]
        except OperationalError:
            raise
        except Exception:
            log.exception("websub_failed", source=source.name)
            return state.next_poll

    def ingest_pushed(self, source: Source, url: str, body: bytes, content_type: str | None) -> PollResult:
        """A feed document a WebSub hub pushed for `source`, stored as a poll's entries are (the same dedup,
        records and watchlists); the source's schedule and validators stay the polls'."""
        result = PollResult(source.name)
        try:
            feed = self._read(source, Response(url, 200, {"content-type": content_type} if content_type else {}, body, 0))
            for failure in feed.failed:
                result.entry_failed(failure)
            self._ingest(source, feed.entries, result, Health())
        except (FetchError, FeedError) as exc:
            result.error, result.failure = str(exc), getattr(exc, "kind", "feed")
        except OperationalError as exc:
            return self._database_failed(source, result, exc)
        log.info("websub_push", source=source.name, new=result.new, duplicates=result.duplicates,
                 failed=result.failed, error=result.error)
        return result

    def _read(self, source: Source, response: Response) -> Feed:
        """The source's entries: a feed's, or by its type (a sitemap index fetches its children; `ingest.sources`)."""
        return read_source(source, response, self.fetcher, lambda r: self._parse(r, source), self.settings.max_entries)

    def _parse(self, response: Response, source: Source | None = None) -> Feed | SitemapIndex:
        """Parse in a worker process, bounded in time: feedparser is slow on big broken XML (~7 s/MB)."""
        future = self.workers.parse_feed(response.content, response.url, response.content_type,
                                         self.settings.max_entries, source)
        try:
            return future.result(timeout=PARSE_SECONDS)
        except TimeoutError:
            future.cancel()
            raise FeedError(f"{redact(response.url)}: parsing took longer than {PARSE_SECONDS:.0f} s") from None
        except BrokenProcessPool:
            raise FeedError(f"{redact(response.url)}: the parser's process died (out of memory?)") from None

    def _ingest(self, source: Source, entries: tuple[FeedEntry, ...], result: PollResult, health: Health) -> None:
        """Skip entries already stored and unchanged; fetch, draft and store the rest."""
        screened = screen(entries, self.store, source.name, self.settings.tracking_params, utcnow())
        result.duplicates += screened.duplicates
        if not screened.fetch:
            return
        drafts = self.drafter.draft_all(self.drafter.context(source), screened.fetch)
        for d in drafts:
            health.count(d)
        self.committer.commit(source.name, drafts, result)

    def preview(self, source: Source, limit: int = 3) -> list[Draft]:
        """Fetch a few current entries and draft them, storing nothing (`ingest check-source`)."""
        feed = self._read(source, self.fetcher.get(source.url))
        ctx = self.drafter.context(source)
        return [self.drafter.draft_one(ctx, e) for e in feed.entries[:limit]]


def _stopped(result: PollResult) -> PollResult:
    result.error, result.failure = "stopped: the daemon is shutting down", "cancelled"
    log.info("poll_stopped", source=result.source, new=result.new)
    return result

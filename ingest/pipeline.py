"""One poll of one source, through every stage: fetch → parse feed → extract → fingerprint → store → flag.

This is the only module that wires the stages together; each stage lives in its
own module and knows nothing of the others.  A poll never raises for a bad source:
problems become a `PollResult.error` and a log event, so one source cannot stop
the others.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import urlsplit

from ingest.article import Article
from ingest.config import Config, Source
from ingest.decide import Duplicate, decide, entry_keys, item_keys
from ingest.extract import decode_html, extract
from ingest.feeds import FeedEntry, FeedError, parse_feed
from ingest.fetch import FetchError, Fetcher, redact
from ingest.fingerprint import fingerprints
from ingest.logs import log
from ingest.schedule import AUTO_MAX, Outcome, auto_interval, cache_hint, plan
from ingest.storage.store import Store
from ingest.storage.records import hit_row, item_row
from ingest.storage.tables import SourceRow
from ingest.watchlists import compile_watchlists

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class PollResult:
    source: str
    new: int = 0
    duplicates: int = 0
    failed: int = 0  # entries that could not be turned into an item
    flagged: int = 0
    not_modified: bool = False
    error: str | None = None  # the whole source failed (fetch or feed error)
    next_poll: datetime | None = None  # None: do not poll again (gone)

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        if self.error:
            return f"{self.source}: FAILED {self.error}"
        note = " (not modified)" if self.not_modified else ""
        return (
            f"{self.source}: {self.new} new, {self.duplicates} duplicate, "
            f"{self.failed} failed, {self.flagged} flagged{note}"
        )


@dataclass(frozen=True)
class Built:
    """What became of one feed entry before storage."""

    entry: FeedEntry
    article: Article | None
    origin: str  # "page" or "feed"
    final_url: str | None
    error: str | None = None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Pipeline:
    def __init__(self, config: Config, store: Store, fetcher: Fetcher):
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.matcher = compile_watchlists(config.watchlists)
        self.settings = config.settings

    def poll(self, source: Source) -> PollResult:
        result = PollResult(source.name)
        state = self._state(source)
        now = utcnow()
        if state.state == "gone":
            result.error = f"gone (HTTP 410) since {state.last_polled:%Y-%m-%d}; not polled: change its url to retry"
            return result
        blocked = self.store.host_blocked_until(_host(state.url))
        if blocked and blocked > now:
            # The host asked us to wait (Retry-After): not this source's failure.
            result.error = f"host {_host(state.url)} asked to wait until {blocked:%Y-%m-%d %H:%M:%S} UTC"
            state.next_poll = result.next_poll = blocked
            self.store.save_source_state(state)
            return result
        state.last_polled = now
        started = time.monotonic()
        feed = None
        try:
            response = self.fetcher.get(state.url, etag=state.etag, last_modified=state.last_modified)
            if not response.not_modified:
                feed = parse_feed(response.content, response.url, response.content_type,
                                  max_entries=self.settings.max_entries)
        except (FetchError, FeedError) as exc:
            result.error = str(exc)
            log.warning("feed_fetch", source=source.name, url=redact(state.url), status=getattr(exc, "status", None),
                        duration_ms=_ms(started), error=result.error)
            result.next_poll = self._reschedule(state, source, _failure(exc), now)
            return result
        log.info("feed_fetch", source=source.name, url=redact(state.url), status=response.status,
                 duration_ms=response.duration_ms, bytes=len(response.content),
                 entries=len(feed.entries) if feed else 0)
        if feed is None:
            result.not_modified = True
        else:
            self._ingest_entries(source, feed.entries, result)
            state.etag, state.last_modified = response.etag, response.last_modified
            if source.every is None:
                state.interval = auto_interval([e.published for e in feed.entries if e.published])
        hint = cache_hint(dict(response.headers), feed.ttl_minutes if feed else None, now)
        moved = response.url if response.redirects and all(code in (301, 308) for code, _ in response.redirects) else None
        result.next_poll = self._reschedule(state, source, Outcome("ok", hint=hint, moved_to=moved), now)
        log.info("poll_done", source=source.name, new=result.new, duplicates=result.duplicates,
                 failed=result.failed, flagged=result.flagged, duration_ms=_ms(started))
        return result

    def _state(self, source: Source) -> SourceRow:
        state = self.store.source_state(source.name)
        if state is None or state.config_url != source.url:  # new, or the config changed its URL: start over
            state = SourceRow(name=source.name, config_url=source.url, url=source.url)
        return state

    def _reschedule(self, state: SourceRow, source: Source, outcome: Outcome, now: datetime) -> datetime | None:
        """Save validators and the next poll time, after the poll's items are stored."""
        p = plan(state=state.state, failures=state.failures, url=state.url, moved_to=state.moved_to,
                 moved_count=state.moved_count, outcome=outcome, every=source.every or state.interval or AUTO_MAX / 4,
                 now=now)
        if p.url != state.url:
            log.warning("source_moved", source=source.name, old=redact(state.url), new=redact(p.url))
            state.etag = state.last_modified = None
        if outcome.kind in ("ok", "not_modified"):
            state.last_success, state.last_error = now, None
        else:
            state.last_error = outcome.error
        state.state, state.failures, state.next_poll = p.state, p.failures, p.next_poll
        state.url, state.moved_to, state.moved_count = p.url, p.moved_to, p.moved_count
        if p.host_blocked_until:
            self.store.block_host(_host(state.url), p.host_blocked_until)
        self.store.save_source_state(state)
        return state.next_poll

    # -- stages -------------------------------------------------------------

    def _ingest_entries(self, source: Source, entries: tuple[FeedEntry, ...], result: PollResult) -> None:
        tracking = self.settings.tracking_params
        pre_keys = {id(e): entry_keys(source.name, e, tracking) for e in entries}
        known = self.store.known(k for keys in pre_keys.values() for k in keys)
        fresh = []
        for entry in entries:
            if isinstance(decide(pre_keys[id(entry)], known), Duplicate):
                result.duplicates += 1
            else:
                fresh.append(entry)
        if not fresh:
            return
        with ThreadPoolExecutor(max_workers=min(self.settings.threads, len(fresh))) as pool:
            built = list(pool.map(lambda e: self._build(source, e), fresh))
        for b in built:
            self._store(source, b, result)

    def _build(self, source: Source, entry: FeedEntry) -> Built:
        """Fetch and extract the entry's page, falling back to the feed's own content."""
        page_error = None
        if self.settings.pages and entry.url:
            started = time.monotonic()
            try:
                response = self.fetcher.get(entry.url, accept="text/html,application/xhtml+xml")
                ctype = (response.content_type or "").split(";")[0].strip().lower()
                if ctype and ctype not in _HTML_TYPES:
                    raise ValueError(f"page is not HTML ({ctype}): {redact(entry.url)}")
                html = decode_html(response.content, response.headers.get("content-type"))
                article = extract(html, response.url, rules=source.rules)
                log.info("page_fetch", source=source.name, url=redact(entry.url), status=response.status,
                         duration_ms=response.duration_ms, bytes=len(response.content), blocks=len(article.blocks))
                if article.text.strip():
                    return Built(entry, _merge_entry(article, entry), "page", response.url)
                page_error = f"page has no article text: {redact(entry.url)}"
            except (FetchError, ValueError) as exc:
                page_error = str(exc)
            except Exception as exc:  # an extractor bug must cost one page, not the poll
                page_error = f"extraction failed for {redact(entry.url)}: {type(exc).__name__}: {exc}"
            log.warning("page_fetch", source=source.name, url=redact(entry.url), duration_ms=_ms(started),
                        error=page_error)
        html = entry.content or entry.summary or ""
        article = extract(html, entry.url) if html.strip() else Article(url=entry.url)
        article = _merge_entry(article, entry)
        if not article.title and not article.text:
            return Built(entry, None, "feed", None, error=page_error or "entry has neither title nor content")
        return Built(entry, article, "feed", None, error=page_error)

    def _store(self, source: Source, b: Built, result: PollResult) -> None:
        if b.article is None:
            result.failed += 1
            log.warning("item_failed", source=source.name, url=redact(b.entry.url or ""), error=b.error)
            return
        fps = fingerprints(b.article, source=source.name, guid=b.entry.guid, entry_url=b.entry.url,
                           final_url=b.final_url, extra_tracking_params=self.settings.tracking_params)
        keys = item_keys(fps)
        decision = decide(keys, self.store.known(keys))
        if isinstance(decision, Duplicate):
            result.duplicates += 1
            log.info("item_duplicate", source=source.name, url=redact(b.entry.url or ""),
                     of=decision.item_id, by=decision.by)
            return
        hits = self.matcher.match(b.article)
        row = item_row(b.article, source=source.name, guid=b.entry.guid, url=b.entry.url or b.final_url or "",
                       final_url=b.final_url, origin=b.origin, fetched_at=utcnow())
        item_id = self.store.add(row, keys, [hit_row(h) for h in hits])
        if item_id is None:  # another entry of this poll (or another worker) stored it first
            result.duplicates += 1
            return
        result.new += 1
        result.flagged += bool(hits)
        log.info("item_stored", source=source.name, id=item_id, url=redact(b.entry.url or ""), origin=b.origin,
                 watchlists=sorted({h.watchlist for h in hits}))


def _merge_entry(article: Article, entry: FeedEntry) -> Article:
    """Fill what the page did not say from the feed entry, recording that the feed said it."""
    sources = dict(article.sources)
    changes: dict = {}
    for name, value in (("title", entry.title), ("published", entry.published), ("updated", entry.updated),
                        ("authors", list(entry.authors))):
        if value and not getattr(article, name):
            changes[name] = value
            sources[name] = "feed"
    if not article.url:
        changes["url"] = entry.url
    return replace(article, **changes, sources=sources) if changes else article


def _failure(exc: FetchError | FeedError) -> Outcome:
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


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def poll_all(config: Config, store: Store, fetcher: Fetcher, sources: list[Source] | None = None,
             progress=None) -> list[PollResult]:
    """Poll sources one after another (each poll fetches its pages concurrently)."""
    pipeline = Pipeline(config, store, fetcher)
    results = []
    for source in sources if sources is not None else list(config.sources):
        results.append(pipeline.poll(source))
        if progress:
            progress(source)
    return results

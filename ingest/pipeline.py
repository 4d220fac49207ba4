"""One poll of one source, through every stage: fetch → parse feed → extract → fingerprint → store → flag.

This is the only module that wires the stages together; each stage lives in its
own module and knows nothing of the others.  A poll never raises for a bad source
or a failing database (locked, full): problems become a `PollResult.error` and a
log event, so one source cannot stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy.exc import OperationalError

from ingest.article import Article
from ingest.build import Built, Context, Page, build, fill
from ingest.config import Config, Source
from ingest.decide import Candidate, Duplicate, Revision, claimed_only, decide, entry_hash, entry_keys, item_keys
from ingest.feeds import Feed, FeedEntry, FeedError
from ingest.fetch import FetchError, Fetcher, Response, redact
from ingest.fingerprint import Signature, fingerprints, normalize_url
from ingest.logs import log
from ingest.robots import Robots
from ingest.sources import SitemapIndex, read_source
from ingest.sources.websub import Subscriber
from ingest.workers import ExtractPool
from ingest.schedule import AUTO_MAX, Outcome, auto_interval, cache_hint, plan
from ingest.storage.records import article_of, hit_row, item_row, page_body, page_row
from ingest.storage.store import Conflict, Store, Writer
from ingest.storage.tables import SourceState

_HTML_TYPES = ("text/html", "application/xhtml+xml")
PARSE_SECONDS = 30.0  # a feed that takes longer to parse is treated as invalid


@dataclass
class PollResult:
    source: str
    new: int = 0
    duplicates: int = 0
    failed: int = 0  # entries that could not be turned into an item
    updated: int = 0  # stored items whose content changed (revisions)
    flagged: int = 0
    not_modified: bool = False
    error: str | None = None  # the whole source failed (fetch or feed error)
    next_poll: datetime | None = None  # None: do not poll again (gone)
    state: str | None = None  # the source's schedule state after the poll: ok, backoff, gone
    failure: str | None = None  # why the source failed: a FetchError kind, "feed", "gone" or "host_blocked"
    fetch_seconds: float | None = None  # the feed request, when one was made (for metrics)
    entry_error: str | None = None  # why the first failed entry failed (the source's error state)

    def entry_failed(self, error: str) -> None:
        self.failed += 1
        self.entry_error = self.entry_error or error

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        if self.error:
            return f"{self.source}: FAILED {self.error}"
        note = (f", {self.updated} updated" if self.updated else "") + (" (not modified)" if self.not_modified else "")
        return (
            f"{self.source}: {self.new} new, {self.duplicates} duplicate, "
            f"{self.failed} failed, {self.flagged} flagged{note}"
        )


@dataclass
class Health:
    """Extraction health of one poll; added to the source's running counts."""

    extracted: int = 0
    empty_bodies: int = 0
    missing_dates: int = 0
    missing_titles: int = 0
    feed_fallbacks: int = 0

    def count(self, b: Built) -> None:
        self.extracted += 1
        self.empty_bodies += b.empty_page
        self.feed_fallbacks += b.origin == "feed" and b.error is not None
        if b.article is not None:
            self.missing_dates += b.article.published is None
            self.missing_titles += not b.article.title

    def add_to(self, state: SourceState) -> None:
        for name in ("extracted", "empty_bodies", "missing_dates", "missing_titles", "feed_fallbacks"):
            setattr(state, name, getattr(state, name) + getattr(self, name))


@dataclass(frozen=True)
class Stored:
    """What storing one built entry did; counted and logged once its transaction has committed."""

    outcome: str  # new, revised, duplicate or failed
    built: Built
    item_id: int | None
    by: str | None = None  # the fingerprint kind that identified a duplicate or revision
    revision: int | None = None
    story: int | None = None
    watchlists: list[str] = field(default_factory=list)

    def count_and_log(self, source: str, result: PollResult) -> None:
        b = self.built
        url = redact(b.entry.url or b.final_url or "")
        if self.outcome == "failed":
            result.entry_failed(f"{url or b.entry.guid or 'an entry'}: {b.error}")
            log.warning("item_failed", source=source, url=url, guid=b.entry.guid, error=b.error)
        elif self.outcome == "duplicate":
            result.duplicates += 1
            log.info("item_duplicate", source=source, url=url, of=self.item_id, by=self.by)
        elif self.outcome == "revised":
            result.updated += 1
            log.info("item_revised", source=source, id=self.item_id, revision=self.revision, by=self.by, url=url,
                     watchlists=self.watchlists)
        else:
            result.new += 1
            result.flagged += bool(self.watchlists)
            log.info("item_stored", source=source, id=self.item_id, url=url, origin=b.origin, story=self.story,
                     watchlists=self.watchlists)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Pipeline:
    def __init__(self, config: Config, store: Store, fetcher: Fetcher, extractor: ExtractPool | None = None):
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.extractor = extractor or ExtractPool(processes=0, watchlists=config.watchlists)
        self._blocked: dict[str, datetime] = {}
        self._blocked_read_at = datetime.min.replace(tzinfo=timezone.utc)
        self.robots = Robots(fetcher, config.settings.fetch.user_agent) if config.settings.robots else None
        # Watchlists with a webhook: their hits go to the outbox (an Atom file reads the hits themselves).
        self.alerting: set[str] = {name for name, out in config.outputs.items() if out.webhook}
        self.settings = config.settings
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
        state = self._state(source)
        now = utcnow()
        if state.state == "gone":
            result.error = f"gone (HTTP 410) since {state.last_polled:%Y-%m-%d}; not polled: change its url to retry"
            result.failure, result.state = "gone", "gone"
            return result
        blocked = self._host_blocked_until(_host(state.url), now)
        if blocked and blocked > now:
            # The host asked us to wait (Retry-After): not this source's failure.
            result.error = f"host {_host(state.url)} asked to wait until {blocked:%Y-%m-%d %H:%M:%S} UTC"
            result.failure, result.state = "host_blocked", state.state
            state.next_poll = result.next_poll = blocked
            self.store.save_source_state(state)
            return result
        state.last_polled = now
        started = time.monotonic()
        feed = None
        try:
            response = self.fetcher.get(state.url, etag=state.etag, last_modified=state.last_modified)
            if not response.not_modified:
                feed = self._read(source, response)
        except (FetchError, FeedError) as exc:
            if _cancelled(exc):
                return _stopped(result)
            result.error, result.failure = str(exc), getattr(exc, "kind", "feed")
            result.fetch_seconds = _ms(started) / 1000
            log.warning("feed_fetch", source=source.name, url=redact(state.url), status=getattr(exc, "status", None),
                        duration_ms=_ms(started), error=result.error)
            result.next_poll = self._reschedule(state, source, _failure(exc), now)
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
                self._ingest_entries(source, feed.entries, result, health)
            except FetchError as exc:
                if not _cancelled(exc):
                    raise
                # What was stored stays stored; validators are not saved, so the next run sees every entry.
                return _stopped(result)
            _check_health(source, state, health)
            health.add_to(state)
            # A failed entry is retried at the next poll: no validators, so an unchanged feed is not a 304.
            state.etag, state.last_modified = (None, None) if result.failed else (response.etag, response.last_modified)
            if source.every is None:
                state.interval = auto_interval([t for e in feed.entries if (t := e.published or e.updated)])
        hint = cache_hint(dict(response.headers), feed.ttl_minutes if feed else None, now)
        moved = response.url if response.redirects and all(code in (301, 308) for code, _ in response.redirects) else None
        error = f"{result.failed} entries failed, first {result.entry_error}" if result.failed else None
        result.next_poll = self._reschedule(state, source, Outcome("ok", error=error, hint=hint, moved_to=moved), now,
                                            planned)
        result.state = state.state
        if self.websub is not None:  # subscribe or renew; while pushed, a long safety-net interval
            result.next_poll = self._websub(source, state, feed, now)
        if feed is not None:  # a 304 is fully told by its feed_fetch event
            log.info("poll_done", source=source.name, new=result.new, updated=result.updated,
                     duplicates=result.duplicates, failed=result.failed, flagged=result.flagged,
                     duration_ms=_ms(started))
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
            self._ingest_entries(source, feed.entries, result, Health())
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
        future = self.extractor.parse_feed(response.content, response.url, response.content_type,
                                           self.settings.max_entries, source)
        try:
            return future.result(timeout=PARSE_SECONDS)
        except TimeoutError:
            future.cancel()
            raise FeedError(f"{redact(response.url)}: parsing took longer than {PARSE_SECONDS:.0f} s") from None
        except BrokenProcessPool:
            raise FeedError(f"{redact(response.url)}: the parser's process died (out of memory?)") from None

    def _host_blocked_until(self, host: str, now: datetime) -> datetime | None:
        """Retry-After blocks, read from the database once a minute (other workers may add some), else from memory."""
        if now >= self._blocked_read_at + timedelta(seconds=60):
            self._blocked, self._blocked_read_at = self.store.blocked_hosts(), now
        return self._blocked.get(host)

    def _state(self, source: Source) -> SourceState:
        state = self.store.source_state(source.name)
        if state is None or state.config_url != source.url:  # new, or the config changed its URL: start over
            state = SourceState(name=source.name, config_url=source.url, url=source.url)
        return state

    def _reschedule(self, state: SourceState, source: Source, outcome: Outcome, now: datetime,
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
            self.store.block_host(_host(state.url), p.host_blocked_until)
            self._blocked[_host(state.url)] = p.host_blocked_until
        self.store.save_source_state(state)
        return state.next_poll

    # -- stages -------------------------------------------------------------

    def _ingest_entries(self, source: Source, entries: tuple[FeedEntry, ...], result: PollResult,
                        health: Health) -> None:
        """Skip entries already stored and unchanged; fetch, extract and store the rest."""
        tracking = self.settings.tracking_params
        pre_keys = {id(e): entry_keys(source.name, e, tracking) for e in entries}
        known = self.store.known(k for keys in pre_keys.values() for k in keys)
        facts = self.store.item_facts(known.values())
        fresh, sightings, now = [], [], utcnow()
        rotated = reused = 0
        for entry in entries:
            decision = decide(pre_keys[id(entry)], known, source=source.name, owners=facts)
            if not isinstance(decision, Duplicate):
                fresh.append(entry)
                continue
            fact = facts.get(decision.item_id) if decision.item_id is not None else None
            if fact and fact.source != source.name and claimed_only((decision.by, decision.value), fact, tracking):
                fresh.append(entry)  # another source's copy named this link canonical: the article itself is new
                continue
            url_key = next((k for k in pre_keys[id(entry)] if k[0] == "url"), None)
            if decision.by == "guid" and url_key is not None and url_key not in known:
                # A known GUID on an unknown link: the feed reuses GUIDs, so this one identifies nothing.
                reused += 1
                fresh.append(replace(entry, guid=None))
                continue
            rotated += bool(decision.by == "url" and entry.guid and fact and fact.source == source.name)
            if fact and fact.entry_hash != entry_hash(entry) and fact.source == source.name:
                fresh.append(entry)  # the feed changed its entry: fetch again, it may be a revision
                continue
            result.duplicates += 1
            if fact and fact.source != source.name:  # the same article through another feed
                sightings.append({"item_id": decision.item_id, "source": source.name, "url": entry.url or "",
                                  "by": decision.by, "seen_at": now})
        if sightings:
            self.store.add_sightings(sightings)
        if rotated or reused:
            log.warning("guid_unreliable", source=source.name, rotated=rotated, reused=reused,
                        hint="entries are identified by URL and content instead")
        if not fresh:
            return
        ctx = self._context(source)
        if self.settings.pages:
            with ThreadPoolExecutor(max_workers=min(self.settings.threads, len(fresh))) as pool:
                built = list(pool.map(lambda e: self._build(ctx, e), fresh))
        else:  # nothing to fetch: every entry to the workers at once, a chunk per process, then collect
            futures = self.extractor.build_many(fresh, ctx)
            built = [self._built(ctx, e, f) for e, f in zip(fresh, futures)]
        for b in built:
            health.count(b)
        size = self.settings.store_batch
        for start in range(0, len(built), size):
            self._store_batch(source, built[start:start + size], result)

    def _context(self, source: Source) -> Context:
        return Context(source.name, source.rules, tuple(self.settings.tracking_params), self.settings.fetch.max_bytes)

    def _build(self, ctx: Context, entry: FeedEntry) -> Built:
        """Whatever goes wrong with one entry fails that entry alone; shutting down still stops the poll."""
        try:
            return self._fetch_and_build(ctx, entry)
        except Exception as exc:
            if _cancelled(exc):
                raise
            return Built(entry, None, "feed", None, error=_error(exc))

    def _fetch_and_build(self, ctx: Context, entry: FeedEntry) -> Built:
        """Fetch the entry's page here (I/O); extracting, fingerprinting and matching run in a worker."""
        if not (self.settings.pages and entry.url):
            return self._built(ctx, entry, self.extractor.build(entry, ctx))
        started, response = time.monotonic(), None
        try:
            if self.robots and not self.robots.allowed(entry.url):
                raise ValueError(f"robots.txt disallows {redact(entry.url)}")
            response = self.fetcher.get(entry.url, accept="text/html,application/xhtml+xml", decode=False)
            ctype = (response.content_type or "").split(";")[0].strip().lower()
            if ctype and ctype not in _HTML_TYPES:
                raise ValueError(f"page is not HTML ({ctype}): {redact(entry.url)}")
        except (FetchError, ValueError) as exc:
            if _cancelled(exc):
                raise  # shutting down: storing the feed's text instead would be a worse record for good
            future = self.extractor.build(entry, ctx, page_error=str(exc))
        else:
            page = Page(response.url, response.content_type, response.content, response.content_encoding)
            future = self.extractor.build(entry, ctx, page)
        b = self._built(ctx, entry, future)
        if b.origin == "page":
            log.info("page_fetch", source=ctx.source, url=redact(entry.url), status=response.status,
                     duration_ms=response.duration_ms, bytes=len(response.content), blocks=len(b.article.blocks))
        else:
            log.warning("page_fetch", source=ctx.source, url=redact(entry.url), duration_ms=_ms(started),
                        status=response.status if response else None, error=b.error)
        return b

    def _built(self, ctx: Context, entry: FeedEntry, future: Future[Built]) -> Built:
        try:
            return future.result()
        except Exception as exc:  # the worker died (killed, out of memory): the feed's own content, built here
            error = f"extraction failed for {redact(entry.url or '')}: {_error(exc)}"
            try:
                return build(entry, ctx, self.extractor.matcher, page_error=error)
            except Exception as again:  # the entry itself breaks a stage: this entry fails, not the poll
                return Built(entry, None, "feed", None, error=f"{error}; then {_error(again)}")

    def _store_batch(self, source: Source, batch: list[Built], result: PollResult) -> None:
        """Store a batch in one transaction; if another worker raced us to one of its items, or the database
        refused one, one at a time, so that only that entry fails."""
        try:
            with self.store.writing() as w:
                stored = [self._store(w, source, b) for b in batch]
        except Exception as exc:
            if _database_wide(exc):
                raise
            stored = [self._store_alone(source, b) for b in batch]
        for s in stored:
            s.count_and_log(source.name, result)

    def _store_alone(self, source: Source, b: Built) -> Stored:
        try:
            with self.store.writing() as w:
                return self._store(w, source, b)
        except Conflict:  # stored by someone else since we looked
            return Stored("duplicate", b, None)
        except Exception as exc:
            if _database_wide(exc):
                raise
            return Stored("failed", replace(b, error=f"storing failed: {_error(exc)}"), None)

    def _store(self, w: Writer, source: Source, b: Built) -> Stored:
        url = b.entry.url or b.final_url or ""
        if b.article is None:
            return Stored("failed", b, None)
        fps = b.fingerprints
        keys = item_keys(fps)
        known = w.known(keys)
        owners = w.item_facts(known.values())
        candidates = [Candidate(i, story, _signature(sig)) for i, story, sig in w.candidates(fps.bands)]
        decision = decide(keys, known, source=source.name, owners=owners, signature=fps.signature,
                          candidates=candidates)
        if isinstance(decision, Duplicate):
            if decision.item_id is not None:
                if decision.by in ("guid", "url"):  # the same entry, changed in the feed (no-op if not this source's)
                    w.seen_entry(decision.item_id, source.name, entry_hash(b.entry))
                w.add_sightings([{"item_id": decision.item_id, "source": source.name, "url": url,
                                  "by": decision.by, "seen_at": utcnow()}])
            return Stored("duplicate", b, decision.item_id, by=decision.by)
        row = item_row(b.article, source=source.name, guid=b.entry.guid, url=url, final_url=b.final_url,
                       origin=b.origin, fetched_at=utcnow())
        row.entry_hash = entry_hash(b.entry)
        row.signature = fps.signature.to_str() if fps.signature else None
        watchlists = sorted({h.watchlist for h in b.hits})
        alerts = [w for w in watchlists if w in self.alerting]
        hits = [hit_row(h) for h in b.hits]
        page = page_row(b.page) if b.page else None
        if isinstance(decision, Revision):
            number = w.update(decision.item_id, row, keys, hits, bands=fps.bands, alerts=alerts, page=page)
            return Stored("revised", b, decision.item_id, by=decision.by, revision=number, watchlists=watchlists)
        row.story_id = decision.story_id
        if decision.matched_item is not None:
            row.meta["story"] = {"matched_item": decision.matched_item, "similarity": decision.similarity}
        item_id = w.add(row, [k for k in keys if k not in known], hits, bands=fps.bands, alerts=alerts, page=page)
        # Its own links, held by another source's copy that named them canonical, identify this item from now on.
        tracking = self.settings.tracking_params
        links = {normalize_url(u, extra_tracking_params=tracking) for u in (b.entry.url, b.final_url) if u}
        w.move_fingerprints([k for k in keys if k in known and k[1] in links
                             and claimed_only(k, owners[known[k]], tracking)], item_id)
        return Stored("new", b, item_id, story=row.story_id, watchlists=watchlists)

    # -- maintenance ----------------------------------------------------------

    def reextract(self, source: Source | None = None,
                  progress: Callable[[int], None] = lambda n: None) -> tuple[int, int]:
        """Rebuild records from their stored pages (after an extractor change; `progress(1)` after each);
        returns (rebuilt, changed)."""
        rules = {s.name: s.rules for s in self.config.sources}
        rebuilt = changed = 0
        for item, page in self.store.pages(source.name if source else None):
            article = self.extractor.submit(page_body(page), page.content_type, page.url,
                                            rules.get(item.source)).result()
            article = _fill_missing(article, article_of(item))
            fps = fingerprints(article, source=item.source, guid=item.guid, entry_url=item.url, final_url=page.url,
                               extra_tracking_params=self.settings.tracking_params)
            new = item_row(article, source=item.source, guid=item.guid, url=item.url, final_url=page.url,
                           origin=item.origin, fetched_at=item.fetched_at)
            new.entry_hash, new.signature = item.entry_hash, fps.signature.to_str() if fps.signature else None
            hits = self.extractor.matcher.match(article)
            self.store.update(item.id, new, item_keys(fps), [hit_row(h) for h in hits], bands=fps.bands,
                              revision=False)
            rebuilt += 1
            changed += new.blocks != item.blocks or new.title != item.title
            progress(1)
        return rebuilt, changed

    def preview(self, source: Source, limit: int = 3) -> list[Built]:
        """Fetch a few current entries and extract them, storing nothing (`ingest check-source`)."""
        feed = self._read(source, self.fetcher.get(source.url))
        ctx = self._context(source)
        return [self._build(ctx, e) for e in feed.entries[:limit]]


# The items of a story come up as candidates again for each new member: decode each stored signature once.
_signature = lru_cache(maxsize=1024)(Signature.from_str)  # ~6 KB each


def _check_health(source: Source, state: SourceState, health: Health) -> None:
    """Warn when a source's pages suddenly stop yielding text: usually its template changed."""
    if health.extracted < 3:
        return
    rate = health.empty_bodies / health.extracted
    usual = state.empty_bodies / state.extracted if state.extracted else 0.0
    if rate >= 0.5 and rate > 2 * usual:
        log.warning("extraction_degraded", source=source.name, empty_rate=round(rate, 2), usual_rate=round(usual, 2),
                    hint="template changed? check with `ingest check-source`")


def _fill_missing(article: Article, previous: Article) -> Article:
    """On re-extraction, keep what the old record knew (often from the feed) and the page does not say."""
    names = ("title", "published", "updated", "authors")
    return fill(article, {n: getattr(previous, n) for n in names},
                 {n: previous.sources.get(n, "stored") for n in names})


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


def _database_wide(exc: Exception) -> bool:
    """A fault of the database (locked, full, gone), not of one entry: every later entry would fail alike."""
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return not (sqlstate or "").startswith("54")  # PostgreSQL class 54: a value over a limit, the entry's own


def _cancelled(exc: Exception) -> bool:
    return isinstance(exc, FetchError) and exc.kind == "cancelled"


def _stopped(result: PollResult) -> PollResult:
    result.error, result.failure = "stopped: the daemon is shutting down", "cancelled"
    log.info("poll_stopped", source=result.source, new=result.new)
    return result


def _error(exc: BaseException) -> str:
    """One line: a database error's text goes on with the statement and its parameters (whole pages)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first[:300]}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

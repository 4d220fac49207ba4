"""A poll's feed entries up to storage: which need their page (the pre-fetch rules of `decide.before_fetch`),
the pages themselves (robots.txt, HTML only), and their drafts, built in the worker processes.

A failure of one entry (its page, its extraction, a dying worker) fails that entry alone; shutting down
(a cancelled fetch) stops the poll.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from ingest.article import Page
from ingest.clock import elapsed_ms
from ingest.config import Settings, Source
from ingest.feeds import FeedEntry
from ingest.fetch import Fetcher, FetchError
from ingest.http import redact
from ingest.logs import log
from ingest.poll.decide import Fetch, before_fetch, entry_keys
from ingest.poll.draft import Context, Draft, draft
from ingest.poll.faults import cancelled, one_line
from ingest.poll.workers import WorkerPool
from ingest.robots import Robots
from ingest.storage.store import Store

HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class Screened:
    """The entries of one feed before any page is fetched."""

    fetch: list[FeedEntry] = field(default_factory=list)
    duplicates: int = 0  # known and unchanged: no request
    sightings: list[dict] = field(default_factory=list)  # known as another source's items
    rotated: int = 0  # GUIDs the feed changed for a known link
    reused: int = 0  # GUIDs the feed gave to another link


def screen(entries: Sequence[FeedEntry], store: Store, source: str, tracking_params: Sequence[str],
           now: datetime) -> Screened:
    """Ask storage once what it knows of every entry's keys, apply `before_fetch` to each, and record the
    sightings of other sources' items."""
    keys = [entry_keys(source, e, tracking_params) for e in entries]
    known = store.known(k for ks in keys for k in ks)
    owners = store.item_facts(known.values())
    sighted = store.sighted(source, [e.url for e in entries if e.url])
    out = Screened()
    for entry, entry_keys_ in zip(entries, keys):
        intent = before_fetch(entry, entry_keys_, known, source=source, owners=owners,
                              tracking_params=tracking_params, sighted=entry.url in sighted)
        out.rotated += intent.guid_rotated
        if isinstance(intent, Fetch):
            out.fetch.append(intent.entry)
            out.reused += intent.why == "guid_reused"
            continue
        out.duplicates += 1
        if intent.sighting:
            out.sightings.append({"item_id": intent.item_id, "source": source, "url": entry.url or "",
                                  "by": intent.by, "seen_at": now})
    if out.sightings:
        store.add_sightings(out.sightings)
    if out.rotated or out.reused:
        log.warning("guid_unreliable", source=source, rotated=out.rotated, reused=out.reused,
                    hint="entries are identified by URL and content instead")
    return out


class Drafter:
    """Fetches entries' pages here (I/O, on threads) and has the workers draft them (CPU, in processes)."""

    def __init__(self, settings: Settings, fetcher: Fetcher, workers: WorkerPool):
        self.settings = settings
        self.fetcher = fetcher
        self.workers = workers
        self.robots = Robots(fetcher, settings.fetch.user_agent) if settings.robots else None

    def context(self, source: Source) -> Context:
        return Context(source.name, source.rules, tuple(self.settings.tracking_params), self.settings.fetch.max_bytes)

    def draft_all(self, ctx: Context, entries: Sequence[FeedEntry]) -> list[Draft]:
        """Every entry's draft, in feed order."""
        if self.settings.pages:
            with ThreadPoolExecutor(max_workers=min(self.settings.threads, len(entries))) as pool:
                return list(pool.map(lambda e: self.draft_one(ctx, e), entries))
        # Nothing to fetch: every entry to the workers at once, a chunk per process, then collect.
        futures = self.workers.draft_many(entries, ctx)
        return [self.collect(ctx, e, f) for e, f in zip(entries, futures)]

    def draft_one(self, ctx: Context, entry: FeedEntry) -> Draft:
        """Whatever goes wrong with one entry fails that entry alone; shutting down still stops the poll."""
        try:
            return self._fetch_and_draft(ctx, entry)
        except Exception as exc:
            if cancelled(exc):
                raise
            return Draft(entry, None, "feed", None, error=one_line(exc))

    def _fetch_and_draft(self, ctx: Context, entry: FeedEntry) -> Draft:
        """Fetch the entry's page here (I/O); extracting, fingerprinting and matching run in a worker."""
        if not (self.settings.pages and entry.url):
            return self.collect(ctx, entry, self.workers.draft(entry, ctx))
        started, response = time.monotonic(), None
        try:
            if self.robots and not self.robots.allowed(entry.url):
                raise ValueError(f"robots.txt disallows {redact(entry.url)}")
            response = self.fetcher.get(entry.url, accept="text/html,application/xhtml+xml", decode=False)
            ctype = (response.content_type or "").split(";")[0].strip().lower()
            if ctype and ctype not in HTML_TYPES:
                raise ValueError(f"page is not HTML ({ctype}): {redact(entry.url)}")
        except (FetchError, ValueError) as exc:
            if cancelled(exc):
                raise  # shutting down: storing the feed's text instead would be a worse record for good
            future = self.workers.draft(entry, ctx, page_error=str(exc))
        else:
            page = Page(response.url, response.content_type, response.content, response.content_encoding)
            future = self.workers.draft(entry, ctx, page)
        d = self.collect(ctx, entry, future)
        if d.origin == "page":
            log.info("page_fetch", source=ctx.source, url=redact(entry.url), status=response.status,
                     duration_ms=response.duration_ms, bytes=len(response.content), blocks=len(d.article.blocks))
        else:
            log.warning("page_fetch", source=ctx.source, url=redact(entry.url), duration_ms=elapsed_ms(started),
                        status=response.status if response else None, error=d.error)
        return d

    def collect(self, ctx: Context, entry: FeedEntry, future: Future[Draft]) -> Draft:
        """The worker's draft; if the worker died (killed, out of memory), the feed's own content, drafted here."""
        try:
            return future.result()
        except Exception as exc:
            error = f"extraction failed for {redact(entry.url or '')}: {one_line(exc)}"
            try:
                return draft(entry, ctx, self.workers.matcher, page_error=error)
            except Exception as again:  # the entry itself breaks a stage: this entry fails, not the poll
                return Draft(entry, None, "feed", None, error=f"{error}; then {one_line(again)}")

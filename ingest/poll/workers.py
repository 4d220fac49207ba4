"""Article extraction (and the rest of `ingest.poll.draft`) in worker processes, so that it is not serialized by the GIL.

Fetching pages is I/O and is fine in threads; `decode_html` + `extract` are pure Python/lxml work
that holds the GIL for most of their time, so with N page threads only about one core extracts.
`WorkerPool` runs that work in a `ProcessPoolExecutor` sized to the cores; with `processes`
0 or 1 it runs in the calling thread, which is what a one-core machine or a test wants.

    with WorkerPool(processes=None, watchlists=config.watchlists) as pool:   # None: one process per core
        drafted = pool.draft(entry, Context(source), Page(url, content_type, body)).result()
        futures = pool.draft_many(entries, Context(source))   # feed-only: one task per process, a future per entry
        article = pool.extract(body, content_type, url, rules).result()        # extraction alone

The worker function is a module-level function of picklable arguments (bytes, str, frozen
`SiteRules`, `FeedEntry`) and returns a picklable `Article` or `Draft`; each worker compiles the
watchlists once, when it starts, rather than receiving the matcher with every entry. A worker that dies (segfault, OOM kill) fails
the futures in flight with `BrokenProcessPool` and the pool is rebuilt on the next submit.
Workers are spawned (not forked: the parent runs threads whose locks fork would copy), so the
program's `__main__` must guard its entry point with `if __name__ == "__main__":`; each worker
exits by itself if its parent dies, so a killed `ingest` leaves no orphans behind.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cached_property
from typing import Any, TypeVar

from ingest.article import Article, Page
from ingest.config import Settings, Source
from ingest.extract import SiteRules, decode_html, extract
from ingest.feeds import Feed, FeedEntry, parse_feed
from ingest.poll.draft import Context, Draft, draft
from ingest.sources import SitemapIndex, parse_document
from ingest.watchlists import Matcher, Watchlist, compile_watchlists

T = TypeVar("T")

ORPHAN_CHECK_SECONDS = 2.0


def extract_page(content: bytes, content_type: str | None, url: str, rules: SiteRules | None = None) -> Article:
    """Decode and extract one page: what a worker runs (also the in-thread path)."""
    return extract(decode_html(content, content_type), url, rules=rules)


_matcher: Matcher | None = None  # a worker's compiled watchlists


def _draft_in_worker(entry: FeedEntry, ctx: Context, page: Page | None, page_error: str | None) -> Draft:
    assert _matcher is not None, "worker started without _start_worker"
    return draft(entry, ctx, _matcher, page, page_error)


def _draft_many_in_worker(entries: Sequence[FeedEntry], ctx: Context) -> list[Draft]:
    assert _matcher is not None, "worker started without _start_worker"
    return [draft(entry, ctx, _matcher) for entry in entries]


def _start_worker(parent: int, watchlists: Sequence[Watchlist]) -> None:
    """Worker initializer: compile the watchlists; leave when the parent is gone (else workers wait for ever)."""
    global _matcher
    _matcher = compile_watchlists(watchlists)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="ingest-orphan-watch", daemon=True).start()


def default_processes() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class WorkerPool:
    """`submit(...) -> Future[Article]`; thread-safe, so the page-fetching threads share one pool."""

    def __init__(self, processes: int | None = None, watchlists: Sequence[Watchlist] = (),
                 tasks_per_worker: int = Settings.worker_tasks):
        """Workers are replaced after `tasks_per_worker` tasks each (`[fetch] worker_tasks`), so a slow leak in a
        parser cannot grow for ever.  The pool is swapped whole (the old one finishes its tasks and exits) rather
        than with ProcessPoolExecutor's max_tasks_per_child, which can hang on Python 3.11 when a worker exits
        while tasks are queued (CPython gh-115634).  Spawning workers costs ~0.5 s of CPU: keep it high."""
        self.processes = default_processes() if processes is None else max(0, processes)
        self.watchlists = tuple(watchlists)
        self._tasks_per_pool = tasks_per_worker * max(1, self.processes)
        self._tasks = 0  # submitted to the current executor
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    @property
    def in_thread(self) -> bool:
        return self.processes <= 1

    @cached_property
    def matcher(self) -> Matcher:
        """The watchlists compiled in this process: for the in-thread mode and for callers that match themselves."""
        return compile_watchlists(self.watchlists)

    def draft(self, entry: FeedEntry, ctx: Context, page: Page | None = None,
              page_error: str | None = None) -> Future[Draft]:
        if self.in_thread:
            return _run_here(draft, entry, ctx, self.matcher, page, page_error)
        return self._submit(_draft_in_worker, entry, ctx, page, page_error)

    def draft_many(self, entries: Sequence[FeedEntry], ctx: Context) -> list[Future[Draft]]:
        """Entries without pages (feed-only mode), one future each, in order, but one task per worker process.

        An entry built from its feed's HTML costs about a millisecond, so a task per entry spends a good
        share of that on the round trip to the worker; a chunk per process pays it once.  If the chunk's
        worker dies, every future of the chunk fails with its error, as `draft`'s future would.
        """
        if self.in_thread:
            return [self.draft(entry, ctx) for entry in entries]
        futures: list[Future[Draft]] = []
        size = max(1, -(-len(entries) // self.processes))  # ceiling: one chunk per process
        for start in range(0, len(entries), size):
            chunk = entries[start:start + size]
            futures += _one_per_item(self._submit(_draft_many_in_worker, chunk, ctx, tasks=len(chunk)), len(chunk))
        return futures

    def extract(self, content: bytes, content_type: str | None, url: str,
                rules: SiteRules | None = None) -> Future[Article]:
        return self._submit(extract_page, content, content_type, url, rules)

    def parse_feed(self, body: bytes, url: str, content_type: str | None, max_entries: int,
                   source: Source | None = None) -> Future[Feed | SitemapIndex]:
        """Feed parsing in a worker too: a hostile document can cost a worker time or memory, never the daemon.
        `source`: a sitemap or list page source's document is read by its type (`ingest.sources`)."""
        if source is not None and source.type != "feed":
            return self._submit(parse_document, body, url, content_type, max_entries, source.type, source.select)
        return self._submit(parse_feed, body, url, content_type, max_entries=max_entries)

    def _submit(self, fn: Callable[..., T], *args: Any, tasks: int = 1, **kwargs: Any) -> Future[T]:
        """`tasks`: what the call counts for towards the workers' replacement (a chunk counts its entries)."""
        if self.in_thread:
            return _run_here(fn, *args, **kwargs)
        try:
            return self._pool(tasks).submit(fn, *args, **kwargs)
        except BrokenProcessPool:  # a worker died since the last call: start afresh once
            self._discard()
            return self._pool(tasks).submit(fn, *args, **kwargs)

    def _pool(self, tasks: int) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is not None and self._tasks >= self._tasks_per_pool:
                self._executor.shutdown(wait=False)  # finishes what it was given, then its workers exit
                self._executor = None
            if self._executor is None:
                # spawn, not fork: the parent runs threads (httpx, scheduler) and fork would copy their locks.
                self._executor = ProcessPoolExecutor(max_workers=self.processes,
                                                     mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_start_worker,
                                                     initargs=(os.getpid(), self.watchlists))
                self._tasks = 0
            self._tasks += tasks
            return self._executor

    def _discard(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one_per_item(future: Future[list[T]], count: int) -> list[Future[T]]:
    """A future of `count` results as `count` futures, each failing with the whole's error."""
    parts: list[Future[T]] = [Future() for _ in range(count)]

    def done(whole: Future[list[T]]) -> None:
        error = CancelledError() if whole.cancelled() else whole.exception()
        if error is not None:
            for part in parts:
                part.set_exception(error)
            return
        for part, result in zip(parts, whole.result()):
            part.set_result(result)

    future.add_done_callback(done)
    return parts


def _run_here(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """A finished future, so callers treat both modes alike (`.result()` re-raises the function's error)."""
    future: Future[T] = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except Exception as exc:
        future.set_exception(exc)
    return future

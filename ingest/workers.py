"""Article extraction in worker processes, so that parsing HTML is not serialized by the GIL.

Fetching pages is I/O and is fine in threads; `decode_html` + `extract` are pure Python/lxml work
that holds the GIL for most of their time, so with N page threads only about one core extracts.
`ExtractPool` runs that work in a `ProcessPoolExecutor` sized to the cores; with `processes`
0 or 1 it runs in the calling thread, which is what a one-core machine or a test wants.

    with ExtractPool(processes=None) as pool:          # None: one process per core
        article = pool.submit(body, content_type, url, rules).result()

The worker function is a module-level function of picklable arguments (bytes, str, frozen
`SiteRules`) and returns a picklable `Article`; a worker that dies (segfault, OOM kill) fails
the futures in flight with `BrokenProcessPool` and the pool is rebuilt on the next submit.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingest.article import Article
from ingest.extract import SiteRules, decode_html, extract

MAX_TASKS_PER_CHILD = 1000  # recycle workers now and then, so a slow leak in a parser cannot grow for ever


def extract_page(content: bytes, content_type: str | None, url: str, rules: SiteRules | None = None) -> Article:
    """Decode and extract one page: what a worker runs (also the in-thread path)."""
    return extract(decode_html(content, content_type), url, rules=rules)


def default_processes() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class ExtractPool:
    """`submit(...) -> Future[Article]`; thread-safe, so the page-fetching threads share one pool."""

    def __init__(self, processes: int | None = None, max_tasks_per_child: int | None = MAX_TASKS_PER_CHILD):
        self.processes = default_processes() if processes is None else max(0, processes)
        self._max_tasks = max_tasks_per_child
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    @property
    def in_thread(self) -> bool:
        return self.processes <= 1

    def submit(self, content: bytes, content_type: str | None, url: str,
               rules: SiteRules | None = None) -> Future[Article]:
        if self.in_thread:
            return _run_here(content, content_type, url, rules)
        try:
            return self._pool().submit(extract_page, content, content_type, url, rules)
        except BrokenProcessPool:  # a worker died since the last call: start afresh once
            self._discard()
            return self._pool().submit(extract_page, content, content_type, url, rules)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # forkserver, not fork: the parent runs threads (httpx, scheduler) and fork would copy their locks.
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["ingest.workers"])
                self._executor = ProcessPoolExecutor(max_workers=self.processes, mp_context=context,
                                                     max_tasks_per_child=self._max_tasks)
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

    def __enter__(self) -> ExtractPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_here(content: bytes, content_type: str | None, url: str, rules: SiteRules | None) -> Future[Article]:
    """A finished future, so callers treat both modes alike (`.result()` re-raises the extractor's error)."""
    future: Future[Article] = Future()
    try:
        future.set_result(extract_page(content, content_type, url, rules))
    except Exception as exc:
        future.set_exception(exc)
    return future

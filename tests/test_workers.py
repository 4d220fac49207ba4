"""WorkerPool: worker processes give exactly what in-thread extraction gives, on real corpus pages."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from ingest.article import Page
from ingest.extract import SiteRules
from ingest.feeds import FeedEntry
from ingest.poll.draft import Context, draft
from ingest.poll.workers import WorkerPool, extract_page
from ingest.watchlists import Term, Watchlist
from tests.helpers.paths import SAMPLE_ARTICLES


def _pages(n: int = 4) -> list[bytes]:
    files = sorted((SAMPLE_ARTICLES / "html").glob("*.html.gz"))[:n]
    return [gzip.decompress(f.read_bytes()) for f in files]


def test_process_pool_equals_in_thread():
    pages = _pages()
    url = "https://example.org/a/1"
    expected = [extract_page(p, "text/html", url) for p in pages]
    with WorkerPool(processes=2) as pool:
        assert not pool.in_thread
        futures = [pool.extract(p, "text/html", url) for p in pages]
        assert [f.result(timeout=60) for f in futures] == expected
    assert any(a.text.strip() for a in expected)


def test_rules_cross_the_process_boundary():
    page = _pages(1)[0]
    rules = SiteRules(body="body", remove=("script", "nav"))
    with WorkerPool(processes=2) as pool:
        got = pool.extract(page, "text/html; charset=utf-8", "https://example.org/x", rules).result(timeout=60)
    assert got == extract_page(page, "text/html; charset=utf-8", "https://example.org/x", rules)


def test_draft_in_workers_equals_in_thread():
    """Fingerprints and hits are computed in the workers, with watchlists compiled there once."""
    pages = _pages(3)
    entries = [FeedEntry(guid=f"g{n}", url=f"https://example.org/a/{n}", title=None, published=None, updated=None)
               for n in range(len(pages))]
    ctx = Context("src", tracking_params=("ref",))
    watchlists = (Watchlist(name="the", any_of=(Term("the", case_sensitive=False),)),)
    in_thread = WorkerPool(processes=0, watchlists=watchlists)
    expected = [draft(e, ctx, in_thread.matcher, Page(e.url, "text/html", p)) for e, p in zip(entries, pages)]
    with WorkerPool(processes=2, watchlists=watchlists) as pool:
        got = [f.result(timeout=60) for f in [pool.draft(e, ctx, Page(e.url, "text/html", p))
                                              for e, p in zip(entries, pages)]]
    assert got == expected
    assert all(b.origin == "page" and b.fingerprints.content for b in got)
    assert any(b.hits for b in got)


def test_pool_is_replaced_after_its_task_budget_without_losing_tasks():
    """Workers are recycled by swapping the pool: every task queued around a swap still completes."""
    html = b"<html><body><article><p>" + b"word " * 60 + b"</p></article></body></html>"
    with WorkerPool(processes=2, tasks_per_worker=3) as pool:
        futures = [pool.extract(html, "text/html", f"https://example.org/{n}") for n in range(40)]
        assert all("word" in f.result(timeout=120).text for f in futures)


@pytest.mark.parametrize("processes", [0, 1])
def test_small_pool_runs_in_the_calling_thread(processes):
    pool = WorkerPool(processes=processes)
    assert pool.in_thread
    article = pool.extract(b"<html><body><article><p>" + b"word " * 60 + b"</p></article></body></html>",
                          "text/html", "https://example.org/p").result()
    assert "word" in article.text
    pool.close()
    assert pool._executor is None  # no process was ever started


def test_extractor_error_reaches_the_future():
    pool = WorkerPool(processes=0)
    future = pool.extract(b"<html></html>", "text/html", "https://example.org/p", rules="not rules")  # type: ignore[arg-type]
    assert future.exception() is not None


def test_workers_leave_when_their_parent_dies(tmp_path):
    """A killed ingest must not leave extraction workers behind."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from ingest.poll.workers import WorkerPool\n"
        "if __name__ == '__main__':\n"
        "    pool = WorkerPool(processes=2)\n"
        "    pool.extract(b'<p>x</p>', 'text/html', 'https://example.org/').result(timeout=60)\n"
        "    print(' '.join(str(p) for p in pool._executor._processes), flush=True)\n"
        "    time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _feed_entries(n: int) -> list[FeedEntry]:
    return [FeedEntry(guid=f"g{i}", url=f"https://example.org/a/{i}", title=f"Entry {i}", published=None, updated=None,
                      summary=f"<p>Entry {i}: " + "the quick brown fox jumps over the lazy dog " * (i % 9) + "</p>")
            for i in range(n)]


def test_draft_many_equals_one_draft_per_entry_in_order():
    entries, ctx = _feed_entries(7), Context("src")
    watchlists = (Watchlist(name="fox", any_of=(Term("fox", case_sensitive=False),)),)
    in_thread = WorkerPool(processes=0, watchlists=watchlists)
    expected = [draft(e, ctx, in_thread.matcher) for e in entries]
    assert [f.result() for f in in_thread.draft_many(entries, ctx)] == expected
    with WorkerPool(processes=2, watchlists=watchlists) as pool:
        assert [f.result(timeout=60) for f in pool.draft_many(entries, ctx)] == expected
        assert pool.draft_many([], ctx) == []
        assert pool._tasks == len(entries)  # a chunk counts its entries towards the workers' replacement


def test_a_chunk_whose_worker_dies_fails_each_of_its_futures_and_the_pool_recovers():
    ctx = Context("src")
    with WorkerPool(processes=2) as pool:
        pool.draft_many(_feed_entries(2), ctx)[0].result(timeout=60)  # workers started
        futures = pool.draft_many(_feed_entries(4000), ctx)  # seconds of work per chunk
        time.sleep(0.3)
        for pid in pool._executor._processes:
            os.kill(pid, signal.SIGKILL)
        errors = [f.exception(timeout=60) for f in futures]
        assert all(isinstance(e, BrokenProcessPool) for e in errors)
        assert [f.result(timeout=60).entry.guid for f in pool.draft_many(_feed_entries(3), ctx)] == ["g0", "g1", "g2"]

"""ExtractPool: worker processes give exactly what in-thread extraction gives, on real corpus pages."""

from __future__ import annotations

import gzip

import pytest

from ingest.extract import SiteRules
from ingest.workers import ExtractPool, extract_page


def _pages(shared, n: int = 4) -> list[bytes]:
    files = sorted((shared / "corpus" / "articles" / "html").glob("*.html.gz"))[:n]
    return [gzip.decompress(f.read_bytes()) for f in files]


def test_process_pool_equals_in_thread(shared):
    pages = _pages(shared)
    url = "https://example.org/a/1"
    expected = [extract_page(p, "text/html", url) for p in pages]
    with ExtractPool(processes=2) as pool:
        assert not pool.in_thread
        futures = [pool.submit(p, "text/html", url) for p in pages]
        assert [f.result(timeout=60) for f in futures] == expected
    assert any(a.text.strip() for a in expected)


def test_rules_cross_the_process_boundary(shared):
    page = _pages(shared, 1)[0]
    rules = SiteRules(body="body", remove=("script", "nav"))
    with ExtractPool(processes=2) as pool:
        got = pool.submit(page, "text/html; charset=utf-8", "https://example.org/x", rules).result(timeout=60)
    assert got == extract_page(page, "text/html; charset=utf-8", "https://example.org/x", rules)


@pytest.mark.parametrize("processes", [0, 1])
def test_small_pool_runs_in_the_calling_thread(processes):
    pool = ExtractPool(processes=processes)
    assert pool.in_thread
    article = pool.submit(b"<html><body><article><p>" + b"word " * 60 + b"</p></article></body></html>",
                          "text/html", "https://example.org/p").result()
    assert "word" in article.text
    pool.close()
    assert pool._executor is None  # no process was ever started


def test_extractor_error_reaches_the_future():
    pool = ExtractPool(processes=0)
    future = pool.submit(b"<html></html>", "text/html", "https://example.org/p", rules="not rules")  # type: ignore[arg-type]
    assert future.exception() is not None

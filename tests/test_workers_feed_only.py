"""Feed-only mode (`[fetch] pages = false`) with worker processes: entries go to the workers in chunks,
one per process, and what is stored is exactly what in-thread building stores, in feed order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from ingest import config
from ingest.config import Source
from ingest.fetch import Fetcher
from ingest.poll.pipeline import Pipeline
from ingest.poll.workers import WorkerPool
from ingest.storage.store import Store
from tests.helpers.servers import LocalServer

WORDS = "the parliament met on a cold morning while crews on the border counted trucks and talked".split()


def _feed(entries: int) -> bytes:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    items = []
    for n in range(entries):
        paragraph = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(60 + 7 * n))
        published = format_datetime(now - timedelta(minutes=n), usegmt=True)
        items.append(f"<item><title>Story {n}</title><link>https://news.example.org/a/{n}.html</link>"
                     f'<guid isPermaLink="false">g{n}</guid><pubDate>{published}</pubDate>'
                     f"<description>{escape(f'<p>Entry {n}. {paragraph}</p>')}</description></item>")
    return (f'<rss version="2.0"><channel><title>t</title>{"".join(items)}</channel></rss>').encode()


def _stored(tmp_path, processes: int) -> list[tuple]:
    path = tmp_path / f"config-{processes}.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/ingest-{processes}.db"\n'
                    "[fetch]\npages = false\nallow_private_networks = true\n"
                    '[[watchlists]]\nname = "w"\nterms = ["Entry 3"]\n')
    cfg = config.load(path)
    store = Store(cfg.database_url)
    store.prepare()
    with LocalServer() as srv, Fetcher(cfg.settings.fetch) as fetcher, \
            WorkerPool(processes, cfg.watchlists) as pool:
        srv.route("/feed.xml", _feed(7), headers={"Content-Type": "application/rss+xml"})
        result = Pipeline(cfg, store, fetcher, pool).poll(Source(name="news", url=srv.url("/feed.xml")))
    assert (result.error, result.new, result.failed) == (None, 7, 0)
    items = [store.get(i) for i in range(1, store.count_items() + 1)]
    store.close()
    return [(s.item.url, s.item.title, s.item.origin, s.item.text, s.watchlists,
             sorted((f.kind, f.value) for f in s.fingerprints)) for s in items]


def test_chunked_builds_store_what_in_thread_builds_store(tmp_path):
    in_workers = _stored(tmp_path, processes=2)
    assert in_workers == _stored(tmp_path, processes=0)
    assert [(title, watchlists) for _, title, _, _, watchlists, _ in in_workers] == \
        [(f"Story {n}", ["w"] if n == 3 else []) for n in range(7)]  # in feed order (newest first)

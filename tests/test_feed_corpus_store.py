"""Every document of the shared feed corpus, served on loopback, through one whole poll: fetch, parse, build
each entry from the feed's content (`[fetch] pages = false`), fingerprint, decide and store.

No exception escapes a poll; a document is rejected here exactly when `parse_feed` alone rejects it
(tests/test_feed_corpus.py), and every entry it parsed ends up new, duplicate or failed: nothing the
parser accepts is lost further down the pipeline.

    /work/venv/bin/pytest -s tests/test_feed_corpus_store.py   # prints the summary
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

from ingest import config
from ingest.config import Source
from ingest.fetch import Fetcher
from ingest.poll.pipeline import Pipeline
from ingest.storage.store import Store
from tests.helpers.feed_corpus import manifest, summarize
from tests.helpers.servers import LocalServer


@dataclass
class StoreSummary:
    documents: int = 0
    with_items: int = 0  # documents that stored at least one new item
    new: int = 0
    duplicates: int = 0
    failed: int = 0  # entries with neither title nor content
    rejected: Counter = field(default_factory=Counter)
    rejected_paths: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def report(self) -> str:
        lines = [f"{self.documents} documents polled in {self.seconds:.1f} s: {self.with_items} stored items "
                 f"({self.new} new, {self.duplicates} duplicates, {self.failed} failed entries), "
                 f"{sum(self.rejected.values())} rejected"]
        lines += [f"  {count:5d}  {message}" for message, count in self.rejected.most_common()]
        return "\n".join(lines)


def _whole(body: bytes):
    """One write for head and body: a static route's two small writes cost 40 ms each (Nagle meets delayed
    ACK), 90 s over the corpus. No Content-Type, as in the parse-only run: the document's declarations decide."""
    def handler(request, out) -> None:
        out.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    return handler


def test_every_corpus_document_through_parse_and_store(shared, tmp_path):
    root = shared / "corpus" / "feeds"
    rows = manifest(root)
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///ingest.db"\n[fetch]\npages = false\nallow_private_networks = true\n'
                    'timeout = 10\n[[watchlists]]\nname = "w"\nterms = ["news", "Atom"]\n')
    cfg = config.load(path)
    store = Store(cfg.database_url)
    store.prepare()
    summary = StoreSummary()
    started = time.monotonic()
    with LocalServer() as srv, Fetcher(cfg.settings.fetch) as fetcher:
        pipeline = Pipeline(cfg, store, fetcher)
        for row in rows:
            srv.route(f"/{row['path']}", handler=_whole((root / row["path"]).read_bytes()))
            result = pipeline.poll(Source(name=row["path"], url=srv.url(f"/{row['path']}")))
            summary.documents += 1
            summary.new += result.new
            summary.duplicates += result.duplicates + result.updated
            summary.failed += result.failed
            summary.with_items += result.new > 0
            if result.error:
                assert result.failure == "feed", result.error  # never a fetch problem on loopback
                summary.rejected[re.sub(r"<unknown>:\d+:\d+: ", "", result.error)] += 1
                summary.rejected_paths.add(row["path"])
    summary.seconds = time.monotonic() - started
    print("\n" + summary.report())

    assert summary.documents == len(rows) == 2404
    assert summary.seconds < 90
    parsed = summarize(root)
    assert summary.rejected_paths == parsed.rejected_paths
    assert summary.new + summary.duplicates + summary.failed == parsed.entries  # every parsed entry accounted for
    assert store.count_items() == summary.new
    # Floors under the run of 2026-11-28: 312 documents stored 1446 new items (206 duplicates, 69 empty entries).
    assert summary.with_items >= 300
    assert summary.new >= 1400
    assert summary.failed <= 100
    store.close()

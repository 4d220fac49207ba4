"""`ingest reextract`: rebuild stored records from their stored pages, after an extractor change."""

from __future__ import annotations

from collections.abc import Callable

from ingest.article import Article
from ingest.config import Config, Source
from ingest.fingerprint import fingerprints
from ingest.poll.decide import item_keys
from ingest.poll.draft import fill
from ingest.poll.workers import WorkerPool
from ingest.storage.records import article_of, hit_row, item_row, page_body
from ingest.storage.store import Store


def reextract(config: Config, store: Store, workers: WorkerPool, source: Source | None = None,
              progress: Callable[[int], None] = lambda n: None) -> tuple[int, int]:
    """Rebuild records from their stored pages (`progress(1)` after each) and match them again, in place (not a
    revision); returns (rebuilt, changed)."""
    rules = {s.name: s.rules for s in config.sources}
    tracking = config.settings.tracking_params
    rebuilt = changed = 0
    for item, page in store.pages(source.name if source else None):
        article = workers.extract(page_body(page), page.content_type, page.url, rules.get(item.source)).result()
        article = fill_missing(article, article_of(item))
        fps = fingerprints(article, source=item.source, guid=item.guid, entry_url=item.url, final_url=page.url,
                           extra_tracking_params=tracking)
        new = item_row(article, source=item.source, guid=item.guid, url=item.url, final_url=page.url,
                       origin=item.origin, fetched_at=item.fetched_at)
        new.entry_hash, new.signature = item.entry_hash, fps.signature.to_str() if fps.signature else None
        hits = workers.matcher.match(article)
        store.update(item.id, new, item_keys(fps), [hit_row(h) for h in hits], bands=fps.bands, revision=False)
        rebuilt += 1
        changed += new.blocks != item.blocks or new.title != item.title
        progress(1)
    return rebuilt, changed


def fill_missing(article: Article, previous: Article) -> Article:
    """Keep what the old record knew (often from the feed) and the page does not say."""
    names = ("title", "published", "updated", "authors")
    return fill(article, {n: getattr(previous, n) for n in names},
                {n: previous.sources.get(n, "stored") for n in names})

"""Source types beyond a feed URL: news sitemaps, HTML list pages, and finding and editing sources.

Every type ends as a `feeds.Feed` of `FeedEntry`s, so fetching, dedup, records and watchlists are the
feed's own: a sitemap entry and the same article from an RSS feed are one item.

    feed = read_source(source, response, fetcher, parse)   # parse: one fetched document -> Feed | SitemapIndex

`parse_document` (pure, run in a worker) reads one fetched document of a source's type; `read_source`
(I/O) adds what a sitemap index needs: fetching its newest child sitemaps through the same `Fetcher`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ingest.feeds import Feed, FeedError, parse_feed, select_entries
from ingest.sources.listpages import ListSelectors, parse_list_page
from ingest.sources.sitemaps import MAX_SITEMAPS, SitemapIndex, newest_sitemaps, parse_sitemap

if TYPE_CHECKING:
    from ingest.config import Source
    from ingest.fetch import Fetcher, Response


def parse_document(body: bytes, url: str, content_type: str | None, max_entries: int, kind: str = "feed",
                   select: ListSelectors | None = None) -> Feed | SitemapIndex:
    """One fetched document of a source of type `kind`, as a Feed (or, for a sitemap index, its sitemaps)."""
    if kind == "sitemap":
        return parse_sitemap(body, url, max_entries)
    if kind == "html":
        assert select is not None, "an html source has selectors (checked by the config)"
        return parse_list_page(body, url, content_type, select, max_entries)
    return parse_feed(body, url, content_type, max_entries=max_entries)


def read_source(source: Source, response: Response, fetcher: Fetcher,
                parse: Callable[[Response], Feed | SitemapIndex], max_entries: int) -> Feed:
    """The source's entries from its fetched document; a sitemap index's newest `MAX_SITEMAPS` children are
    fetched (each with the fetcher's bounds) and read too. A child that fails is one `failed` line, unless all do."""
    doc = parse(response)
    if isinstance(doc, Feed):
        return doc
    from ingest.fetch import FetchError
    from ingest.http import redact

    entries, failed, errors = [], list(doc.failed), []
    children = newest_sitemaps(doc.sitemaps)
    for child in children:
        try:
            part = parse(fetcher.get(child, accept="application/xml,text/xml,*/*;q=0.5"))
        except (FetchError, FeedError) as exc:
            if getattr(exc, "kind", None) == "cancelled":
                raise
            errors.append(f"sitemap {redact(child)}: {exc}")
            continue
        if isinstance(part, SitemapIndex):
            errors.append(f"sitemap {redact(child)}: an index inside an index is not followed")
            continue
        entries += part.entries
        failed += part.failed
    if children and len(errors) == len(children):
        raise FeedError(f"none of the index's {len(children)} newest sitemaps could be read; first: {errors[0]}")
    return Feed(None, None, None, select_entries(tuple(entries), max_entries), "sitemapindex",
                tuple(failed + errors))


__all__ = ["MAX_SITEMAPS", "ListSelectors", "SitemapIndex", "parse_document", "read_source"]

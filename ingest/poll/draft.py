"""What one feed entry becomes before storage: its article, fingerprints and watchlist hits.

`draft` is pure and takes only picklable arguments, so it runs in the extraction workers
(`ingest.poll.workers`): everything per entry that costs CPU (HTML extraction, the MinHash
signature, watchlist matching, compressing the page) happens there, on every core, and
the polling process is left with fetching and storing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

from ingest.article import Article, Page
from ingest.extract import SiteRules, decode_html, extract
from ingest.feeds import FeedEntry
from ingest.fetch import FetchError, FetchSettings, decode_body
from ingest.fingerprint import Fingerprints, fingerprints
from ingest.http import redact
from ingest.watchlists import Hit, Matcher


@dataclass(frozen=True)
class Context:
    """What `draft` needs to know about the entry's source."""

    source: str
    rules: SiteRules | None = None
    tracking_params: tuple[str, ...] = ()
    max_bytes: int = FetchSettings.max_bytes  # of a decoded page


@dataclass(frozen=True)
class Draft:
    """What became of one feed entry before storage."""

    entry: FeedEntry
    article: Article | None  # None: neither the page nor the feed gave a title or text
    origin: str  # "page" or "feed"
    final_url: str | None
    error: str | None = None  # why the page was not used (the feed's content was)
    page: Page | None = None  # the page, compressed, when the article came from it
    empty_page: bool = False  # the page was fetched but yielded no article text
    fingerprints: Fingerprints | None = None
    hits: tuple[Hit, ...] = ()


def draft(entry: FeedEntry, ctx: Context, matcher: Matcher, page: Page | None = None,
          page_error: str | None = None) -> Draft:
    """Extract the entry's page, falling back to the feed's own content; then fingerprint and match it."""
    empty = False
    if page is not None:
        try:
            body = decode_body(page.body, page.encoding, page.url, ctx.max_bytes)
            article = extract(decode_html(body, page.content_type), page.url, rules=ctx.rules)
        except FetchError as exc:  # corrupt or over the cap once inflated
            page_error = str(exc)
        except Exception as exc:  # an extractor bug must cost one page, not the poll
            page_error = f"extraction failed for {redact(page.url)}: {type(exc).__name__}: {exc}"
        else:
            if article.text.strip():
                compressed = page.body if page.encoding not in ("identity", "") else zlib.compress(body, 1)
                stored = Page(page.url, page.content_type, compressed)
                return _finish(Draft(entry, merge_entry(article, entry), "page", page.url, page=stored), ctx, matcher)
            page_error, empty = f"page has no article text: {redact(entry.url or page.url)}", True
    html = entry.content or entry.summary or ""
    article = merge_entry(extract(html, entry.url) if html.strip() else Article(url=entry.url), entry)
    if not article.title and not article.text:
        return Draft(entry, None, "feed", None, error=page_error or "entry has neither title nor content",
                     empty_page=empty)
    return _finish(Draft(entry, article, "feed", None, error=page_error, empty_page=empty), ctx, matcher)


def _finish(b: Draft, ctx: Context, matcher: Matcher) -> Draft:
    fps = fingerprints(b.article, source=ctx.source, guid=b.entry.guid, entry_url=b.entry.url, final_url=b.final_url,
                       extra_tracking_params=ctx.tracking_params)
    return replace(b, fingerprints=fps, hits=tuple(matcher.match(b.article)))


def merge_entry(article: Article, entry: FeedEntry) -> Article:
    """Fill what the page did not say from the feed entry, recording that the feed said it."""
    given = {"title": entry.title, "published": entry.published, "updated": entry.updated,
             "authors": list(entry.authors), "language": entry.language}
    article = fill(article, given, {name: "feed" for name in given})
    return article if article.url else replace(article, url=entry.url)


def fill(article: Article, values: dict, origins: dict[str, str]) -> Article:
    """`values` where the article has none, with where each came from in `article.sources`."""
    changes = {name: value for name, value in values.items() if value and not getattr(article, name)}
    if not changes:
        return article
    return replace(article, **changes, sources={**article.sources, **{n: origins[n] for n in changes}})

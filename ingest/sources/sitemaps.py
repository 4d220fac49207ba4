"""Sitemaps (sitemaps.org) and Google News sitemaps to feed entries, streamed and bounded.

A document is inflated (when gzip) and parsed in pieces, so its cost is bounded by `MAX_BYTES`
inflated bytes and `MAX_URLS` `<url>` elements (the sitemaps.org limits), whatever it holds: the
parse stops at the first bound and says so in one line. Entity declarations are never expanded and
nothing external is loaded. Each `<url>` becomes a `FeedEntry`: its `<loc>`, and from `news:news`
the title, publication date and language; `<lastmod>` is the entry's updated time. While streaming, a `<url>`
is kept as its raw texts only; links are resolved and dates parsed for the `max_entries` newest alone, so a
document of `MAX_URLS` costs little more than reading it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

from ingest.extract.metadata import parse_date, primary_language
from ingest.feeds import Feed, FeedEntry, FeedError, select_entries
from ingest.text import clean_text
from ingest.urls import web_url

MAX_BYTES = 50_000_000  # inflated, per document (sitemaps.org: 50 MB)
MAX_URLS = 50_000  # <url> or <sitemap> elements per document (sitemaps.org: 50,000)
MAX_SITEMAPS = 10  # children of an index read per poll, the most recently modified first
_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
_CHUNK = 65536


@dataclass(frozen=True)
class SitemapIndex:
    sitemaps: tuple[tuple[str, datetime | None], ...]  # (absolute URL, lastmod)
    failed: tuple[str, ...] = ()


def newest_sitemaps(sitemaps: tuple[tuple[str, datetime | None], ...], limit: int = MAX_SITEMAPS) -> list[str]:
    """The `limit` most recently modified children (undated ones after, in document order)."""
    order = sorted(range(len(sitemaps)), key=lambda i: (sitemaps[i][1] is None,
                                                        -(sitemaps[i][1].timestamp() if sitemaps[i][1] else 0), i))
    return list(dict.fromkeys(sitemaps[i][0] for i in order))[:limit]


def parse_sitemap(body: bytes, url: str, max_entries: int = 500) -> Feed | SitemapIndex:
    """A `<urlset>` as a Feed (newest `max_entries`), a `<sitemapindex>` as its children."""
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False, remove_comments=True, remove_pis=True)
    root: str | None = None
    urls: list[_Url] = []
    children: list[tuple[str, datetime | None]] = []
    failed: list[str] = []
    read = 0  # the root's children, whatever they are: each counts towards MAX_URLS
    try:
        for chunk in _inflated(body, url):
            parser.feed(chunk)
            for event, el in parser.read_events():
                if root is None:
                    root = etree.QName(el).localname
                    if root not in ("urlset", "sitemapindex"):
                        raise FeedError(f"not a sitemap: root element <{root}> is not <urlset> or <sitemapindex>")
                if event != "end" or el.getparent() is None or el.getparent().getparent() is not None:
                    continue  # only the root's children are read, each once complete
                name = etree.QName(el).localname
                if name == "url":
                    urls.append(_raw_url(el))
                elif name == "sitemap":
                    loc = web_url(_child_text(el, "loc"), url)
                    if loc:
                        children.append((loc, parse_date(_child_text(el, "lastmod"))))
                el.clear()
                while el.getprevious() is not None:  # what was read is dropped: memory stays flat
                    del el.getparent()[0]
                read += 1
                if read >= MAX_URLS:
                    failed.append(f"sitemap {url}: more than {MAX_URLS} entries; read the first {MAX_URLS}")
                    raise _Enough
        parser.close()
    except _Enough:
        pass
    except etree.XMLSyntaxError as exc:
        reason = " ".join(str(exc).split())[:200]
        if not (urls or children):
            raise FeedError(f"not a sitemap: {reason}" if root is None else f"sitemap {url}: malformed XML: {reason}") \
                from None
        failed.append(f"sitemap {url}: malformed XML after {read} entries: {reason}")
    if root is None:
        raise FeedError("not a sitemap: no XML element found")
    if root == "sitemapindex":
        return SitemapIndex(tuple(children), tuple(failed))
    return Feed(None, None, None, _newest_entries(urls, url, max_entries), "sitemap", tuple(failed))


class _Enough(Exception):
    """The entry bound was reached: stop reading."""


def _inflated(body: bytes, url: str) -> Iterator[bytes]:
    """The document in pieces: a gzip file (a `.xml.gz` sent as is) inflated lazily, at most MAX_BYTES in all."""
    if not body.startswith(b"\x1f\x8b"):
        if len(body) > MAX_BYTES:
            raise FeedError(f"sitemap {url}: larger than {MAX_BYTES} bytes")
        yield body
        return
    decoder, total = zlib.decompressobj(16 + zlib.MAX_WBITS), 0
    try:
        data = body
        while data and not decoder.eof:
            piece = decoder.decompress(data, _CHUNK)
            data = decoder.unconsumed_tail
            total += len(piece)
            if total > MAX_BYTES:
                raise FeedError(f"sitemap {url}: inflates to more than {MAX_BYTES} bytes")
            yield piece
    except zlib.error as exc:
        raise FeedError(f"sitemap {url}: corrupt gzip: {exc}") from None


def _child_text(el: etree._Element, name: str) -> str | None:
    """A direct child's text (`<loc>`, `<lastmod>`: not an `image:loc` deeper down)."""
    for child in el.iterchildren():
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return clean_text(child.text or "").strip() or None
    return None


_Url = tuple[str | None, str | None, str | None, str | None, str | None]  # loc, lastmod, news title, date, language
_NEWS_FIELDS = {f"{{{_NEWS}}}{name}": i for i, name in enumerate(("title", "publication_date", "language"), 2)}


def _raw_url(el: etree._Element) -> _Url:
    """A `<url>`'s direct `loc` and `lastmod` and its first `news:` title, date and language, as sent."""
    found: list[str | None] = [None] * 5
    for child in el.iterchildren("{*}loc", "{*}lastmod", "{*}news"):
        if (name := etree.QName(child).localname) != "news":
            i = 0 if name == "loc" else 1
            found[i] = child.text or "" if found[i] is None else found[i]
        for sub in child.iter(*_NEWS_FIELDS):
            i = _NEWS_FIELDS[sub.tag]
            found[i] = sub.text or "" if found[i] is None else found[i]
    return tuple(found)  # type: ignore[return-value]


def _newest_entries(urls: list[_Url], base: str, limit: int) -> tuple[FeedEntry, ...]:
    """`select_entries` over the URLs, building entries (link resolved, dates parsed) only for those it keeps:
    the URLs are ordered by a quick date key and built newest first until `limit` are usable."""
    kept: list[FeedEntry] = []
    for i in sorted(range(len(urls)), key=lambda i: _order_key(urls[i], i)):
        if (entry := _entry(urls[i], base)) is not None:
            kept.append(entry)
            if len(kept) == limit:
                break
    return select_entries(tuple(kept), limit)


def _order_key(raw: _Url, index: int) -> tuple[bool, float, int]:
    """Newest first, undated after in document order. `datetime.fromisoformat` (C, ~20x faster) reads the usual
    W3C dates; anything else goes through `parse_date`, which gives the stored value of every kept entry."""
    when = None
    for text in (raw[3], raw[1]):  # published, else updated, as select_entries orders
        if text and when is None:
            try:
                when = datetime.fromisoformat(text.strip())
            except ValueError:
                when = parse_date(clean_text(text))
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when is None, -when.timestamp() if when else 0.0, index)


def _text(value: str | None) -> str | None:
    return clean_text(value).strip() or None if value else None


def _entry(raw: _Url, base: str) -> FeedEntry | None:
    loc = web_url(clean_text(raw[0] or ""), base)
    if not loc:
        return None
    return FeedEntry(guid=None, url=loc, title=_text(raw[2]), published=parse_date(_text(raw[3])),
                     updated=parse_date(_text(raw[1])), language=primary_language(_text(raw[4])))

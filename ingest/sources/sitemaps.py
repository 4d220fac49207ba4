"""Sitemaps (sitemaps.org) and Google News sitemaps to feed entries, streamed and bounded.

A document is inflated (when gzip) and parsed in pieces, so its cost is bounded by `MAX_BYTES`
inflated bytes and `MAX_URLS` `<url>` elements (the sitemaps.org limits), whatever it holds: the
parse stops at the first bound and says so in one line. Entity declarations are never expanded and
nothing external is loaded. Each `<url>` becomes a `FeedEntry`: its `<loc>`, and from `news:news`
the title, publication date and language; `<lastmod>` is the entry's updated time.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

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
    urls: list[FeedEntry] = []
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
                    if (entry := _entry(el, url)) is not None:
                        urls.append(entry)
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
    return Feed(None, None, None, select_entries(tuple(urls), max_entries), "sitemap", tuple(failed))


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


def _child_text(el: etree._Element, name: str, namespace: str | None = None) -> str | None:
    """A direct child's text (`<loc>`, `<lastmod>`: not an `image:loc` deeper down), or a `news:` element's."""
    for child in (el.iter(f"{{{namespace}}}{name}") if namespace else el.iterchildren()):
        if namespace or (isinstance(child.tag, str) and etree.QName(child).localname == name):
            return clean_text(child.text or "").strip() or None
    return None


def _entry(el: etree._Element, base: str) -> FeedEntry | None:
    loc = web_url(_child_text(el, "loc"), base)
    if not loc:
        return None
    return FeedEntry(guid=None, url=loc, title=_child_text(el, "title", _NEWS),
                     published=parse_date(_child_text(el, "publication_date", _NEWS)),
                     updated=parse_date(_child_text(el, "lastmod")),
                     language=primary_language(_child_text(el, "language", _NEWS)))

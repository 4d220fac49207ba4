"""Finding a site's feeds from any of its pages (`ingest sources add URL`), as Miniflux and FreshRSS do.

In order, stopping at the first step that finds something: the URL itself is a feed or a sitemap; the
page's `<link rel="alternate">` feeds (RSS, Atom, JSON Feed); the common paths (`COMMON_PATHS`) on its
host; the page's links that look like feeds; the `Sitemap:` lines of the host's robots.txt. Every
candidate is fetched (through the same bounded `Fetcher`) and kept only if it parses, so what is
offered works; at most `MAX_CANDIDATES` are tried per step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree
from protego import Protego

from ingest.extract import decode_html
from ingest.feeds import FeedError, parse_feed
from ingest.fetch import Fetcher, FetchError, Response
from ingest.sources.sitemaps import parse_sitemap
from ingest.urls import web_url

COMMON_PATHS = ("/feed", "/rss", "/atom.xml", "/feed.json", "/rss.xml")
MAX_CANDIDATES = 10
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
               "application/rdf+xml", "application/xml", "text/xml")
_FEEDISH = re.compile(r"(?:^|[/._-])(?:rss|atom|feeds?)(?:[/._-]|$)|\.(?:rss|atom)$", re.I)
_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class Found:
    url: str
    type: str  # "feed" or "sitemap"
    title: str  # the feed's title, else ""


def discover(fetcher: Fetcher, url: str) -> list[Found]:
    """The feeds (or sitemaps) `url` leads to; FetchError when the URL itself cannot be fetched."""
    page = fetcher.get(url, accept=_ACCEPT + ", text/html;q=0.8")
    if (itself := _as_source(page)) is not None:
        return [itself]
    root = _html(page)
    steps = (
        lambda: _links(root, page.url, alternate=True),
        lambda: [f"{_origin(page.url)}{path}" for path in COMMON_PATHS],
        lambda: _links(root, page.url, alternate=False),
        lambda: _robots_sitemaps(fetcher, page.url),
    )
    for step in steps:
        found = _verified(fetcher, step())
        if found:
            return found
    return []


def _verified(fetcher: Fetcher, candidates: list[str]) -> list[Found]:
    found: dict[str, Found] = {}
    for candidate in dict.fromkeys(candidates).keys():
        if len(found) >= MAX_CANDIDATES:
            break
        try:
            response = fetcher.get(candidate, accept=_ACCEPT)
        except FetchError as exc:
            if exc.kind == "cancelled":
                raise
            continue
        source = _as_source(response)
        if source is not None:
            found.setdefault(source.url, source)  # /feed and /rss often redirect to one feed
    return list(found.values())


def _as_source(response: Response) -> Found | None:
    """The fetched document as a source, if it is a feed or a sitemap."""
    try:
        feed = parse_feed(response.content, response.url, response.content_type, max_entries=1)
        return Found(response.url, "feed", feed.title or "")
    except FeedError:
        pass
    try:
        parse_sitemap(response.content, response.url, max_entries=1)
        return Found(response.url, "sitemap", "")
    except FeedError:
        return None


def _html(page: Response) -> etree._Element | None:
    try:
        return etree.fromstring(decode_html(page.content, page.content_type), etree.HTMLParser(remove_comments=True))
    except (etree.ParserError, ValueError):
        return None


def _links(root: etree._Element | None, base: str, *, alternate: bool) -> list[str]:
    """`<link rel="alternate">` with a feed type, or (`alternate=False`) `<a href>` whose path looks like a feed."""
    if root is None:
        return []
    links = []
    if alternate:
        for link in root.iter("link"):
            rel = (link.get("rel") or "").lower().split()
            kind = (link.get("type") or "").split(";")[0].strip().lower()
            if "alternate" in rel and kind in _FEED_TYPES and (url := web_url(link.get("href"), base)):
                links.append(url)
    else:
        for a in root.iter("a"):
            url = web_url(a.get("href"), base)
            if url and _FEEDISH.search(urlsplit(url).path):
                links.append(url)
    return links


def _robots_sitemaps(fetcher: Fetcher, url: str) -> list[str]:
    try:
        robots = fetcher.get(f"{_origin(url)}/robots.txt", accept="text/plain").content.decode("utf-8", "replace")
    except FetchError as exc:
        if exc.kind == "cancelled":
            raise
        return []
    return [u for line in Protego.parse(robots).sitemaps if (u := web_url(line, url))]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

"""Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) to entries, refusing what is not a feed or is hostile.

XML goes through feedparser, but only as an in-memory stream (given a str it would read a local file
or URL named by the body) and only after entity declarations are refused, since its own DOCTYPE
handling keeps "safe" entities and would expand one referenced 10,000 times. JSON Feed is parsed here
because feedparser 6 cannot, with type checks on every field: feeds are untrusted input.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8
from feedparser.urls import resolve_relative_uris

from ingest.text import clean_text
from ingest.urls import web_url


@dataclass(frozen=True)
class FeedEntry:
    guid: str | None
    url: str | None  # absolute http(s)
    title: str | None
    published: datetime | None  # aware, UTC
    updated: datetime | None  # aware, UTC
    authors: tuple[str, ...] = ()
    summary: str | None = None  # html
    content: str | None = None  # html, the fullest content given
    language: str | None = None  # declared for the entry (a news sitemap's news:language); feeds leave it to the page


@dataclass(frozen=True)
class Feed:
    title: str | None
    link: str | None
    ttl_minutes: int | None  # RSS <ttl>
    entries: tuple[FeedEntry, ...]
    format: str  # feedparser's version label ("rss20", "atom10", "rss10", ...) or "json10"/"json11"
    failed: tuple[str, ...] = ()  # entries that could not be read, one line each: the rest of the feed still counts
    hubs: tuple[str, ...] = ()  # WebSub hubs the feed declares (`<link rel="hub">`, JSON Feed `hubs`)
    self_url: str | None = None  # the feed's own URL as it declares it (`rel="self"`, `feed_url`): the WebSub topic


class FeedError(ValueError):
    """The body is not a usable feed; the message is one line saying why."""


_PROLOG_SKIP = re.compile(r"\A(?:\ufeff|\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S | re.I)
_ROOT_TAG = re.compile(r"<([A-Za-z_][\w:.-]*)")
_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(?:\.(\d))?/?$")


def parse_feed(body: bytes, url: str, content_type: str | None = None, *, max_entries: int = 500) -> Feed:
    """Parse a fetched body; `url` is the feed's final URL, the base for relative links."""
    if not body.strip():
        raise FeedError("empty body")
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"{", b"[") or (start != b"<" and "json" in (content_type or "").lower()):
        feed = _parse_json_feed(body, url)
    else:
        feed = _parse_xml_feed(body, url, content_type)
    return replace(feed, entries=select_entries(feed.entries, max_entries))


def _read_entries(items: Iterable[Any], read: Callable[[Any], FeedEntry]) -> tuple[tuple[FeedEntry, ...], tuple[str, ...]]:
    """Each entry read on its own: one that breaks a reader (a date out of range, a field of the wrong type)
    is reported and skipped, never the feed's other entries."""
    entries, failed = [], []
    for number, item in enumerate(items, 1):
        try:
            entries.append(read(item))
        except Exception as exc:  # noqa: BLE001 - any fault of one entry's data
            failed.append(f"entry {number} ({_entry_name(item)}): {type(exc).__name__}: {_one_line(exc)}")
    return tuple(entries), tuple(failed)


def _entry_name(item: Any) -> str:
    """How a log names an unreadable entry: its id or link, if those at least are text."""
    for name in ("id", "guid", "url", "link"):
        value = item.get(name) if isinstance(item, dict) else None
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return f"{name} {str(value).strip()[:200]!r}"
    return "no id"


def _usable(entry: FeedEntry) -> bool:
    """Without a link, a guid or a title there is nothing to fetch, key or show."""
    return bool(entry.url or entry.guid or entry.title)


def select_entries(entries: tuple[FeedEntry, ...], limit: int) -> tuple[FeedEntry, ...]:
    """Usable entries, newest first when dated (undated ones after, in document order), capped at `limit`."""
    def key(entry: FeedEntry) -> tuple[bool, float]:
        when = entry.published or entry.updated
        return (when is None, -when.timestamp() if when else 0.0)
    return tuple(sorted(filter(_usable, entries), key=key)[:limit])


# XML through feedparser

def _parse_xml_feed(body: bytes, url: str, content_type: str | None) -> Feed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # The text feedparser will parse (it decodes the same way), so the checks see what it sees, in any encoding.
    text = convert_to_utf8(dict(headers), body, {}).decode("utf-8", "replace")
    doctype = text.find("<!DOCTYPE")
    if doctype >= 0 and text.find("<!ENTITY", doctype) >= 0:  # only a DOCTYPE can declare entities
        raise FeedError("XML entity declarations refused")
    root = _root_tag(text)
    if root.lower() in ("html", "head", "body"):
        raise FeedError("not a feed: looks like HTML")
    # Entry HTML is neither sanitized nor link-resolved by feedparser (a third of its time): it never reaches
    # anyone as HTML, only our extractor (ingest.extract), which keeps text blocks and drops scripts, styles
    # and embeds; the only URLs it keeps (lead image, canonical) it resolves against the entry URL, and
    # _xml_entry resolves content under an explicit xml:base, the one base the extractor cannot know.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=False)
    entries, failed = _read_entries(parsed.entries, lambda e: _xml_entry(e, url))
    if not parsed.version and not entries and not failed:
        raise FeedError(f"not a feed: root element <{root}> is not RSS, Atom or RDF" if root
                        else "not a feed: no XML element found")
    # feedparser's "things nobody cares about": charset overrides and a missing or non-XML Content-Type.
    malformed = parsed.bozo and not isinstance(parsed.bozo_exception, feedparser.ThingsNobodyCaresAboutButMe)
    if malformed and not any(map(_usable, entries)):
        raise FeedError(f"malformed XML and no usable entries: {_one_line(parsed.bozo_exception)}")
    info = parsed.feed
    links = [link for link in info.get("links") or () if isinstance(link, dict)]
    return Feed(_text(info.get("title")), web_url(info.get("link"), url), _ttl(info.get("ttl")), entries,
                parsed.version or "unknown", failed, _links(links, "hub", url),
                next(iter(_links(links, "self", url)), None))


def _links(links: list[dict[str, Any]], rel: str, base: str) -> tuple[str, ...]:
    """The feed-level links of relation `rel`, as web URLs, each once."""
    return _unique(web_url(link.get("href"), base) for link in links if link.get("rel") == rel)


def _root_tag(text: str) -> str:
    match = _ROOT_TAG.match(text, _PROLOG_SKIP.match(text).end())
    return match.group(1) if match else ""


def _xml_entry(e: dict[str, Any], base: str) -> FeedEntry:
    contents = [c for c in (_as_html(d, base) for d in e.get("content") or ()) if c]
    names = [a.get("name") or a.get("email") for a in e.get("authors") or () if isinstance(a, dict)]
    if not any(names) and e.get("author"):
        names = [e.get("author")]
    return FeedEntry(
        guid=_text(e.get("id")),
        url=web_url(e.get("link"), base),
        title=_text(e.get("title")),
        # dict.get: FeedParserDict.get("updated_parsed") falls back to the published date, with a warning.
        published=_struct_time(dict.get(e, "published_parsed")),
        updated=_struct_time(dict.get(e, "updated_parsed")),
        authors=_unique(names),
        summary=_as_html(e.get("summary_detail") or {}, base),
        content=max(contents, key=len) if contents else None,
    )


def _as_html(detail: dict[str, Any], feed_url: str) -> str | None:
    """feedparser hands text/plain constructs over unescaped; the entry's fields are HTML.

    Relative links are left for the extractor, which resolves them against the entry URL, except
    under an xml:base naming another base than the feed's URL: those are resolved here, against it.
    """
    value = _text(detail.get("value"))
    if not value:
        return None
    if detail.get("type") == "text/plain":
        return html.escape(value)
    base = detail.get("base")
    if base and base != feed_url:
        return resolve_relative_uris(value, base, "utf-8", detail.get("type") or "text/html")
    return value


def _struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's parsed dates are UTC struct_times; some are out of datetime's range."""
    try:
        return datetime(*value[:6], tzinfo=UTC) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _ttl(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text and text.isdigit() and int(text) > 0 else None


def _one_line(exc: BaseException | None) -> str:
    return " ".join(str(exc).split())[:200]


# JSON Feed

def _parse_json_feed(body: bytes, url: str) -> Feed:
    try:
        doc = json.loads(body.removeprefix(codecs.BOM_UTF8))  # json.loads refuses a BOM
    except RecursionError:
        raise FeedError("not a feed: JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise FeedError(f"not a feed: invalid JSON ({_one_line(exc)})") from None
    declared = doc.get("version") if isinstance(doc, dict) else None
    version = _JSON_FEED_VERSION.match(declared) if isinstance(declared, str) else None
    if not version:
        raise FeedError("not a feed: JSON without a JSON Feed 1.x version")
    items = doc.get("items") if isinstance(doc.get("items"), list) else []
    feed_authors = _json_authors(doc)
    entries, failed = _read_entries((i for i in items if isinstance(i, dict)),
                                    lambda item: _json_entry(item, url, feed_authors))
    hubs = doc.get("hubs") if isinstance(doc.get("hubs"), list) else []
    return Feed(_text(doc.get("title")), web_url(doc.get("home_page_url"), url), None, entries,
                f"json1{version.group(1) or '0'}", failed,
                _unique(web_url(h.get("url"), url) for h in hubs if isinstance(h, dict)),
                web_url(doc.get("feed_url"), url))


def _json_entry(item: dict[str, Any], base: str, feed_authors: tuple[str, ...]) -> FeedEntry:
    guid = item.get("id")
    text = _text(item.get("content_text"))
    summary = _text(item.get("summary"))
    return FeedEntry(
        guid=str(guid) if isinstance(guid, (str, int)) and not isinstance(guid, bool) and str(guid) else None,
        url=web_url(item.get("url"), base) or web_url(item.get("external_url"), base),
        title=_text(item.get("title")),
        published=_iso_date(item.get("date_published")),
        updated=_iso_date(item.get("date_modified")),
        authors=_json_authors(item) or feed_authors,
        summary=html.escape(summary) if summary else None,  # JSON Feed summaries are plain text
        content=_text(item.get("content_html")) or (_plain_to_html(text) if text else None),
    )


def _json_authors(obj: dict[str, Any]) -> tuple[str, ...]:
    """JSON Feed 1.1 `authors` (a list), else 1.0 `author` (one object)."""
    people = obj.get("authors") if isinstance(obj.get("authors"), list) else [obj.get("author")]
    return _unique(p.get("name") for p in people if isinstance(p, dict))


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # malformed, or out of range once in UTC (9999-12-31T23:59-05:00)
        return None


def _plain_to_html(text: str) -> str:
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in re.split(r"\n\s*\n", text) if p.strip())


# Shared field cleaning: every string a feed gives goes through `_text` (control characters dropped)

def _text(value: Any) -> str | None:
    return (clean_text(value).strip() or None) if isinstance(value, str) else None


def _unique(names: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, map(_text, names))))

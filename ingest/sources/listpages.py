"""HTML list pages (a page of headlines) to feed entries, by CSS selectors.

`items` selects one element per story; inside each, `link` the element whose `href` (or whose first
link's `href`) is the story's URL, `title` its headline and the optional `date` its date (a
`datetime` or `content` attribute, else its text). The entry's id is the normalized link, so
reordering or restyling the page never makes an old story new. A selector that matches nothing is
a one-line error naming it: the page changed its template, or the selector is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cssselect import SelectorError
from lxml import etree

from ingest.extract import decode_html
from ingest.extract.metadata import parse_date
from ingest.extract.rules import compile_selector
from ingest.extract.text import normalize, text_of
from ingest.feeds import Feed, FeedEntry, FeedError, select_entries
from ingest.fingerprint import normalize_url
from ingest.text import clean_text
from ingest.urls import web_url


@dataclass(frozen=True)
class ListSelectors:
    items: str
    link: str
    title: str
    date: str | None = None

    @classmethod
    def from_config(cls, table: Any, where: str) -> ListSelectors:
        """From a `select = {items = ..., link = ..., title = ..., date = ...}` table; a one-line ValueError else."""
        if not isinstance(table, dict):
            raise ValueError(f"{where}: must be a table like {{items = \"article\", link = \"a\", title = \"h2\"}}")
        known = [f.name for f in fields(cls)]
        for key, value in table.items():
            if key not in known:
                raise ValueError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{where}: {key!r} must be a CSS selector string")
            try:
                compile_selector(value)
            except SelectorError as exc:
                raise ValueError(f"{where}: {key!r}: bad CSS selector {value!r}: {exc}") from None
        missing = [k for k in ("items", "link", "title") if k not in table]
        if missing:
            raise ValueError(f"{where}: {', '.join(repr(k) for k in missing)} required")
        return cls(**table)


def parse_list_page(body: bytes, url: str, content_type: str | None, select: ListSelectors,
                    max_entries: int = 500) -> Feed:
    """Each element matched by `select.items` as an entry (those without a link are reported, not kept)."""
    try:
        root = etree.fromstring(decode_html(body, content_type), etree.HTMLParser(remove_comments=True))
    except (etree.ParserError, ValueError):
        root = None
    if root is None:
        raise FeedError("not an HTML page: nothing to parse")
    items = compile_selector(select.items)(root)
    if not items:
        raise FeedError(f"selector items {select.items!r} matched nothing on the page")
    entries, failed = [], []
    for number, item in enumerate(items, 1):
        link = web_url(_href(item, select.link), url)
        if not link:
            failed.append(f"item {number}: selector link {select.link!r} found no http(s) link in it")
            continue
        title = _first(item, select.title)
        when = _first(item, select.date, ("datetime", "content")) if select.date else None
        entries.append(FeedEntry(guid=normalize_url(link), url=link, title=title, published=parse_date(when),
                                 updated=None))
    if not entries:
        raise FeedError(f"selector link {select.link!r} found no link in any of the {len(items)} items")
    page_title = root.find(".//title")
    title = clean_text(normalize(text_of(page_title))) or None if page_title is not None else None
    return Feed(title, url, None, select_entries(tuple(entries), max_entries), "html", tuple(failed))


def _href(item: etree._Element, selector: str) -> str | None:
    for el in compile_selector(selector)(item):
        href = el.get("href") or next((a.get("href") for a in el.iter("a") if a.get("href")), None)
        if href:
            return href
    return None


def _first(item: etree._Element, selector: str, attributes: tuple[str, ...] = ()) -> str | None:
    """The first match's attribute (of `attributes`) or text, control characters dropped."""
    for el in compile_selector(selector)(item):
        value = next((el.get(a) for a in attributes if el.get(a)), None) or normalize(text_of(el))
        if value and (value := clean_text(value).strip()):
            return value
    return None

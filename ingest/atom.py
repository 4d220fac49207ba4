"""The one Atom 1.0 writer: `export --format atom`, the watchlists' Atom files and the served `/watchlists/NAME.atom`.

Written piece by piece (an export streams any number of items), each piece serialized by lxml so
that escaping is never done by hand, and every text and attribute first passed through `text.clean_text`:
one BEL in a stored title would otherwise make the whole document unreadable to every feed reader.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from lxml import etree

from ingest.text import clean_text

if TYPE_CHECKING:
    from ingest.storage.tables import ItemRow

NAMESPACE = "http://www.w3.org/2005/Atom"
# How each block kind is shown in an entry's HTML content.
_BLOCK_HTML = {"heading": "<h3>{}</h3>", "quote": "<blockquote>{}</blockquote>", "caption": "<p><em>{}</em></p>",
               "list_item": "<p>• {}</p>"}


@dataclass(frozen=True)
class Entry:
    item: ItemRow
    watchlists: Sequence[str] = ()  # written as categories
    snippets: Sequence[str] = ()  # hit snippets: the summary when there are any


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k: clean_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = clean_text(text)
    return el


def _piece(el: etree._Element) -> str:
    # Elements are built without a namespace and sit inside <feed xmlns=...>, so they inherit it.
    return etree.tostring(el, encoding="unicode") + "\n"


def updated(item: ItemRow) -> datetime:
    return item.updated or item.published or item.fetched_at


def content_html(blocks: Iterable[dict]) -> str:
    """The article's blocks in page order as simple HTML (escaped here; the XML writer escapes it again)."""
    return "\n".join(_BLOCK_HTML.get(b.get("kind", ""), "<p>{}</p>").format(html.escape(b.get("text", "")))
                     for b in blocks)


def entry(e: Entry) -> str:
    i = e.item
    el = etree.Element("entry")
    _add(el, "id", f"urn:ingest:item:{i.id}")
    _add(el, "title", i.title or i.url)
    if i.url:
        _add(el, "link", rel="alternate", href=i.url)
    _add(el, "updated", iso(updated(i)))
    if i.published:
        _add(el, "published", iso(i.published))
    for name in i.authors or ():
        _add(_add(el, "author"), "name", name)
    for name in e.watchlists:
        _add(el, "category", term=name, label=f"watchlist {name}")
    summary = " … ".join(e.snippets) or (i.text or "")[:300]
    if summary:
        _add(el, "summary", summary)
    if i.blocks:
        _add(el, "content", content_html(i.blocks), type="html")
    _add(_add(el, "source"), "title", i.site_name or i.source)
    return _piece(el)


def feed(entries: Iterable[Entry], title: str, feed_id: str, when: datetime) -> Iterator[str]:
    """An Atom document in pieces: the head (feed title, id, `when` as its updated time), then one entry each."""
    yield f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="{NAMESPACE}">\n'
    head = etree.Element("head")
    _add(head, "title", title)
    _add(head, "id", feed_id)
    _add(head, "updated", iso(when))
    _add(_add(head, "author"), "name", "ingest")
    _add(head, "generator", "ingest")
    yield "".join(_piece(child) for child in head)
    for e in entries:
        yield entry(e)
    yield "</feed>\n"


def document(entries: Sequence[Entry], title: str, feed_id: str, now: datetime) -> bytes:
    """A whole feed as UTF-8 bytes, updated at its newest entry (else `now`)."""
    when = max((updated(e.item) for e in entries), default=now)
    return "".join(feed(entries, title, feed_id, when)).encode("utf-8")

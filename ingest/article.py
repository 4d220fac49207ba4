"""The structured record every stage passes along: what `extract` returns and what storage keeps.

Shaped after the seed article: a title, the lead image with its caption, then body
blocks in page order (paragraphs, sub-headings, quotes, list items and inline image
captions).  The lead image's caption, when the page shows one, is ``blocks[0]`` with
kind ``caption`` so that block indices (used by watchlist hits) cover everything a
reader sees below the title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

BlockKind = Literal["paragraph", "heading", "quote", "list_item", "caption", "table_row"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    credit: str | None = None  # photo credit split off a caption, when the page marks it


@dataclass(frozen=True)
class LeadImage:
    url: str | None
    caption: str | None = None
    credit: str | None = None


@dataclass
class Article:
    title: str | None = None
    url: str | None = None
    canonical_url: str | None = None
    published: datetime | None = None  # timezone-aware UTC
    updated: datetime | None = None  # timezone-aware UTC
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    lead_image: LeadImage | None = None
    blocks: list[Block] = field(default_factory=list)
    site_name: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    # Where each metadata value came from, e.g. {"title": "json-ld", "published": "meta"}.
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Body text: the non-caption blocks joined by blank lines (what extraction is scored on)."""
        return "\n\n".join(b.text for b in self.blocks if b.kind != "caption")

    def render_text(self) -> str:
        """The seed layout: title, blank line, then every block (lead caption first) separated by blank lines."""
        parts = [self.title or ""] + [b.text for b in self.blocks]
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Page:
    """A fetched article page, its body as sent: gzip-compressed if the server compressed it.

    It is decoded in an extraction worker rather than in the fetching process, so that process
    never holds or pickles the inflated page, and a compressed page is stored as it came.  Once
    built, the body is always compressed (gzip, or zlib when it came plain): `zlib.decompress(body, 47)`.
    """

    url: str
    content_type: str | None
    body: bytes
    encoding: str = "identity"  # Content-Encoding

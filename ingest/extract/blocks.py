"""Walking the body container in page order to typed text blocks."""

from __future__ import annotations

import re
from copy import deepcopy
from urllib.parse import urlsplit

from lxml import etree

from ingest.article import Block

from .body import own_text
from .clean import BLOCK_TAGS, class_id, class_words, drop, link_density, link_length, text_length
from .text import normalize, text_of

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# A table holding any of these is page layout, walked as blocks rather than read as rows.
_LAYOUT_IN_TABLE = BLOCK_TAGS - {"tr", "td", "th", "tbody", "thead", "tfoot", "caption"}
# Matched against class_words(): whole words of class/id tokens.
_CAPTION_CLASS = re.compile(r"caption|-(?:figure|image|photo)-text-")
_CREDIT_CLASS = re.compile(r"credit|copyright|photographer|courtesy|source|byline|attribution")
_TEXT_FIGURES = frozenset(("table", "blockquote", "pre"))
# Short lines that are widgets or labels, not prose.
_BOILERPLATE_LINE = re.compile(
    r"^(?:advertisement|advertising|sponsored|share|share this|share on \w+|tweet|email|print|comments?"
    r"|read more|read next|see also|related|related articles|related stories|more from \w+|continue reading"
    r"|sign up|subscribe|follow us.*|click here.*|loading|image|photo|video|getty images|ad|advert"
    r"|don.t miss|explore further|most read|most popular|trending|recommended|(?:last )?(?:updated|published|posted)\b.*"
    r"|(?:filed under|tags|tagged|categories|category)\s*:.*|.*\b(?:min(?:ute)?s? read|reading time)\b.*)\W*$",
    re.I)
# Short promotional lines inside the body: newsletter and subscription pitches.
_PROMO = re.compile(r"\b(?:sign up|subscribe|delivered)\b[^.]*\b(?:newsletter|inbox|letterbox)\b|\bclick here\b"
                    r"|^follow\b.*\b(?:facebook|twitter|instagram)\b", re.I)
# Copyright and reuse notices.
_LEGAL = re.compile(r"^(?:©|\(c\)\s|copyright\b)|all rights reserved|^this (?:document|material|article|content) "
                    r"(?:is subject to copyright|may not be)", re.I)
# A trailing "(Image: AGENCY)" marks a photo caption printed as a paragraph.
_CAPTION_CREDIT = re.compile(r"\((?:image|photo|picture|pic|credit|foto)s?:[^)]*\)$", re.I)

# Short lines that are page furniture in any language, recognised by shape rather than by words:
# a time or date stamp without a word ("12:30", "06.01.2012 14:05"), a date with a clock time
# ("6 января 2012, 14:05"), a "|"-separated row of short items ("Drukuj | E-mail | Kontakt"), a label with
# a count ("Komentarze (12)", "Σχόλια (3)"), font-size controls ("A+ A-", "A A A Drukuj").
_STAMP = re.compile(r"^[^\w]*(?:\d{1,2}:\d{2}|\d{1,2}\.\d{1,2}\.\d{2,4})(?:[^\w]*\d+)*[^\w]*$")
_CLOCK_DATE = re.compile(r"\b\d{1,2}:\d{2}\b.*\b(?:19|20)\d{2}\b|\b(?:19|20)\d{2}\b.*\b\d{1,2}:\d{2}\b")
_COUNT_LABEL = re.compile(r"^[^\W\d_]+(?:\s[^\W\d_]+)?\s*[(\[]\d+[)\]]$")
_FONT_SIZE = re.compile(r"^(?:[AaАа][+-]?\s*){2,}(?:\s\w+)?$")
_MENU_ROW = re.compile(r"^[^|\d]{1,30}(?:\|[^|\d]{1,30}){2,}$")


def _is_widget_line(text: str) -> bool:
    """A short paragraph shaped like furniture (see above), whatever its language."""
    if len(text) > 80:
        return False
    return bool(_STAMP.match(text) or _CLOCK_DATE.search(text) and len(text.split()) <= 10
                or _MENU_ROW.match(text) or _COUNT_LABEL.match(text) or _FONT_SIZE.match(text))


# Contact lines and bare links: e-mail addresses, URLs, handles.
_ADDRESSES = re.compile(r"\S+@\S+|https?://\S+|(?:www\.|twitter\.com/|facebook\.com/)\S+|@\w+")
_PHOTO_CREDIT_LINE = re.compile(r"^(?:photo|photograph|image|picture|credit|foto)s?\s*:", re.I)


def is_caption(el: etree._Element) -> bool:
    return el.tag in ("figcaption", "caption") or bool(_CAPTION_CLASS.search(class_words(class_id(el))))


def figure_caption(el: etree._Element) -> etree._Element | None:
    """The caption of a figure (or el itself when it is one); None when the figure has none (left)."""
    if is_caption(el):
        return el
    return next((c for c in el.iterdescendants(etree.Element) if is_caption(c)), None)


def _figure_content(figure: etree._Element) -> bool:
    """A figure whose captioned content is text (a table, a pull quote, code), walked whole: the caption alone
    stands for the figure only when the rest is an image."""
    return any(d.tag in _TEXT_FIGURES for d in figure.iterdescendants(etree.Element))


def _is_block(el: etree._Element) -> bool:
    """Block-level for the walk: block tags, and inline captions (a <span class=caption> under a photo)."""
    return isinstance(el.tag, str) and (el.tag in BLOCK_TAGS or is_caption(el))


def caption_block(el: etree._Element) -> Block | None:
    """A caption with its credit split off when the page marks it in its own element."""
    copy = deepcopy(el)
    credits = [c for c in copy.iterdescendants(etree.Element) if _CREDIT_CLASS.search(class_words(class_id(c)))]
    credits = [c for c in credits if not any(a in credits for a in c.iterancestors())]
    credit = normalize(" ".join(text_of(c) for c in credits)) or None
    for c in credits:
        drop(c)
    text = normalize(text_of(copy))
    if not text:
        return Block("caption", credit) if credit else None
    return Block("caption", text, credit)


def _max_link_density(tag: str, text: str) -> float:
    """Prose paragraphs may be link-heavy; short link items and headings are navigation."""
    if tag in _HEADINGS:
        return 1.0
    return 0.8 if tag == "p" or len(text) >= 150 else 0.5


def _is_prose(text: str) -> bool:
    """False for empty text, widget labels ("Share", "Advertisement"), promos and bare contact/link lines."""
    if not text or (len(text) < 40 and _BOILERPLATE_LINE.match(text)):
        return False
    if len(text) < 250 and _PROMO.search(text) or len(text) < 400 and _LEGAL.search(text):
        return False
    return len(text) > 150 or len(_ADDRESSES.sub("", text).split()) >= 2 or not _ADDRESSES.search(text)


def _too_many_links(el: etree._Element, text: str) -> bool:
    """Mostly links for its kind. A list item is judged with its list: in a list that is not mostly links (a
    checklist, books with their authors), an item that is all link ("Tent", a title) is content; in a menu
    every item is a link anyway."""
    if link_density(el) <= _max_link_density(el.tag, text):
        return False
    parent = el.getparent()
    return el.tag != "li" or parent is None or _visible_link_share(parent) > _LINK_LIST_DENSITY


def _visible_link_share(el: etree._Element) -> float:
    """Share of el's visible characters in links; the spaces between a menu's items are not text outside
    its links."""
    text = len("".join(text_of(el).split()))
    links = sum(len("".join(text_of(a).split())) for a in el.iter("a"))
    return min(1.0, links / text) if text else 1.0


def _only_a_date(el: etree._Element, text: str) -> bool:
    """A block that is nothing but a <time> element's text ("10 June 2022"): the date, not body text."""
    times = list(el.iter("time"))
    return bool(times) and normalize(" ".join(text_of(t) for t in times)) == text


_LINK_LIST_ITEMS, _LINK_LIST_DENSITY, _PROSE_ITEM = 3, 0.6, 200


def _is_link_list(el: etree._Element) -> bool:
    """A block of several items that are mostly links, none holding a paragraph of other text: a "see also"
    or teaser list under a body, in any language."""
    items = [c for c in el if isinstance(c.tag, str) and c.find(".//a") is not None]
    if len(items) < _LINK_LIST_ITEMS or link_density(el) <= _LINK_LIST_DENSITY:
        return False
    return not any(len(own_text(d, links=False).strip()) >= _PROSE_ITEM for d in el.iter(etree.Element))


_TEASER_CHARS, _TITLE_CHARS = 600, 150
_BODY_BEFORE_TEASERS = 500  # a page that is a list of teasers (an events page) keeps them


def _same_site(href: str | None, host: str | None) -> bool:
    """A link to another page of this site: relative, or to the page's own host (a listicle's linked headings
    lead elsewhere)."""
    href = (href or "").strip()
    if not href or href.startswith("#") or href.lower().startswith("javascript:"):
        return False  # a control or a jump within this page (an FAQ's question), not another page
    try:
        link_host = urlsplit(href).hostname
    except ValueError:  # a malformed address ("http://[x") leads nowhere on this site
        return False
    return link_host is None or host is not None and link_host.removeprefix("www.") == host


def _is_teaser(el: etree._Element, host: str | None) -> bool:
    """A card announcing another page of the site: a short block led by a title that is all link (a heading,
    or the card's first line of text)."""
    if el.find(".//a") is None or text_length(el) >= _TEASER_CHARS:
        return False
    title = next(el.iter(*_HEADINGS), None)
    if title is None:
        title = next((c for c in el if isinstance(c.tag, str) and text_of(c).strip()), None)
        if title is None or title.tag not in BLOCK_TAGS or len(text_of(title).strip()) >= _TITLE_CHARS:
            return False
    links = list(title.iter("a"))
    return bool(links) and link_density(title) >= 0.9 and all(_same_site(a.get("href"), host) for a in links)


def _is_teaser_list(el: etree._Element, host: str | None) -> bool:
    """Two or more teaser cards making most of a block: headlines of other stories with their summaries."""
    items = [c for c in el if isinstance(c.tag, str) and c.tag not in _HEADINGS]
    teasers = sum(1 for c in items if _is_teaser(c, host))
    return teasers >= 2 and teasers * 3 >= sum(1 for c in items if text_of(c).strip()) * 2


class _Walker:
    def __init__(self, caption_xpath: etree.XPath | None, host: str | None) -> None:
        self.blocks: list[Block] = []
        self._counted = self._chars = 0
        self.host = host
        self.caption_xpath = caption_xpath
        self.rule_captions: set = set()

    def run(self, container: etree._Element) -> None:
        if self.caption_xpath is not None:
            self.rule_captions = set(self.caption_xpath(container))
        self.walk(container, "paragraph")

    def _emitted(self) -> int:
        """Characters emitted so far (counted once per block)."""
        for block in self.blocks[self._counted:]:
            self._chars += len(block.text)
        self._counted = len(self.blocks)
        return self._chars

    def emit(self, kind: str, text: str, el: etree._Element) -> None:
        """One leaf element's text as a block, unless it is a label, a promo or mostly links."""
        text = normalize(text)
        if not _is_prose(text) or _too_many_links(el, text) or _only_a_date(el, text):
            return
        if kind == "paragraph" and _is_widget_line(text):
            return
        if len(text) < 250 and (_PHOTO_CREDIT_LINE.match(text) or _CAPTION_CREDIT.search(text)):
            kind = "caption"
        self.blocks.append(Block(kind, text))

    def walk(self, el: etree._Element, kind: str) -> None:
        tag = el.tag
        if el in self.rule_captions or (not self.rule_captions and is_caption(el)):
            block = caption_block(el)
            if block:
                self.blocks.append(block)
            return
        if tag == "figure":
            caption = figure_caption(el)
            if caption is not None and not _figure_content(el):
                self.walk(caption, kind)  # the rest of a figure is the image itself
                return
        if tag in _HEADINGS:
            kind = "heading"
        elif tag == "blockquote":
            kind = "quote"
        elif tag in ("li", "dd", "dt"):
            kind = "list_item"
        elif tag == "table" and not any(d.tag in _LAYOUT_IN_TABLE for d in el.iterdescendants(etree.Element)):
            self.table(el)
            return
        if not any(_is_block(c) for c in el):
            self.emit(kind, text_of(el), el)
            return
        if _is_link_list(el) or self._emitted() >= _BODY_BEFORE_TEASERS and _is_teaser_list(el, self.host):
            return
        run, run_links = [el.text or ""], 0
        for child in el:
            if _is_block(child):
                self._flush(run, run_links, kind)
                self.walk(child, kind)
                run, run_links = [], 0
            elif isinstance(child.tag, str):
                run.append(text_of(child))
                run_links += link_length(child)
            run.append(child.tail or "")
        self._flush(run, run_links, kind)

    def _flush(self, run: list[str], link_chars: int, kind: str) -> None:
        """Loose text between block children (e.g. a body of <br>-separated lines) is a paragraph."""
        text = normalize("".join(run))
        if not _is_prose(text) or link_chars > _max_link_density("", text) * len(text):
            return
        if kind in ("paragraph", "heading") and _is_widget_line(text):
            return
        self.blocks.append(Block("paragraph" if kind == "heading" else kind, text))

    def table(self, el: etree._Element) -> None:
        for row in el.iter("tr"):
            cells = [normalize(text_of(c)) for c in row if c.tag in ("td", "th")]
            text = " | ".join(c for c in cells if c)
            if text:
                self.blocks.append(Block("table_row", text))
        for caption in el.iter("caption"):
            self.walk(caption, "caption")


def walk_blocks(containers: list[etree._Element], caption_xpath: etree.XPath | None = None,
                url: str | None = None) -> list[Block]:
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:
        host = None
    walker = _Walker(caption_xpath, host.removeprefix("www.") if host else None)
    for container in containers:
        walker.run(container)
    return _before_thread(_first_copies(walker.blocks))


_MIN_COPY_RUN = 3


def _first_copies(blocks: list[Block]) -> list[Block]:
    """The blocks without a run of three or more different lines that repeats an earlier run line for line: the
    body printed twice (a print layer, a hidden copy) or a widget rendered more than once. A repeated line stays."""
    first: dict[str, int] = {}
    kept, i = [], 0
    while i < len(blocks):
        j = first.get(blocks[i].text)
        if j is not None:
            n = 0
            while i + n < len(blocks) and j + n < i and blocks[i + n].text == blocks[j + n].text:
                n += 1
            if len({b.text for b in blocks[i:i + n]}) >= _MIN_COPY_RUN:
                i += n
                continue
        first.setdefault(blocks[i].text, i)
        kept.append(blocks[i])
        i += 1
    return kept


_MIN_BODY_BEFORE_THREAD = 250
_LABEL_CHARS, _MAX_LABELS = 50, 5  # a longer run of short lines is data (a table laid out in divs)
_SENTENCE_END = re.compile(r"[.!?。！？…\"”»)]\W*$")


def without_trailing_labels(blocks: list[Block]) -> list[Block]:
    """The body without the run of short lines that are no sentences at its end ("See also:", "Print", a
    section name): labels of the page's furniture, in any language. For a body the scorer found; a site
    rule's body is taken as it is."""
    end = len(blocks)
    while end > 0 and blocks[end - 1].kind in ("paragraph", "heading") \
            and len(blocks[end - 1].text) < _LABEL_CHARS and not _SENTENCE_END.search(blocks[end - 1].text):
        end -= 1
    return blocks[:end] if end and len(blocks) - end <= _MAX_LABELS else blocks


def _before_thread(blocks: list[Block]) -> list[Block]:
    """The blocks before a heading that counts items ("Komentarze (8)", "Comments (12)", "Σχόλια (3)") once a
    body precedes it: what follows such a heading is the comment thread, in any language."""
    seen = 0
    for i, block in enumerate(blocks):
        if block.kind == "heading" and seen >= _MIN_BODY_BEFORE_THREAD and _COUNT_LABEL.match(block.text):
            return blocks[:i]
        seen += len(block.text)
    return blocks

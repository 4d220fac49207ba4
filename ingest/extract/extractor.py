"""HTML to Article: parse, read metadata, drop furniture, find the body, walk it to blocks."""

from __future__ import annotations

import re
import threading

from lxml import etree

from ingest.article import Article, Block, LeadImage
from ingest.text import clean_text
from ingest.urls import web_url

from .blocks import caption_block, figure_caption, walk_blocks, without_trailing_labels
from .body import find_containers
from .clean import drop, drop_furniture, drop_junk, in_furniture
from .errorpage import is_error_page
from .language import contradicted, detect
from .metadata import Metadata, extract_metadata, h1s, parse_date
from .rules import SiteRules, compile_selector
from .text import normalize, text_of

# Bytes lxml parses but refuses in text it is given back (setting a tail while dropping an element): C0 controls
# (never part of a multi-byte UTF-8 sequence) and U+FFFE/U+FFFF. Lone surrogates are dropped when encoding.
_C0_CONTROLS = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
_BLANK = re.compile(rb"\s*\Z")
_MIN_BODY_CHARS = 250  # below this the strict pass probably cut the body; retry leniently
_local = threading.local()


def _parse(html: str) -> etree._Element | None:
    """The page's tree, parsed from UTF-8 bytes cleaned in C.

    Bytes, not the str: a regular expression over the page's text cost a twentieth of extraction, and lxml
    takes UTF-8 as it is (the parser's encoding wins over an XML declaration or a <meta charset>).
    """
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.HTMLParser(remove_comments=True, remove_pis=True, encoding="utf-8")
    data = html.encode("utf-8", "ignore").translate(None, _C0_CONTROLS)
    for nonchar in _NONCHARACTERS:
        if nonchar in data:
            data = data.replace(nonchar, b"")
    if _BLANK.match(data):
        return None
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.LxmlError, ValueError):
        return None
    return root if root is not None and isinstance(root.tag, str) else None


def _lead_figures(root: etree._Element) -> list[etree._Element]:
    """Captioned figures outside page furniture, in page order (recorded before furniture is dropped)."""
    found = []
    for el in root.iter("figure", "figcaption"):
        if el.tag == "figcaption" and any(a.tag == "figure" for a in el.iterancestors()):
            continue
        if el.tag == "figure" and figure_caption(el) is None:
            continue
        if not in_furniture(el):
            found.append(el)
    return found


def _headline(root: etree._Element, title: str | None) -> etree._Element | None:
    """The h1 showing the article title (not a logo h1 in the site header)."""
    if not title:
        return None
    key = title.casefold()
    for h1 in h1s(root):
        text = normalize(text_of(h1)).casefold()
        if text and (text in key or key in text):
            return h1
    return None


def _body_blocks(root: etree._Element, rules: SiteRules | None, strict: bool, url: str | None,
                 headline: etree._Element | None = None) -> tuple[list, list[Block]]:
    if rules and rules.remove:
        for sel in rules.remove:
            for el in compile_selector(sel)(root):
                drop(el)
    containers = compile_selector(rules.body)(root) if rules and rules.body else []
    caption_xpath = compile_selector(rules.caption) if rules and rules.caption else None
    if containers:
        return containers, walk_blocks(containers, caption_xpath, url)
    if strict:
        drop_furniture(root, headline)
    containers = find_containers(root, headline)
    return containers, without_trailing_labels(walk_blocks(containers, caption_xpath, url))


def _body_length(blocks: list[Block]) -> int:
    return sum(len(b.text) for b in blocks if b.kind != "caption")


def extract(html: str, url: str | None = None, rules: SiteRules | None = None) -> Article:
    """Structured article from a page's HTML; pure (no I/O), never raises on bad markup."""
    root = _parse(html)
    if root is None:
        return Article(url=url)
    meta = extract_metadata(root, url)
    if rules and rules.date:
        _rule_date(root, rules.date, meta)
    drop_junk(root)
    h1 = _headline(root, meta.values.get("title"))
    figures = _lead_figures(root)
    containers, blocks = _body_blocks(root, rules, strict=True, url=url, headline=h1)
    if _body_length(blocks) < _MIN_BODY_CHARS:
        lenient_root = _parse(html)
        drop_junk(lenient_root)
        lenient_containers, lenient_blocks = _body_blocks(lenient_root, rules, strict=False, url=url)
        if _body_length(lenient_blocks) > _body_length(blocks):
            containers, blocks = lenient_containers, lenient_blocks
            figures = []  # they belong to the first tree
    if is_error_page(root, _body_length(blocks)):
        return Article(url=url)  # a "not found" page sent as 200: no article, so the feed's content is used
    title = meta.values.get("title")
    blocks = _drop_title(blocks, title)
    lead_figure = _lead_figure(root, containers, figures, h1, blocks)
    if lead_figure is not None:
        lead = caption_block(figure_caption(lead_figure))
        blocks = [lead, *blocks] if lead else blocks
        containers = [lead_figure, *containers]  # its image is the lead image when metadata names none
    return _article(meta, blocks, url, containers)


def _rule_date(root: etree._Element, selector: str, meta: Metadata) -> None:
    for el in compile_selector(selector)(root):
        dt = parse_date(el.get("datetime") or el.get("content") or normalize(text_of(el)))
        if dt:
            meta.values["published"], meta.sources["published"] = dt, "rule"
            return


def _drop_title(blocks: list[Block], title: str | None) -> list[Block]:
    if not title:
        return blocks
    key = title.casefold()
    return [b for b in blocks if not (b.kind in ("heading", "paragraph") and b.text.casefold() == key)]


def _lead_figure(root, containers, figures, h1, blocks) -> etree._Element | None:
    """The captioned figure shown between the headline and the body, when the body does not start with one."""
    if not containers or not figures or (blocks and blocks[0].kind == "caption"):
        return None
    order = _page_order(root, {containers[0], h1, *figures})
    body_start = order.get(containers[0])
    if body_start is None:
        return None
    container_ids = set(containers)
    h1_at = order.get(h1, -1) if h1 is not None and order.get(h1, 1 << 30) < body_start else None
    scope = containers[0].getparent()
    best = None
    for fig in figures:
        at = order.get(fig)  # None when it was dropped with the furniture
        if at is None or at >= body_start or any(a in container_ids for a in fig.iterancestors()):
            continue
        if figure_caption(fig) is None:  # its caption was hidden, so dropped
            continue
        if h1_at is not None and at > h1_at or h1_at is None and scope is not None and scope in fig.iterancestors():
            best = fig
    return best


def _page_order(root: etree._Element, wanted: set) -> dict:
    """Page positions of a few elements still in the tree.

    Only those: a dict holding a proxy for every element made dropping a large subtree quadratic
    (lxml frees each proxy of a detached subtree by walking the subtree).
    """
    return {el: i for i, el in enumerate(root.iter(etree.Element)) if el in wanted}


def _first_image(containers: list[etree._Element], url: str | None) -> str | None:
    """The body's first image as an absolute http(s) URL, as the metadata's image is (no data: or javascript:)."""
    for container in containers:
        for img in container.iter("img"):
            if src := web_url(img.get("src") or img.get("data-src"), url):
                return src
    return None


def _clean(value: str | None) -> str | None:
    return (clean_text(value).strip() or None) if value else None


def _clean_blocks(blocks: list[Block]) -> list[Block]:
    """Blocks without control characters; one left empty by that is dropped."""
    return [Block(b.kind, text, _clean(b.credit)) for b in blocks if (text := _clean(b.text))]


def _article(meta: Metadata, blocks: list[Block], url: str | None, containers) -> Article:
    """The record, its text cleaned of control characters here, once (`ingest.text`)."""
    values, sources = meta.values, dict(meta.sources)
    blocks = _clean_blocks(blocks)
    image = values.get("image")
    if image is None:
        image = _first_image(containers, url)
        if image:
            sources["image"] = "figure"
    language = _language(values.get("language"), sources, " ".join(b.text for b in blocks))
    lead_caption = blocks[0] if blocks and blocks[0].kind == "caption" else None
    lead = None
    if image or lead_caption:
        lead = LeadImage(image, lead_caption.text if lead_caption else None,
                         lead_caption.credit if lead_caption else None)
    return Article(
        title=_clean(values.get("title")), url=url, canonical_url=values.get("canonical"),
        published=values.get("published"), updated=values.get("updated"),
        authors=_clean_all(values.get("authors", [])), language=language, lead_image=lead,
        blocks=blocks, site_name=_clean(values.get("site_name")), section=_clean(values.get("section")),
        tags=_clean_all(values.get("tags", [])), sources=sources)


def _language(declared: str | None, sources: dict[str, str], text: str) -> str | None:
    """The declared language, else the detected one. `<html lang>`, the page template's default, gives way
    when the text plainly reads as another language; the source then says what was declared."""
    if declared is None:
        if language := detect(text):
            sources["language"] = "detected"
        return language
    if sources.get("language") == "html" and (language := contradicted(declared, text)):
        sources["language"] = f"detected (html: {declared})"
        return language
    return declared


def _clean_all(values: list[str]) -> list[str]:
    return list(dict.fromkeys(filter(None, map(_clean, values))))

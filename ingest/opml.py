"""OPML import and export of feed subscriptions.

A source's category is the path of the outlines around it joined by "/" ("News/Caucasus"),
else the OPML `category` attribute's first path; export nests outlines by that path again.
Parsing never fetches or expands external entities, and a document that declares entities
is refused: subscription lists have no use for them, hostile ones do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from ingest.text import clean_text

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # legal in XML as &#127; or &#x85;, never in a URL


@dataclass(frozen=True)
class OpmlSource:
    name: str
    xml_url: str
    html_url: str | None = None
    category: str | None = None


def parse_opml(data: bytes, where: str) -> list[OpmlSource]:
    """The feeds in an OPML document, in document order; `where` names it in error messages."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"{where}: not well-formed XML: {e}") from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ValueError(f"{where}: entity declarations are not allowed in OPML")
    if root.tag != "opml":
        raise ValueError(f"{where}: not an OPML document (root element <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise ValueError(f"{where}: OPML document without <body>")
    sources: list[OpmlSource] = []
    _collect(body, [], where, sources)
    return sources


def _collect(parent: etree._Element, path: list[str], where: str, out: list[OpmlSource]) -> None:
    for outline in parent.iterchildren("outline"):
        label = (outline.get("title") or outline.get("text") or "").strip()
        xml_url = (outline.get("xmlUrl") or "").strip()
        if xml_url:
            if not xml_url.lower().startswith(("http://", "https://")):
                raise ValueError(f"{where}: line {outline.sourceline}: xmlUrl {xml_url!r} is not an http(s) URL")
            if _CONTROL.search(xml_url):
                raise ValueError(f"{where}: line {outline.sourceline}: xmlUrl {xml_url!r} holds a control character")
            category = "/".join(path) or _category_attribute(outline.get("category"))
            out.append(OpmlSource(label or xml_url, xml_url, (outline.get("htmlUrl") or "").strip() or None, category))
        _collect(outline, [*path, label] if label else path, where, out)


def _category_attribute(value: str | None) -> str | None:
    """OPML 2.0: comma-separated slash-delimited paths; we keep the first."""
    first = (value or "").split(",")[0].strip().strip("/")
    return first or None


def to_opml(sources: Iterable[OpmlSource], title: str = "ingest sources") -> str:
    """An OPML 2.0 document with the sources nested by category."""
    root = etree.Element("opml", version="2.0")
    etree.SubElement(etree.SubElement(root, "head"), "title").text = clean_text(title)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for source in sources:
        parent = _folder(folders, tuple(p for p in (source.category or "").split("/") if p))
        attrs = {"type": "rss", "text": source.name, "title": source.name, "xmlUrl": source.xml_url}
        if source.html_url:
            attrs["htmlUrl"] = source.html_url
        etree.SubElement(parent, "outline", {k: clean_text(v) for k, v in attrs.items()})
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode", pretty_print=True)


def _folder(folders: dict[tuple[str, ...], etree._Element], path: tuple[str, ...]) -> etree._Element:
    if path not in folders:
        name = clean_text(path[-1])
        folders[path] = etree.SubElement(_folder(folders, path[:-1]), "outline", text=name, title=name)
    return folders[path]

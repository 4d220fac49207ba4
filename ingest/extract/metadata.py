"""Article metadata from JSON-LD, OpenGraph, <meta>, <time> and the byline, each with its source."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterator

from lxml import etree

from ingest.urls import web_url

from .text import normalize, text_of

# JSON-LD types that describe the page's article; any type ending in "article" or "posting" counts too.
_ARTICLE_TYPES = {"report", "claimreview", "review", "webpage"}
_DATE_META = ("article:published_time", "article:published", "og:published_time", "datepublished", "pubdate", "publishdate",
              "publish-date", "date", "dc.date", "dc.date.issued", "dcterms.created", "dcterms.issued",
              "sailthru.date", "parsely-pub-date", "citation_publication_date", "originalpublicationdate")
_UPDATED_META = ("article:modified_time", "article:modified", "og:updated_time", "datemodified", "dcterms.modified", "last-modified")
_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author", "byl")
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»)\s+")
# "By", "Analysis by", "Von": what precedes the names in a byline.
_BY = re.compile(r"^\s*(?:[\w-]+\s+)?(?:by|von|par|por|di|door|av|af)\s*[:\s]\s*", re.I)
_BY_WORDS = {"by", "von", "par", "por", "di", "door", "av", "af"}
_NAME_PARTICLES = {"van", "von", "de", "der", "den", "da", "das", "do", "dos", "di", "du", "la", "le", "bin", "al",
                   "el", "ter", "zu", "y"}
# Name separators; the one-letter conjunctions only in lower case ("Sarah E. Needleman" is one name).
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|&|\b(?i:and|und)\b|\s(?:et|y|e)\s)\s*")
_NOT_A_NAME = re.compile(
    r"https?://|@|\d|\b(?:updated|published|posted|staff|min read|ago|writer|editor|editor-at-large|"
    r"correspondent|reporter|contributor|columnist|view more|more articles|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|january|february|march|april|june|july|august|september|october|"
    r"november|december)\b", re.I)
# Degrees and credentials after a name: "Jane Doe, MS, RDN".
_CREDENTIAL = re.compile(r"^(?:[A-Z]{2,4}|Ph\.?D|M\.?D|Jr|Sr|I{2,3}|Esq)\.?$")


@dataclass
class Metadata:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def offer(self, key: str, value: Any, source: str) -> None:
        """Keep the first usable value: callers offer sources from most to least trusted."""
        if key not in self.values and value not in (None, "", [], ()):
            self.values[key] = value
            self.sources[key] = source


def parse_date(value: Any) -> datetime | None:
    """ISO 8601 or RFC 2822 to aware UTC; a date without zone is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    dt = None
    iso = re.match(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?)?", text)
    if iso:
        candidate = iso.group(0).replace(" Z", "Z").replace(",", ".")
        candidate = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", candidate)
        try:
            dt = datetime.fromisoformat(candidate)
        except ValueError:
            dt = None
    if dt is None:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def split_authors(text: str) -> list[str]:
    """'By Jane Doe and John Roe' -> ['Jane Doe', 'John Roe']."""
    text = _BY.sub("", normalize(text))
    text = re.split(r"\s+[|·•]\s+|\n", text)[0]
    names = []
    for part in _AUTHOR_SPLIT.split(text):
        part = _BY.sub("", part).strip(" .:")
        if (part and len(part) <= 60 and _name_like(part) and not _NOT_A_NAME.search(part) and not (names and _CREDENTIAL.match(part))
                and part not in names):
            names.append(part)
    return names


def _name_like(part: str) -> bool:
    """Rejects prose fragments: a multi-word name has no lower-case words beyond particles (van, de, bin)."""
    words = part.split()
    if len(words) == 1:
        return part.casefold() not in _BY_WORDS
    return all(not w[0].islower() or w in _NAME_PARTICLES for w in words)


def strip_title(title: str, site_name: str | None) -> str:
    """Drop ' | Site' / ' - Site' suffixes (and such prefixes when they name the site)."""
    title = normalize(title)
    seps = list(TITLE_SEPARATORS.finditer(title))
    if not seps:
        return title
    head, tail = title[: seps[-1].start()], title[seps[-1].end():]
    site = (site_name or "").casefold()
    if site and site in tail.casefold():
        return head
    if site and title[: seps[0].start()].casefold() == site:
        return title[seps[0].end():]
    pipe = seps[-1].group().strip() not in {"-", "–", "—"}
    if _looks_like_a_name(tail, max_words=6 if pipe else 4) and (pipe or len(head.split()) >= 3):
        return head
    return title


def _looks_like_a_name(text: str, max_words: int) -> bool:
    """'The Daily Example', 'BBC News', 'example.com' -- not 'and what happened next'."""
    words = text.split()
    return 0 < len(words) <= max_words and ("." in text or all(not w[0].isalpha() or w[0].isupper() or
                                                                 w in {"of", "the", "and", "for", "on"}
                                                                 for w in words))


def _json_ld_objects(root: etree._Element) -> list[dict]:
    found: list[dict] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            found.append(node)
            walk(node.get("@graph"))
            walk(node.get("mainEntity"))

    for script in root.iterfind(".//script[@type='application/ld+json']"):
        text = script.text or ""
        try:
            walk(json.loads(text, strict=False))
        except ValueError:
            try:  # hand-written JSON-LD often has trailing commas
                walk(json.loads(_TRAILING_COMMA.sub(r"\1", text), strict=False))
            except ValueError:
                continue
        except RecursionError:
            continue
    return found


def _types(obj: dict) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.casefold() for k in kinds if isinstance(k, str)}


def _is_article(obj: dict) -> bool:
    return any(t in _ARTICLE_TYPES or t.endswith(("article", "posting")) for t in _types(obj))


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list):
        value = value[0] if value else None
    return normalize(value) if isinstance(value, str) else None


def _url(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("@id") or value.get("contentUrl")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _keywords(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return list(dict.fromkeys(normalize(str(k)) for k in items if str(k).strip()))


def _from_json_ld(root: etree._Element, meta: Metadata) -> None:
    objs = [o for o in _json_ld_objects(root) if _is_article(o)]
    objs.sort(key=lambda o: "webpage" in _types(o))  # a WebPage is the weakest article record
    for obj in objs:
        meta.offer("title", _name(obj.get("headline")) or None, "json-ld")
        meta.offer("published", parse_date(obj.get("datePublished") or obj.get("dateCreated")), "json-ld")
        meta.offer("updated", parse_date(obj.get("dateModified")), "json-ld")
        authors = obj.get("author") or obj.get("creator")
        authors = authors if isinstance(authors, list) else [authors]
        names = [n for a in authors for n in split_authors(_name(a) or "")]
        meta.offer("authors", list(dict.fromkeys(names)), "json-ld")
        meta.offer("language", _name(obj.get("inLanguage")), "json-ld")
        meta.offer("image", _url(obj.get("image") or obj.get("thumbnailUrl")), "json-ld")
        meta.offer("site_name", _name(obj.get("publisher")), "json-ld")
        meta.offer("section", _name(obj.get("articleSection")), "json-ld")
        meta.offer("tags", _keywords(obj.get("keywords")), "json-ld")


def _meta_tags(root: etree._Element) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for el in root.iterfind(".//meta"):
        content = (el.get("content") or "").strip()
        if not content:
            continue
        keys = f"{el.get('property', '')} {el.get('name', '')} {el.get('itemprop', '')} {el.get('http-equiv', '')}"
        for key in dict.fromkeys(keys.casefold().split()):
            tags.setdefault(key, []).append(content)
    return tags


def _first(tags: dict[str, list[str]], *keys: str) -> tuple[str | None, str | None]:
    for key in keys:
        if key in tags:
            return tags[key][0], key
    return None, None


def _source(key: str | None) -> str:
    return "og" if key and key.startswith(("og:", "article:")) else "meta"


def _from_meta(tags: dict[str, list[str]], meta: Metadata) -> None:
    for field_name, keys in (("title", ("og:title",)), ("title", ("twitter:title", "dc.title", "headline")),
                             ("site_name", ("og:site_name", "application-name")),
                             ("image", ("og:image", "og:image:url", "og:image:secure_url", "twitter:image")),
                             ("section", ("article:section", "section")),
                             ("canonical", ("og:url",))):
        value, key = _first(tags, *keys)
        meta.offer(field_name, normalize(value) if value else None, _source(key))
    for field_name, keys in (("published", _DATE_META), ("updated", _UPDATED_META)):
        for key in keys:
            dt = parse_date(tags[key][0]) if key in tags else None
            if dt:
                meta.offer(field_name, dt, _source(key))
                break
    if "article:tag" in tags:
        meta.offer("tags", _keywords(tags["article:tag"]), "og")
    value, key = _first(tags, "news_keywords", "keywords")
    meta.offer("tags", _keywords(value), "meta")
    value, key = _first(tags, *_AUTHOR_META)
    meta.offer("authors", split_authors(value) if value else None, _source(key))
    value, key = _first(tags, "content-language", "language", "dc.language")
    meta.offer("language", value, "meta")
    value, key = _first(tags, "og:locale")
    meta.offer("language", value, "og")


# Along the attribute axis from <body> down: libxml2 tests a predicate on every element (0.18 s on a page of
# 10^5 bare links) but lists the few attributes of each faster, and "//body" walks the page once more first.
_BYLINE_CANDIDATES = etree.XPath(
    "(descendant::*/@class[contains(.,'byline') or contains(.,'author') or contains(.,'Author')]"
    " | descendant::*/@rel[.='author'] | descendant::*/@itemprop[.='author'])/..")


def _byline(root: etree._Element) -> list[str]:
    """Names from the visible byline: rel/itemprop author, or an element classed byline/author."""
    body = root.find("body")
    for el in _BYLINE_CANDIDATES(body) if body is not None else ():
        if el.tag in {"meta", "link", "script"} or _in_comments_or_form(el):
            continue
        text = normalize(" ".join(el.itertext()))
        names = [n for n in split_authors(text) if len(n.split()) <= 5] if len(text) <= 100 else []
        if names:
            return names
    return []


def _in_comments_or_form(el: etree._Element) -> bool:
    """Comment threads and their forms have "author" fields too (commenters' names, "Name (required)")."""
    return any(a.tag == "form" or "comment" in f"{a.get('class', '')} {a.get('id', '')}".lower()
               for a in (el, *el.iterancestors()))


def _time_element(root: etree._Element) -> datetime | None:
    times = [t for t in root.iter("time") if t.get("datetime") is not None]  # iter filters in C, XPath did not
    times.sort(key=lambda t: not (t.get("pubdate") is not None or t.get("itemprop") == "datePublished"))
    for el in times:
        dt = parse_date(el.get("datetime"))
        if dt:
            return dt
    return None


def _headline_h1(root: etree._Element, title_tag: str, site_name: str | None) -> str | None:
    """The first h1 that <title> confirms: a site banner or section name in an h1 is not the headline.

    With a <title>, an h1 counts only when its text is in the title once the site's name is stripped,
    and is at least half of it (not a fragment such as a section name); without one, the first h1.
    """
    headline = strip_title(title_tag, site_name).casefold() if title_tag else ""
    for h1 in h1s(root):
        text = normalize(text_of(h1))
        if text and (not title_tag or text.casefold() in headline and 2 * len(text) >= len(headline)
                     or headline and headline in text.casefold()):
            return text
    return None


def h1s(root: etree._Element) -> Iterator[etree._Element]:
    """The page's h1 elements, found in C (".//body//h1" walked the whole page in Python's ElementPath first)."""
    body = root.find("body")
    return body.iter("h1") if body is not None else iter(())


def primary_language(value: str | None) -> str | None:
    """'en_US' / 'EN-us' -> 'en' (the primary subtag is what filtering and routing need); a charset put
    where the language goes ("utf-8": a digit subtag no language tag has) is no language."""
    if not value:
        return None
    subtags = re.split(r"[-_\s,;]", value.strip())
    primary = subtags[0].casefold()
    if any(tag.isdigit() and len(tag) != 3 for tag in subtags[1:]):
        return None
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def extract_metadata(root: etree._Element, url: str | None) -> Metadata:
    meta = Metadata()
    html_lang = primary_language(root.get("lang") or root.get("xml:lang"))
    meta.offer("language", html_lang, "html")
    for el in root.iterfind(".//link[@rel='canonical']"):
        meta.offer("canonical", el.get("href", "").strip(), "link")
    _from_json_ld(root, meta)
    tags = _meta_tags(root)
    _from_meta(tags, meta)
    # The page-wide searches only when a better source left the field empty: they were half the metadata's cost.
    if "published" not in meta.values:
        meta.offer("published", _time_element(root), "time")
    if "authors" not in meta.values:
        meta.offer("authors", _byline(root), "byline")
    title_el = root.find(".//title")
    title_tag = normalize(text_of(title_el)) if title_el is not None else ""
    meta.offer("title", _headline_h1(root, title_tag, meta.values.get("site_name")), "h1")
    meta.offer("title", title_tag, "title")
    if "title" in meta.values:
        meta.values["title"] = strip_title(meta.values["title"], meta.values.get("site_name"))
    if "language" in meta.values:
        meta.values["language"] = primary_language(meta.values["language"])
    for key in ("canonical", "image"):
        if key in meta.values:
            meta.values[key] = web_url(meta.values[key], url)
    return meta

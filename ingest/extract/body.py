"""Finding the body container: readability-style paragraph scores propagated to ancestors."""

from __future__ import annotations

import re
from collections import defaultdict

from lxml import etree

from .clean import BLOCK_TAGS, class_id, link_density, link_length, name_signals, text_length
from .text import text_of

_COMMAS = re.compile(r"[,，、،]")
_NOT_WORDS = re.compile(r"\W+")
_TAG_BONUS = {"div": 5, "article": 10, "section": 3, "main": 5, "pre": 3, "td": 3, "blockquote": 3,
              "form": -3, "ol": -3, "ul": -3, "li": -3, "dl": -3, "dd": -3, "dt": -3, "th": -5,
              "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5}
_MIN_PARAGRAPH = 25
_MIN_PEERS = 2  # a lone look-alike sibling is as often a neighbouring story
_PARAGRAPHS = frozenset("p pre blockquote li dd td".split())
# Widening to a prose holder: what an ancestor adds must be this share prose and at most this share links,
# and add this much prose (relative to top, and in characters).
_PROSE_SHARE, _LINK_SHARE, _MIN_GROWTH, _MIN_ADDED = 0.6, 0.15, 0.6, 200
_SCORED = frozenset("p pre td blockquote div section article main li dd".split())


def own_text(el: etree._Element, links: bool = True) -> str:
    """Text of el outside its block-level children (inline children included, their links too unless
    `links` is false)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag not in BLOCK_TAGS:
            if links:
                parts.append(text_of(child))
            elif child.tag != "a":
                parts.append(own_text(child, links))
        parts.append(child.tail or "")
    return "".join(parts)


def _br_segments(el: etree._Element) -> list[str]:
    """el's own text outside links, cut at its <br> children: the paragraphs of a body written as lines."""
    segments, parts = [], [el.text or ""]
    for child in el:
        if child.tag == "br":
            segments.append("".join(parts))
            parts = []
        elif isinstance(child.tag, str) and child.tag not in BLOCK_TAGS and child.tag != "a":
            parts.append(own_text(child, links=False))
        parts.append(child.tail or "")
    return [*segments, "".join(parts)]


def _paragraph_score(el: etree._Element) -> float:
    """Readability's paragraph score, from the words outside links (a tag cloud's "、" separators are not
    commas of prose); a copyright or legal notice ("©") scores nothing, however long. A block (not a <p>) of
    text lines split by <br> scores as the paragraphs it holds: an old page's body written without <p>."""
    text = own_text(el, links=False)
    if len(text) < _MIN_PARAGRAPH:  # most elements stop here, before any copying
        return 0
    if el.tag != "p" and el.find("br") is not None:
        return sum(_text_score(segment) for segment in _br_segments(el))
    return _text_score(text)


def _text_score(text: str) -> float:
    text = " ".join(text.split())
    if len(text) < _MIN_PARAGRAPH or "©" in text:
        return 0
    commas = len(_COMMAS.findall(text))
    if commas * 20 > len(text) and len(_NOT_WORDS.sub("", text)) < _MIN_PARAGRAPH // 2:  # separators, no prose
        return 0
    return 1 + commas + min(len(text) // 100, 3)


def _class_weight(el: etree._Element) -> int:
    boilerplate, content = name_signals(class_id(el))
    return 25 * content - 25 * boilerplate


def find_containers(root: etree._Element, headline: etree._Element | None = None) -> list[etree._Element]:
    """The element holding the article's paragraphs, plus siblings that continue it, in page order."""
    body = root.find("body")
    if body is None:
        body = root
    scores: dict[etree._Element, float] = defaultdict(float)
    prose: dict[etree._Element, int] = defaultdict(int)
    paragraphs = []
    for el in body.iter(etree.Element):
        if el.tag in _SCORED:
            score = _paragraph_score(el)
            if not score:
                continue
            paragraphs.append(el)
            if el.tag in _PARAGRAPHS:
                chars = len(own_text(el, links=False))
                for anc in (el, *el.iterancestors()):
                    prose[anc] += chars
            inline_holder = el.tag in ("div", "section", "article", "main", "td") and any(
                isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el)
            ancestors = [el] if inline_holder else []
            for anc in el.iterancestors():
                ancestors.append(anc)
                if len(ancestors) >= 5 or anc is body:
                    break
            for level, anc in enumerate(ancestors):
                scores[anc] += score / (1 if level == 0 else 2 if level == 1 else level * 3)
    if not scores:
        return [body]
    ranked = sorted(scores, key=scores.get, reverse=True)[:8]
    final = {el: (scores[el] + _TAG_BONUS.get(el.tag, 0) + _class_weight(el)) * (1 - link_density(el))
             for el in ranked}
    top = max(final, key=final.get)
    top = _under_headline(_widen(top, final, body), final, headline, paragraphs)
    top = _to_prose_holder(top, prose, body)
    containers = _sections(top, body) or _with_siblings(top, scores, body)
    lead = _lead(containers[0], body)
    return [lead, *containers] if lead is not None else containers


_UNDER_HEADLINE, _STORY_CHARS, _STORY_PARAGRAPHS = 0.25, 500, 3


def _under_headline(top: etree._Element, final: dict, headline: etree._Element | None,
                    paragraphs: list[etree._Element]) -> etree._Element:
    """Within a top candidate that holds the headline (a page column with its sidebar boxes), the innermost
    candidate that holds the headline too, scores a quarter of the best and holds a story's worth of paragraphs
    (not a title block with its standfirst): the story under the headline."""
    if headline is None or top not in headline.iterancestors():
        return top
    best = max(final.values())
    for el in headline.iterancestors():
        if el is top:
            return top
        if el in final and final[el] >= _UNDER_HEADLINE * best and text_length(el) >= _STORY_CHARS \
                and sum(1 for p in paragraphs if p is el or el in p.iterancestors()) >= _STORY_PARAGRAPHS:
            return el
    return top


_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_DIGITS = re.compile(r"\d+")


def _classes(el: etree._Element) -> frozenset[str]:
    """Class tokens without digits and BEM "--modifiers": what one template's repeated wrappers share."""
    return frozenset(_DIGITS.sub("", c) for c in (el.get("class") or "").split() if "--" not in c)


def _same_template(a: etree._Element, b: etree._Element, classes: frozenset[str]) -> bool:
    """Same tag and most classes shared (page builders add an id-like class to each block); without classes,
    a section tag or the same heading-led shape."""
    if a.tag != b.tag:
        return False
    other = _classes(b)
    if not classes and not other:
        return a.tag in ("section", "article") or _heading_shape(a) is not None and _heading_shape(a) == _heading_shape(b)
    return 2 * len(classes & other) >= len(classes | other)


def _heading_shape(el: etree._Element) -> tuple | None:
    """For unclassed wrappers: a heading then a block, with their classes (a listicle's numbered items)."""
    children = [c for c in el if isinstance(c.tag, str)][:2]
    if len(children) < 2 or children[0].tag not in _HEADINGS:
        return None
    return tuple((c.tag, _classes(c)) for c in children)


def _prose_section(el: etree._Element) -> bool:
    """A section of the article: a paragraph's worth of text that is not mostly links (not a teaser card)."""
    return any(len(own_text(p).strip()) >= 100 for p in el.iter("p", "div", "li", "td")) and link_density(el) < 0.3


def _sections(top: etree._Element, body: etree._Element) -> list[etree._Element]:
    """A body split into repeated sibling sections (listicles, page builders' blocks): the section holding
    the best paragraphs, the same-template siblings that also hold prose, and the headings between them."""
    el = top
    for _ in range(5):
        parent = el.getparent()
        if parent is None or el is body:
            return []
        classes = _classes(el)
        peers = {s for s in parent if s is not el and isinstance(s.tag, str) and _same_template(el, s, classes)}
        peers = {s for s in peers if _prose_section(s)}
        if len(peers) >= _MIN_PEERS:
            return [s for s in parent if s is el or s in peers or s.tag in _HEADINGS]
        el = parent
    return []


def _widen(top: etree._Element, final: dict, body: etree._Element) -> etree._Element:
    """Move up when other strong candidates share an ancestor (a body split across wrappers), or when the one
    strong rival is a block of the same template (a page builder's two text blocks around a list)."""
    best = final[top]
    rivals = [el for el, s in final.items() if el is not top and s >= 0.75 * best
              and top not in el.iterancestors() and el not in top.iterancestors()]
    if len(rivals) >= 2:
        ancestors = list(top.iterancestors())
        common = [a for a in ancestors if sum(1 for r in rivals if a in r.iterancestors()) >= 2]
        if common:
            top = common[0]
    elif len(rivals) == 1 and _same_template(top, rivals[0], _classes(top)) and top.get("class"):
        ancestors = set(rivals[0].iterancestors())
        top = next((a for a in top.iterancestors() if a in ancestors), top)
    while top is not body:
        parent = top.getparent()
        if parent is None or len([c for c in parent if isinstance(c.tag, str)]) != 1:
            break
        top = parent
    return top


def _to_prose_holder(top: etree._Element, prose: dict, body: etree._Element) -> etree._Element:
    """The highest ancestor that adds much more prose to top, as long as what each ancestor adds is mostly
    prose with few links (not a sidebar, teaser list or menu): a body split into sibling sections whose
    wrappers share no template (hashed or per-block classes), which `_sections` cannot pair."""
    best, own, own_links = top, text_length(top), link_length(top)
    for parent in top.iterancestors():
        if parent is body:
            break
        added, extra = prose[parent] - prose[top], text_length(parent) - own
        if extra > _MIN_ADDED and (added < _PROSE_SHARE * extra
                                   or link_length(parent) - own_links > _LINK_SHARE * extra):
            break
        if added >= _MIN_GROWTH * prose[top] and added >= _MIN_ADDED:
            best = parent
    return best


_LEAD_LEVELS, _LEAD_MIN, _LEAD_MAX = 3, 80, 800


def _lead(first: etree._Element, body: etree._Element) -> etree._Element | None:
    """The standfirst in its own block right before the body (a sibling of the body or of a near ancestor):
    one short paragraph of prose without links."""
    el = first
    for _ in range(_LEAD_LEVELS):
        if el is body:
            return None
        prev = el.getprevious()
        while prev is not None and not isinstance(prev.tag, str):
            prev = prev.getprevious()
        if prev is not None:
            text = " ".join(text_of(prev).split())
            if (_LEAD_MIN <= len(text) <= _LEAD_MAX and prev.find(".//a") is None and prev.tag not in _HEADINGS
                    and not any(h.tag in _HEADINGS for h in prev.iter()) and _paragraph_score(prev)):
                return prev
            if text:
                return None
        el = el.getparent()
        if el is None:
            return None
    return None


_IN_PARAGRAPHS = 0.9
_SIBLING_LINKS = 0.5


def _only_paragraphs(el: etree._Element) -> bool:
    """Whether el's text is (nearly) all in <p> elements, however deeply wrapped."""
    text = text_length(el)
    inside = sum(text_length(p) for p in el.iter("p"))  # the parser never nests a <p> in a <p>
    return text > 0 and inside >= _IN_PARAGRAPHS * text


def _with_siblings(top: etree._Element, scores: dict, body: etree._Element) -> list[etree._Element]:
    """Siblings that continue the body: well-scored ones that are not mostly links (a block of teasers with their
    summaries scores too), and plain prose paragraphs (readability's rule); before the body, also paragraphs in
    nested wrappers (its first paragraphs split off by an ad slot)."""
    parent = top.getparent()
    if parent is None or top is body:
        return [top]
    threshold = max(10.0, scores.get(top, 0) * 0.2)
    kept, before = [], True
    for sib in parent:
        if not isinstance(sib.tag, str):
            continue
        if sib is top:
            kept.append(sib)
            before = False
            continue
        bonus = scores.get(top, 0) * 0.2 if sib.get("class") and sib.get("class") == top.get("class") else 0
        if scores.get(sib, 0) + bonus >= threshold and link_density(sib) < _SIBLING_LINKS:
            kept.append(sib)
        elif sib.tag == "p" or all(not isinstance(c.tag, str) or c.tag not in BLOCK_TAGS or c.tag == "p" for c in sib) \
                or before and _only_paragraphs(sib):
            text = text_of(sib).strip()
            density = link_density(sib)
            if (len(text) > 80 and density < 0.25) or (0 < len(text) <= 80 and density == 0
                                                        and re.search(r"\.( |$)", text)):
                kept.append(sib)
    return kept

"""Dropping what is never article body: code, forms, hidden and boilerplate-classed elements."""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree

from .text import text_of

# Gone before anything else: never readable body text.
JUNK_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed", "video",
             "audio", "map", "link", "meta")
# Form controls and dialogs: gone too, unless broken markup nested most of the page inside one
# (an unclosed <div> in a header <button> puts the rest of the page in the button).
CONTROL_TAGS = ("button", "input", "select", "textarea", "dialog", "label", "option")
BLOCK_TAGS = frozenset(
    "address article aside blockquote center dd details div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul "
    "caption".split())
# Page furniture by tag, dropped in strict mode.
FURNITURE_TAGS = {"nav", "aside", "footer", "menu"}
FURNITURE_ROLES = {"navigation", "complementary", "contentinfo", "banner", "dialog", "alertdialog",
                   "menu", "menubar", "search", "toolbar"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Class/id words of boilerplate containers: comments, sharing, related lists, promos, bios, furniture.
# Matched against whole words of class/id tokens ("-word-" in "-site-footer-"): "contextmenu" is no menu.
# "*" lets a word run on ("comments", "subscription"); "~" marks a stem so unambiguous that it counts inside
# a longer word too ("yhcomment01", "footertext").
_STEMS = ("comment disqus sidebar footer newsletter breadcrumb advert sponsor login signin subscri related "
          "recommend social cookie paywall taboola outbrain masthead navbar navigation pagination").split()
BOILERPLATE = re.compile((
    r"-(?:~(?:" + "|".join(_STEMS) + r")*|share*|sharing|sign-?up|promo*|ads?|ad-?slot|adunit|dfp|nav"
    r"|consent|gdpr|author-?bio|bio|byline*|dateline*|timestamp*"
    r"|more-?stories|read-?(?:more|next|also)|most-?(?:popular|read|viewed)|trending*"
    r"|skip-?links?|feedback*|recirc*|offscreen*|visually-?hidden|sr-only"
    r"|screen-?reader*|print-?only|post-?meta|article-?meta|author-?info|about-?(?:the-?)?author"
    r"|contributor*|hidden-print|inline-?(?:ad|promo)|donat*|membership*|alert-?bar|jump-?links?"
    r"|top-?stories|also-?read|see-?also|more-?from|story-?list|teaser-?list|headlines)-"
    ).replace("*", r"[a-z0-9]*").replace("~", r"[a-z0-9]*"))
# Generic UI words count only as a token's last word, its head: "smg-zone-widget" is a widget,
# "elementor-widget-container" (a page builder's wrapper, often of the body) is a container.
WEAK_BOILERPLATE = re.compile(r"-(?:widget|banner|menu|popup|modal|overlay|toolbar|tag|pager|rating|follow"
                              r"|tooltip|rail|meta|partner)s?-$", re.M)
# Class/id words that mark the body itself; they protect a text-heavy element from BOILERPLATE.
CONTENT = re.compile(r"-[a-z0-9]*(?:article|body|content|entry|main|post|story|text|blog|column)[a-z0-9]*-")
_NOT_A_WORD = re.compile(r"[^a-z0-9]+")
_CAMEL_CASE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def class_id(el: etree._Element) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


@lru_cache(maxsize=8192)
def class_words(names: str) -> str:
    """Class/id tokens as "-"-joined lower-case words, one token per line: "shareBar nav_top" -> "-share-bar-\n-nav-top-".

    Utility-class variants ("[&_figcaption]:mt-2", "hover:underline") style other elements or states,
    not this one, so they are left out.
    """
    words = []
    for token in names.split():
        if "[" in token or ":" in token:
            continue
        parts = _NOT_A_WORD.sub("-", _CAMEL_CASE.sub("-", token).lower()).strip("-")
        if parts:
            words.append(f"-{parts}-")
    return "\n".join(words)


@lru_cache(maxsize=8192)
def name_signals(names: str) -> tuple[bool, bool]:
    """(boilerplate?, content?) for a class/id string; cached because pages repeat class names."""
    words = class_words(names)
    if not words:
        return False, False
    return bool(BOILERPLATE.search(words) or WEAK_BOILERPLATE.search(words)), bool(CONTENT.search(words))


# Navigation words: a block so named is a list of links; one holding prose with almost no links is not, nor are
# the blocks so named inside it (its sections, one of them a list).
_NAVIGATION = re.compile(r"-(?:[a-z0-9]*(?:navbar|navigation)[a-z0-9]*|nav|breadcrumbs?|pagination"
                         r"|(?:skip|jump)-?links?)(?=-)")
_NAV_LINK_DENSITY, _NAV_PROSE, _NAV_PROSE_SHARE = 0.1, 200, 0.4


def _navigation_only(names: str) -> bool:
    """Boilerplate only by navigation words ("content-nav-section", "jump-link-items")."""
    words = class_words(names)
    rest = _NAVIGATION.sub("", words)
    return rest != words and not BOILERPLATE.search(rest) and not WEAK_BOILERPLATE.search(rest)


def _prose_not_links(el: etree._Element) -> bool:
    """Mostly paragraphs, almost no links and no other post's entry (an <article> card): what navigation, a
    mega menu's blurbs or a previous/next teaser never is."""
    prose = sum(text_length(p) for p in el.iter("p"))  # counted in C: most navigation stops here
    if prose < _NAV_PROSE or prose < _NAV_PROSE_SHARE * text_length(el) or el.find(".//article") is not None:
        return False
    return link_density(el) < _NAV_LINK_DENSITY


def _weak_only(names: str) -> bool:
    """Boilerplate only by generic UI words (widget, tags): weighed against the text the element holds."""
    words = class_words(names)
    return not BOILERPLATE.search(words) and bool(WEAK_BOILERPLATE.search(words))



def link_density(el: etree._Element) -> float:
    text = len(text_of(el).strip())
    if not text:
        return 1.0
    return min(1.0, link_length(el) / text)


def link_length(el: etree._Element) -> int:
    """Characters of link text under el."""
    return sum(len(text_of(a).strip()) for a in el.iter("a"))


_TEXT_LENGTH = etree.XPath("string-length(.)")
_LINKS = etree.XPath("count(.//a)")


def text_length(el: etree._Element) -> int:
    """Characters of text under el, counted in C (itertext made 10^5-link pages cost 0.3 s a pass)."""
    return int(_TEXT_LENGTH(el))


def drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    # Emptied first: removing a whole subtree walks it once to move it out of the document and twice more
    # to free it; a cleared element's children are freed in one go (0.04 s less for a footer of 10^5 links).
    el.clear()
    parent.remove(el)


def drop_junk(root: etree._Element) -> None:
    """Remove code, embeds and form controls (the parser already left out comments and processing
    instructions: a page-wide search for them cost 0.06 s on a 10 MB page)."""
    etree.strip_elements(root, *JUNK_TAGS, with_tail=False)
    _drop_signup_boxes(root)
    controls = list(root.iter(*CONTROL_TAGS))
    total = text_length(root) if controls else 0
    for el in [c for c in controls if _holds_most(c, total)]:
        el.tag = "div"
    etree.strip_elements(root, *CONTROL_TAGS, with_tail=False)
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")  # "line<br>line" must not fuse two words


_WIDGET_CHARS = 500
_ENTRY_TYPES = frozenset(("email", "tel", "text"))


def _drop_signup_boxes(root: etree._Element) -> None:
    """A small form with a field to type into, with the short box around it ("Be the first to know!", the
    consent line): a newsletter, SMS or search widget, whatever its language. A page-wide <form> is no widget."""
    for form in list(root.iter("form")):
        if text_length(form) > _WIDGET_CHARS or not any(
                (field.get("type") or "text").lower() in _ENTRY_TYPES for field in form.iter("input")):
            continue
        box = form
        while (parent := box.getparent()) is not None and parent.tag not in ("body", "html") \
                and text_length(parent) <= _WIDGET_CHARS:
            box = parent
        drop(box)


def drop_furniture(root: etree._Element, headline: etree._Element | None = None) -> None:
    """Remove hidden elements and navigation, sharing, comment, promo and other boilerplate blocks.

    An element whose class/id also says "content" survives when it holds a fifth or more of
    the page's text: a class like "article-body comments-on" must not take the body with it.
    Ancestors of the headline (the h1 that shows the title) and elements holding half the page's
    text survive too: they are layout wrappers ("page-with-right-rail").
    """
    body = root.find("body")
    if body is None:
        body = root
    total = max(1, text_length(body))
    keep = set(headline.iterancestors()) if headline is not None else set()
    stack = [body]
    while stack:
        for child in list(stack.pop()):
            if not isinstance(child.tag, str):
                continue
            if child not in keep and _is_furniture(child, total):
                drop(child)
            else:
                stack.append(child)


def _is_furniture(el: etree._Element, total: int) -> bool:
    """Boilerplate by tag, role, hiding or class, unless it holds half the page's text (never drop the body)."""
    if el.tag in ("main", "article"):
        return False
    names = class_id(el)
    boilerplate, content = name_signals(names)
    weak = False
    if (el.tag in FURNITURE_TAGS or el.get("role", "").lower() in FURNITURE_ROLES or el.get("hidden") is not None
            or el.get("aria-hidden") == "true" or _HIDDEN_STYLE.search(el.get("style", ""))):
        content = False
    elif el.tag == "header":
        if _holds_paragraphs(el):
            return False
        content = False
    elif el.tag == "span" and _is_link_cluster(el):
        return True
    elif not boilerplate or _is_caption(el) or el.tag not in BLOCK_TAGS and _in_running_text(el):
        return False
    else:
        weak = _weak_only(names)
        if content and weak and text_length(el) >= 150 and link_density(el) < 0.3:
            return False  # "intext_content_tag" holding prose: the content word and the text outweigh "tag"
        if _navigation_only(names) and (_prose_not_links(el) or any(
                _navigation_only(class_id(a)) and _prose_not_links(a) for a in _below_body(el))):
            return False  # a page builder's "jump-link" sections or "content-nav-section" holding the body
    length = text_length(el)
    return not (_holds_most(el, total, length) or (content or weak) and length * 5 >= total)


def _below_body(el: etree._Element):
    """el's ancestors inside <body>."""
    for anc in el.iterancestors():
        if anc.tag in ("body", "html"):
            return
        yield anc


def _in_running_text(el: etree._Element) -> bool:
    """An inline element with words, and text right before or after it, is prose, whatever its class says
    ("inlineTagLink"); a bare count ("12" comments) is not."""
    if not any(c.isalpha() for c in text_of(el)):
        return False
    prev = el.getprevious()
    before = el.getparent().text if prev is None else prev.tail
    return bool((before or "").strip() or (el.tail or "").strip())


def _holds_most(el: etree._Element, total: int, length: int | None = None) -> bool:
    """Half the page's text or more, not mostly links: such an element is the body's wrapper, whatever its
    tag or class says (a footer of 10^5 links is not)."""
    length = text_length(el) if length is None else length
    return length * 2 >= total and length >= 20 * _LINKS(el)


def _is_link_cluster(el: etree._Element) -> bool:
    """An inline run of three or more links and little else: a hover card or link list inside prose."""
    return _LINKS(el) >= 3 and link_length(el) >= 0.8 * len(text_of(el).strip())


def in_furniture(el: etree._Element) -> bool:
    """Whether el sits inside navigation, a sidebar or another boilerplate block (headers allowed)."""
    for anc in el.iterancestors():
        if anc.tag in FURNITURE_TAGS or anc.get("role", "").lower() in FURNITURE_ROLES:
            return True
        boilerplate, content = name_signals(class_id(anc))
        if boilerplate and not content:
            return True
    return False


def _holds_paragraphs(el: etree._Element) -> bool:
    return sum(1 for p in el.iter("p") if len(text_of(p)) > 100) >= 2


def _is_caption(el: etree._Element) -> bool:
    return el.tag in ("figure", "figcaption") or "caption" in class_words(class_id(el))

"""Error pages served as articles ("soft 404s"): a "not found" page sent with status 200.

Such a page must yield no article, so the caller falls back to the feed's content instead of storing
the error page. Recognised by shape, not by site: a short heading (the `<title>`, one of its
" | "-separated parts, or an h1) that is an error message about the page, over a body too short to be an article.
"""

from __future__ import annotations

import re

from lxml import etree

from .metadata import TITLE_SEPARATORS
from .text import normalize, text_of

# Error messages in headings: a 404/410 code, "not found", "does not exist", "no longer available", in the
# languages of the corpora and a few more ...
_ERROR = re.compile(
    r"\b(?:404|410)\b|\bnot found\b|\bnothing (?:was )?found\b|\bmissing page\b|\bpage (?:is )?missing\b"
    r"|\b(?:does not|doesn.t|no longer) (?:exist|available)|\b(?:can.?not|can.?t|could ?n.?t) be found\b"
    r"|\b(?:can.?t|could ?n.?t) find\b|nicht gefunden|existiert nicht|introuvable|non trouvée|n.existe pas"
    r"|no encontrad|no existe|non trovat|nie znaleziono|nie istnieje|не найден|не существует|δεν βρέθηκε"
    r"|δεν υπάρχει|不存在|找不到|未找到|見つかりません|찾을 수 없", re.I)
# ... about the page itself: "Page not found", "This story is no longer available" (a headline such as
# "Missing hiker not found" names no page), or a heading that is nothing but the message ("404 Not Found").
_PAGE = re.compile(r"\b(?:page|url|link|article|story|content|error)\b|seite|página|pagina|strona|artyku|страниц"
                   r"|стать|ошибк|σελίδα|άρθρο|页面|頁面|网页|網頁|文章|ページ|페이지", re.I)
_MAX_MESSAGE_WORDS = 4
_MAX_HEADING = 60  # an error heading is short; a headline merely mentioning "not found" is longer
_MAX_BODY = 1500  # an error page's text is a line or two and some links; an article is longer


def is_error_page(root: etree._Element, body_chars: int) -> bool:
    """Whether the page is an error page: an error-message heading over a body shorter than an article."""
    if body_chars >= _MAX_BODY:
        return False
    title = root.find(".//title")
    headings = [normalize(text_of(h1)) for h1 in root.iterfind(".//body//h1")]
    if title is not None:
        headings += TITLE_SEPARATORS.split(normalize(text_of(title)))
    return any(_is_error_message(h) for h in headings)


def _is_error_message(heading: str) -> bool:
    if len(heading) > _MAX_HEADING or not _ERROR.search(heading):
        return False
    return bool(_PAGE.search(heading)) or len(heading.split()) <= _MAX_MESSAGE_WORDS

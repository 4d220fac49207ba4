"""Text normalization shared by body blocks and metadata."""

from __future__ import annotations

import html
import re
import unicodedata

# Characters that render as nothing but break tokens and matching.  ZWNJ/ZWJ are kept:
# they carry meaning in Persian orthography and emoji sequences.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"), None)
_SPACES = re.compile(r"\s+")


def text_of(el) -> str:
    """All text inside an lxml element (the raw, unnormalized string)."""
    return "".join(el.itertext())


def normalize(text: str) -> str:
    """NFC, invisible characters dropped, every whitespace run (incl. no-break space) one space."""
    if "&" in text:
        text = html.unescape(text)  # entities that survived parsing, e.g. double-escaped ones
    text = text.translate(_INVISIBLE)
    return unicodedata.normalize("NFC", _SPACES.sub(" ", text).strip())

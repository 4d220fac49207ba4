"""Untrusted text made safe for every reader: a terminal, a spreadsheet-bound CSV, an XML parser.

Every title, author, caption and paragraph comes from a site nobody here controls.  `clean_text`
runs once, where feed fields and extracted articles become the stored record (`ingest.feeds`,
`ingest.extract`), and over rows stored before (migration 0005), so no later stage has to care.
"""

from __future__ import annotations

import re

# Dropped: C0 controls but tab and line feed, DEL, C1 controls (ESC/CSI/OSC sequences lose their
# introducer, so what is left is inert text), lone surrogates, what XML 1.0 forbids (U+FFFE, U+FFFF)
# and the other BMP noncharacters (U+FDD0-U+FDEF).  The astral noncharacters (U+1FFFE...) are legal
# XML and kept: listing them makes the pattern ten times slower.  A carriage return becomes a line
# feed: dropped, it would join two lines' words; kept, it lets a title overwrite what a terminal shows.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_CR = re.compile(r"\r\n?")


def clean_text(s: str) -> str:
    """`s` without control characters other than tab and line feed, surrogates or XML-forbidden characters."""
    if "\r" in s:
        s = _CR.sub("\n", s)
    return _FORBIDDEN.sub("", s)


def removed_before(s: str) -> list[int]:
    """For each offset into `s`, how many characters `clean_text` removes before it (len(s) + 1 entries).

    A carriage return before a line feed counts as removed; a lone one is replaced, not removed.
    """
    shifts, removed = [0], 0
    for i, ch in enumerate(s):
        if _FORBIDDEN.match(ch) or (ch == "\r" and s[i + 1:i + 2] == "\n"):
            removed += 1
        shifts.append(removed)
    return shifts

"""Text folding for matching, with a map from every folded character back to the original text.

Terms and article text go through the same `fold`, so equivalences hold by construction:
NFKC (full-width, ligatures, composed vs decomposed), optional Unicode casefold, optional
diacritic stripping, curly vs straight apostrophes and quotes, hyphens and en dashes as
spaces, any whitespace run (no-break spaces, tabs, line breaks) as one space, soft hyphens
and zero-width characters dropped.  Folding works cluster by cluster (a character plus its
combining marks), so a match in folded text always maps back to whole original characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_MARKS = "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"  # combining marks
_MARK = re.compile(_MARKS)
# A whitespace run, or one character with the combining marks that follow it.
_CLUSTER = re.compile(rf"\s+|.{_MARKS}*", re.S)

_PUNCT = str.maketrans({
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u02bc\u2032\u0060\u00b4\u055a", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    # Hyphen, non-breaking hyphen, figure dash, en dash, minus: all read as a space.
    **dict.fromkeys("-\u2010\u2011\u2012\u2013\u2212", " "),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", None),
})


@dataclass(frozen=True)
class Folded:
    text: str
    starts: Sequence[int]  # original offset where the cluster of each folded character starts
    ends: Sequence[int]  # ... and where it ends

    def span(self, i: int, j: int) -> tuple[int, int]:
        """Original [start, end) of folded characters [i, j)."""
        return self.starts[i], self.ends[j - 1]


@lru_cache(maxsize=65536)
def fold_cluster(cluster: str, fold_case: bool, strip_marks: bool) -> str:
    # Punctuation is mapped before NFKC too, which would otherwise turn an acute accent into a space+mark.
    s = unicodedata.normalize("NFKC", cluster.translate(_PUNCT))
    if fold_case:
        s = unicodedata.normalize("NFKC", s.casefold())
    if strip_marks:
        s = unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", s)
                                                 if not unicodedata.combining(c)))
    s = s.translate(_PUNCT)
    return " " if s.isspace() else s


_IRREGULAR = "\uffff"  # stands for a character that folds to zero or several (ß, ﬁ, soft hyphen)


class _CharTable(dict[int, str]):
    """`str.translate` table folding each character on first sight; the fast path's cache."""

    def __init__(self, fold_case: bool, strip_marks: bool) -> None:
        super().__init__()
        self.options = (fold_case, strip_marks)

    def __missing__(self, code: int) -> str:
        folded = fold_cluster(chr(code), *self.options)
        self[code] = folded = folded if len(folded) == 1 and folded != _IRREGULAR else _IRREGULAR
        return folded


_TABLES = {(c, m): _CharTable(c, m) for c in (False, True) for m in (False, True)}
_SPACE_RUN = re.compile(" {2,}")


def fold(text: str, fold_case: bool = True, strip_marks: bool = True) -> Folded:
    """Fold `text`; runs of spaces (after folding) collapse into one."""
    one_to_one = text.translate(_TABLES[fold_case, strip_marks])
    if _IRREGULAR in one_to_one or _MARK.search(text):
        return fold_clusters(text, fold_case, strip_marks)
    # Common case: every character folds to exactly one, so offsets only shift where spaces collapse.
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    done = 0
    for run in _SPACE_RUN.finditer(one_to_one):
        a, b = run.span()
        out.append(one_to_one[done:a + 1])
        starts += range(done, a + 1)
        ends += range(done + 1, a + 1)
        ends.append(b)
        done = b
    if not out:
        return Folded(one_to_one, range(len(text)), range(1, len(text) + 1))
    out.append(one_to_one[done:])
    starts += range(done, len(text))
    ends += range(done + 1, len(text) + 1)
    return Folded("".join(out), starts, ends)


def fold_clusters(text: str, fold_case: bool, strip_marks: bool) -> Folded:
    """The general path: cluster by cluster, for combining marks and characters that fold to 0 or 2+."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for m in _CLUSTER.finditer(text):
        piece = " " if m.group()[0].isspace() else fold_cluster(m.group(), fold_case, strip_marks)
        a, b = m.span()
        for ch in piece:
            if ch == " " and out and out[-1] == " ":
                ends[-1] = b
                continue
            out.append(ch)
            starts.append(a)
            ends.append(b)
    return Folded("".join(out), starts, ends)


def fold_text(text: str, fold_case: bool = True, strip_marks: bool = True) -> str:
    """The folded form alone, trimmed: how terms are compared."""
    return fold(text, fold_case, strip_marks).text.strip()


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")

"""What changed between two versions of an item: its blocks' text, compared block by block (difflib), and
within a changed block word by word.

Pure and text only: the template escapes every run, so a revision's text cannot become markup.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.web.highlight import Run

_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Line:
    op: str  # "same", "removed", "added" or "skip"
    text: str
    runs: tuple[Run, ...] = field(default=())  # (changed blocks) the text, its changed words marked "changed"


def words(old: str, new: str) -> tuple[tuple[Run, ...], tuple[Run, ...]]:
    """`old` and `new` as runs, the words that differ marked "changed" on each side."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left: list[Run] = []
    right: list[Run] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        left += _runs("".join(a[i1:i2]), op != "equal")
        right += _runs("".join(b[j1:j2]), op != "equal")
    return tuple(left), tuple(right)


def _runs(text: str, changed: bool) -> list[Run]:
    """A changed stretch marked without the whitespace at its ends."""
    if not changed or not text.strip():
        return [Run(text)] if text else []
    core = text.strip()
    start = text.index(core)
    return [Run(x, m) for x, m in ((text[:start], None), (core, "changed"), (text[start + len(core):], None)) if x]


def blocks(old: Sequence[str], new: Sequence[str], context: int | None = None) -> list[Line]:
    """Block texts of `old` against `new`; a block replaced by one block gets its word changes marked. With
    `context`, unchanged runs longer than twice that are cut to their ends, with one `Line("skip", "N unchanged
    blocks")` between."""
    out: list[Line] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, list(old), list(new), autojunk=False).get_opcodes():
        if op == "equal":
            same = [Line("same", t) for t in old[i1:i2]]
            if context is not None and len(same) > 2 * context + 1:
                head = same[:context] if out else []
                tail = same[len(same) - context:] if i2 < len(old) else []
                same = [*head, Line("skip", f"{len(same) - len(head) - len(tail)} unchanged blocks"), *tail]
            out += same
        elif op == "replace" and i2 - i1 == j2 - j1:
            for a, b in zip(old[i1:i2], new[j1:j2]):
                left, right = words(a, b)
                out += [Line("removed", a, left), Line("added", b, right)]
        else:
            out += [Line("removed", t) for t in old[i1:i2]]
            out += [Line("added", t) for t in new[j1:j2]]
    return out

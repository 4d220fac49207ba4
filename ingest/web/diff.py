"""What changed between two versions of an item: its blocks' text, compared block by block (difflib).

Pure and text only: the template escapes every line, so a revision's text cannot become markup.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    op: str  # "same", "removed" or "added"
    text: str


def blocks(old: Sequence[str], new: Sequence[str], context: int | None = None) -> list[Line]:
    """Block texts of `old` against `new`; with `context`, unchanged runs longer than twice that are cut to
    their ends, with one `Line("skip", "N unchanged blocks")` between."""
    out: list[Line] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, list(old), list(new), autojunk=False).get_opcodes():
        if op == "equal":
            same = [Line("same", t) for t in old[i1:i2]]
            if context is not None and len(same) > 2 * context + 1:
                head = same[:context] if out else []
                tail = same[len(same) - context:] if i2 < len(old) else []
                same = [*head, Line("skip", f"{len(same) - len(head) - len(tail)} unchanged blocks"), *tail]
            out += same
            continue
        out += [Line("removed", t) for t in old[i1:i2]]
        out += [Line("added", t) for t in new[j1:j2]]
    return out

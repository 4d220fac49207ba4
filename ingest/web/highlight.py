"""Text cut into plain and highlighted runs, for templates to escape and wrap in <mark>.

Pure: no HTML is built here, so nothing stored can become markup; the template escapes each run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ingest.storage.fulltext import MARK_END, MARK_START


@dataclass(frozen=True)
class Run:
    text: str
    mark: str | None = None  # the watchlist (or "search") that highlights it; None for plain text


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    mark: str


def runs(text: str, spans: Iterable[Span]) -> list[Run]:
    """`text` cut at the spans (character offsets); overlapping spans keep the earlier one."""
    out: list[Run] = []
    pos = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        start, end = max(span.start, pos), min(span.end, len(text))
        if start >= end:
            continue
        if start > pos:
            out.append(Run(text[pos:start]))
        out.append(Run(text[start:end], span.mark))
        pos = end
    if pos < len(text) or not out:
        out.append(Run(text[pos:]))
    return out


def marked(snippet: str, mark: str = "match") -> list[Run]:
    """A snippet with its matches between [[ and ]] (watchlist and full-text snippets) as runs."""
    out: list[Run] = []
    rest = snippet
    while (start := rest.find(MARK_START)) >= 0 and (end := rest.find(MARK_END, start)) >= 0:
        if start:
            out.append(Run(rest[:start]))
        out.append(Run(rest[start + len(MARK_START):end], mark))
        rest = rest[end + len(MARK_END):]
    if rest or not out:
        out.append(Run(rest))
    return out


def by_block(hits: Sequence, field_names: Sequence[str] = ("body", "caption")) -> dict[int, list[Span]]:
    """Hit spans of the blocks, by block index (title hits are `title_spans`)."""
    out: dict[int, list[Span]] = {}
    for h in hits:
        if h.field in field_names:
            out.setdefault(h.block, []).append(Span(h.start, h.end, h.watchlist))
    return out


def title_spans(hits: Sequence) -> list[Span]:
    return [Span(h.start, h.end, h.watchlist) for h in hits if h.field == "title"]

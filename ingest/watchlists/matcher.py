"""Find watchlist terms in an article: one Aho-Corasick pass per text over folded text, then exact checks.

Every term of every watchlist is one key in a single automaton, keyed by its most lenient
fold (casefolded, diacritics stripped), so the cost of a pass barely depends on how many
terms there are.  Each candidate is then checked for word boundaries and, where the term
asks for it, for case and diacritics against the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import ahocorasick

from ingest.article import Article
from ingest.watchlists.fold import fold, fold_text, is_word_char
from ingest.watchlists.schema import Term, Watchlist, compile_regex

SNIPPET_WIDTH = 120
# Hits kept per (watchlist, term) in one article, the first in text order; each carries the term's total.
# A page repeating a term 100,000 times would otherwise store 100,000 rows and print them all in `show`.
MAX_HITS_PER_TERM = 100
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


@dataclass(frozen=True)
class Hit:
    """One occurrence; `text == <field text>[start:end]` (title, or `article.blocks[block].text`).

    `snippet` is about 120 characters of the surrounding text, whitespace collapsed, with the
    match marked as `[[...]]` and `…` where the text was cut.
    """

    watchlist: str
    version: str
    term: str
    field: str  # "title" | "body" | "caption"
    block: int  # index into article.blocks; 0 for the title
    start: int
    end: int
    text: str
    snippet: str
    total: int = 1  # occurrences of this term for this watchlist in the article (at most MAX_HITS_PER_TERM kept)


@dataclass(frozen=True)
class _Entry:
    """One term in one role of one watchlist: role is any, all, not, or near<k>a / near<k>b."""

    wl: int
    role: str
    term: Term
    exact: str | None  # the term's fold for the final check, or None when the scan fold suffices
    fold_case: bool
    strip_marks: bool


@dataclass(frozen=True)
class _Found:
    term: str
    field: str
    block: int
    start: int
    end: int


def _roles(w: Watchlist) -> Iterator[tuple[str, Term]]:
    yield from (("any", t) for t in w.any_of)
    yield from (("all", t) for t in w.all_of)
    yield from (("not", t) for t in w.none_of)
    for k, clause in enumerate(w.near):
        yield from ((f"near{k}a", t) for t in clause.terms)
        yield from ((f"near{k}b", t) for t in clause.with_)


def _entry(wl: int, role: str, term: Term, strip_marks: bool) -> _Entry:
    fold_case = not term.case_sensitive
    exact = None if fold_case and strip_marks else fold_text(term.text, fold_case, strip_marks)
    return _Entry(wl, role, term, exact, fold_case, strip_marks)


class Matcher:
    """All watchlists compiled into one automaton (plus their RE2 patterns)."""

    def __init__(self, watchlists: Sequence[Watchlist]) -> None:
        self.watchlists = tuple(watchlists)
        self._versions = tuple(w.version for w in self.watchlists)
        keys: dict[str, list[_Entry]] = defaultdict(list)
        for i, w in enumerate(self.watchlists):
            for role, term in _roles(w):
                keys[fold_text(term.text)].append(_entry(i, role, term, w.diacritics == "ignore"))
        self._automaton = ahocorasick.Automaton()
        for key, entries in keys.items():
            self._automaton.add_word(key, (len(key), is_word_char(key[0]), is_word_char(key[-1]), tuple(entries)))
        if keys:
            self._automaton.make_automaton()
        self._regexes = [(i, p, compile_regex(p)) for i, w in enumerate(self.watchlists) for p in w.regex]
        self._fields = {f for w in self.watchlists for f in w.fields}

    def match(self, article: Article) -> list[Hit]:
        """Hits of the watchlists whose rule the article satisfies, in watchlist then text order."""
        texts = dict(_texts(article))
        found: dict[tuple[int, str], list[_Found]] = defaultdict(list)
        for (field, block), text in texts.items():
            if field not in self._fields:
                continue
            self._scan_terms(field, block, text, found)
            for i, pattern, rx in self._regexes:
                if field in self.watchlists[i].fields:
                    found[i, "any"] += [_Found(pattern, field, block, *m.span()) for m in rx.finditer(text)
                                        if m.end() > m.start()]
        hits: list[Hit] = []
        for i, w in enumerate(self.watchlists):
            matched = _satisfied(w, i, found, texts)
            unique = {(f.field != "title", f.block, f.start, f.end, f.term): f for f in matched}
            ordered = [f for _, f in sorted(unique.items())]
            totals = Counter(f.term for f in ordered)
            kept: Counter = Counter()
            for f in ordered:
                kept[f.term] += 1
                if kept[f.term] <= MAX_HITS_PER_TERM:
                    hits.append(_hit(w.name, self._versions[i], f, texts[f.field, f.block], totals[f.term]))
        return hits

    def _scan_terms(self, field: str, block: int, text: str, found: dict[tuple[int, str], list[_Found]]) -> None:
        if self._automaton.kind != ahocorasick.AHOCORASICK:
            return
        folded = fold(text)
        haystack = folded.text
        for last, (length, word_start, word_end, entries) in self._automaton.iter(haystack):
            i, j = last - length + 1, last + 1
            if word_start and i > 0 and is_word_char(haystack[i - 1]):
                continue
            if word_end and j < len(haystack) and is_word_char(haystack[j]):
                continue
            start, end = folded.span(i, j)
            for e in entries:
                if field not in self.watchlists[e.wl].fields:
                    continue
                if e.exact is not None and fold_text(text[start:end], e.fold_case, e.strip_marks) != e.exact:
                    continue
                found[e.wl, e.role].append(_Found(e.term.text, field, block, start, end))


def compile_watchlists(watchlists: Sequence[Watchlist]) -> Matcher:
    return Matcher(watchlists)


def match(article: Article, matcher: Matcher) -> list[Hit]:
    return matcher.match(article)


def _texts(article: Article) -> Iterator[tuple[tuple[str, int], str]]:
    if article.title:
        yield ("title", 0), article.title
    for n, b in enumerate(article.blocks):
        yield ("caption" if b.kind == "caption" else "body", n), b.text


def _satisfied(w: Watchlist, i: int, found: dict[tuple[int, str], list[_Found]],
               texts: dict[tuple[str, int], str]) -> list[_Found]:
    """The hits that make `w` match, or [] when its rule fails."""
    if found.get((i, "not")):
        return []
    if (w.any_of or w.regex) and not found.get((i, "any")):
        return []
    alls = found.get((i, "all"), [])
    if {f.term for f in alls} != {t.text for t in w.all_of}:
        return []
    hits = found.get((i, "any"), []) + alls
    for k, clause in enumerate(w.near):
        close = _near(found.get((i, f"near{k}a"), []), found.get((i, f"near{k}b"), []), clause.within, texts)
        if not close:
            return []
        hits += close
    return hits


def _near(left: list[_Found], right: list[_Found], within: int, texts: dict[tuple[str, int], str]) -> list[_Found]:
    """Hits of either side that have a partner in the same text with at most `within` words between."""
    starts: dict[tuple[str, int], list[int]] = {}
    close: list[_Found] = []
    for a in left:
        for b in right:
            where = (a.field, a.block)
            if where != (b.field, b.block):
                continue
            if where not in starts:
                starts[where] = [m.start() for m in _WORD.finditer(texts[where])]
            first, second = (a, b) if a.start <= b.start else (b, a)
            s = starts[where]
            if max(0, bisect_left(s, second.start) - bisect_left(s, first.end)) <= within:
                close += [a, b]
    return close


def _hit(name: str, version: str, f: _Found, text: str, total: int) -> Hit:
    return Hit(name, version, f.term, f.field, f.block, f.start, f.end, text[f.start:f.end],
               snippet(text, f.start, f.end), total)


def occurrences(hits: Sequence[Hit]) -> int:
    """Every occurrence the hits stand for, the ones beyond MAX_HITS_PER_TERM included."""
    return sum({(h.watchlist, h.term): h.total for h in hits}.values())


def snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """About `width` characters around text[start:end], cut at spaces, the match marked [[...]]."""
    room = max(0, (width - (end - start)) // 2)
    a, b = max(0, start - room), min(len(text), end + room)
    if a > 0:
        a = next((k + 1 for k in range(a, start) if text[k].isspace()), a)
    if b < len(text):
        b = next((k for k in range(b - 1, end - 1, -1) if text[k].isspace()), b)
    marked = f"{'…' if a > 0 else ''}{text[a:start]}[[{text[start:end]}]]{text[end:b]}{'…' if b < len(text) else ''}"
    return " ".join(marked.split())

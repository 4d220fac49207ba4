"""The search syntax of `ingest query --search`, parsed into a small AST both database backends compile.

    csto summit            both words (AND)
    "collective security"  the words adjacent, in this order
    -kazakhstan -"press release"   neither
    armenia OR azerbaijan  either; OR binds tighter than AND: `a b OR c` = a AND (b OR c)
    title:csto  title:"peace talks"  author:smith   only in that field

A word is split into its runs of letters and digits, the way both full-text indexes split text:
`e-mail` and `covid_19` search the phrases "e mail" and "covid 19".  Case and diacritics are
the indexes' business (both fold them).  `other:word` with an unknown field is a plain word.

Strict, no guessing: an unbalanced quote, a lone `-`, `OR` at an edge, next to another `OR` or
to an exclusion, a term without letters or digits, or a query of exclusions only raise
`SearchSyntaxError` with a one-line message giving the column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Field = Literal["any", "title", "author"]
_FIELDS: dict[str, Field] = {"title": "title", "author": "author"}
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what FTS5's unicode61 and PostgreSQL keep as tokens
_FIELD_PREFIX = re.compile(r"(title|author):", re.IGNORECASE)


class SearchSyntaxError(ValueError):
    """A search string that does not parse; the message says where."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # more than one: a phrase, the words adjacent and in order
    field: Field = "any"


@dataclass(frozen=True)
class Query:
    must: tuple[tuple[Term, ...], ...]  # every group must match; a group matches when one of its terms does
    must_not: tuple[Term, ...] = ()


@dataclass(frozen=True)
class _Item:
    """One lexical unit: a (possibly excluded) term, or the OR operator."""

    column: int
    term: Term | None = None  # None for OR
    excluded: bool = False


def parse(query: str) -> Query:
    items = _lex(unicodedata.normalize("NFC", query))
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    for i, item in enumerate(items):
        if item.term is None:
            _check_or(items, i)
        elif item.excluded:
            excluded.append(item.term)
        elif i > 0 and items[i - 1].term is None:
            groups[-1].append(item.term)
        else:
            groups.append([item.term])
    if not groups:
        raise SearchSyntaxError(f"nothing to search for in {query!r}: a search needs at least one word that is not excluded")
    return Query(tuple(tuple(g) for g in groups), tuple(excluded))


def _check_or(items: list[_Item], i: int) -> None:
    col = items[i].column
    if i == 0 or i == len(items) - 1:
        raise SearchSyntaxError(f"OR at column {col} needs a term on both sides")
    before, after = items[i - 1], items[i + 1]
    if after.term is None:
        raise SearchSyntaxError(f"OR OR at column {col}: one OR between two terms")
    if before.excluded or after.excluded:
        raise SearchSyntaxError(f"OR at column {col} joins an exclusion: exclude each term on its own (-a -b)")


def _lex(s: str) -> list[_Item]:
    items: list[_Item] = []
    pos = 0
    while pos < len(s):
        if s[pos].isspace():
            pos += 1
            continue
        start = pos
        excluded = s[pos] == "-"
        if excluded:
            pos += 1
            if pos == len(s) or s[pos].isspace():
                raise SearchSyntaxError(f"lone '-' at column {start + 1}: write -word or -\"phrase\"")
        field: Field = "any"
        prefix = _FIELD_PREFIX.match(s, pos)
        if prefix:
            field = _FIELDS[prefix.group(1).lower()]
            pos = prefix.end()
            if pos == len(s) or s[pos].isspace():
                raise SearchSyntaxError(f"{prefix.group(0)} at column {start + 1} needs a word or \"phrase\" after it")
        if s[pos] == '"':
            close = s.find('"', pos + 1)
            if close < 0:
                raise SearchSyntaxError(f"unbalanced quote at column {pos + 1}: {s[pos:pos + 30]}")
            raw, pos = s[pos + 1:close], close + 1
        else:
            end = pos
            while end < len(s) and not s[end].isspace() and s[end] != '"':
                end += 1
            raw, pos = s[pos:end], end
            if raw == "OR" and not excluded and field == "any":
                items.append(_Item(start + 1))
                continue
        words = tuple(_WORD.findall(raw))
        if not words:
            raise SearchSyntaxError(f"no letters or digits in {s[start:pos]!r} at column {start + 1}")
        items.append(_Item(start + 1, Term(words, field), excluded))
    return items

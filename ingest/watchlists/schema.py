"""Parse and validate one `[[watchlists]]` table into a `Watchlist` definition."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ingest.watchlists.fold import fold_text

FIELDS: tuple[str, ...] = ("title", "body", "caption")
_FIELD_NAMES = {"title": "title", "body": "body", "caption": "caption", "captions": "caption"}
OUTPUT_KEYS = {"webhook", "atom", "digest", "notify", "mute_until"}  # where alerts go: parsed by ingest.config, not part of the rule
_KEYS = {"name", "terms", "any", "all", "not", "near", "regex", "fields", "case", "diacritics"} | OUTPUT_KEYS
_CASES = ("auto", "sensitive", "insensitive")

_NOT_LOADED: Any = object()
re2: Any = _NOT_LOADED  # google-re2, imported by `_re2()` when a watchlist has a regex; None if not installed


def _re2() -> Any:
    global re2
    if re2 is _NOT_LOADED:
        try:
            import re2 as module
        except ImportError:  # regex watchlists report it; plain terms work without re2
            module = None
        re2 = module
    return re2


class WatchlistError(ValueError):
    """A watchlist definition problem, as one line naming the file, the watchlist and the term or key."""


@dataclass(frozen=True)
class Term:
    text: str
    case_sensitive: bool


@dataclass(frozen=True)
class Near:
    terms: tuple[Term, ...]
    with_: tuple[Term, ...]
    within: int  # at most this many words between the two matches


@dataclass(frozen=True)
class Watchlist:
    name: str
    any_of: tuple[Term, ...] = ()  # config `terms` or `any`: at least one must occur
    all_of: tuple[Term, ...] = ()  # config `all`: every one must occur
    none_of: tuple[Term, ...] = ()  # config `not`: none may occur
    near: tuple[Near, ...] = ()  # every clause must be satisfied
    regex: tuple[str, ...] = ()  # RE2 patterns; count like `any` terms
    fields: tuple[str, ...] = FIELDS
    diacritics: Literal["exact", "ignore"] = "exact"

    @property
    def version(self) -> str:
        """Changes whenever the rule changes, so stored hits say which definition produced them."""
        rule = {k: v for k, v in asdict(self).items() if k != "name"}
        return hashlib.sha256(json.dumps(rule, sort_keys=True).encode()).hexdigest()[:12]

    def describe(self) -> str:
        """The rule in one line, for `ingest watchlists`."""
        def terms(ts: tuple[Term, ...]) -> str:
            return " | ".join(json.dumps(t.text, ensure_ascii=False) + (" (exact case)" * t.case_sensitive)
                              for t in ts)

        parts = [f"{k}: {terms(v)}" for k, v in (("any", self.any_of), ("all", self.all_of), ("not", self.none_of)) if v]
        parts += [f"near: {terms(n.terms)} within {n.within} words of {terms(n.with_)}" for n in self.near]
        parts += [f"regex: {r}" for r in self.regex]
        if self.fields != FIELDS:
            parts.append(f"fields: {', '.join(self.fields)}")
        if self.diacritics == "ignore":
            parts.append("diacritics ignored")
        return "; ".join(parts)

    @classmethod
    def from_config(cls, table: dict[str, Any], where: str) -> Watchlist:
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise WatchlistError(f"{where}: every [[watchlists]] table needs a non-empty string 'name'")
        at = f"{where}: watchlist {name!r}"
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise WatchlistError(f"{at}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
        if "terms" in table and "any" in table:
            raise WatchlistError(f"{at}: 'terms' and 'any' mean the same; use one of them")
        case = _choice(table, "case", _CASES, "auto", at)
        diacritics = _choice(table, "diacritics", ("exact", "ignore"), "exact", at)
        key = "any" if "any" in table else "terms"

        def terms(k: str, value: Any, required: bool = False) -> tuple[Term, ...]:
            return _terms(value, f"{at}: {k!r}", case, required)

        wl = cls(
            name=name,
            any_of=terms(key, table.get(key, [])),
            all_of=terms("all", table.get("all", [])),
            none_of=terms("not", table.get("not", [])),
            near=tuple(_near(c, f"{at}: 'near'", terms) for c in _list(table.get("near", []), f"{at}: 'near'")),
            regex=tuple(_regex(p, at) for p in _list(table.get("regex", []), f"{at}: 'regex'")),
            fields=_fields(table.get("fields", "all"), at),
            diacritics=diacritics,
        )
        if not (wl.any_of or wl.all_of or wl.near or wl.regex):
            raise WatchlistError(f"{at}: needs at least one of 'terms', 'any', 'all', 'near' or 'regex'")
        return wl


def _list(value: Any, at: str) -> list[Any]:
    if not isinstance(value, list):
        raise WatchlistError(f"{at}: expected an array, got {value!r}")
    return value


def _choice(table: dict[str, Any], key: str, allowed: tuple[str, ...], default: str, at: str) -> str:
    value = table.get(key, default)
    if value not in allowed:
        raise WatchlistError(f"{at}: {key!r} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _terms(value: Any, at: str, case: str, required: bool) -> tuple[Term, ...]:
    items = _list(value, at)
    if required and not items:
        raise WatchlistError(f"{at}: needs at least one term")
    return tuple(_term(item, at, case) for item in items)


def _term(item: Any, at: str, case: str) -> Term:
    if isinstance(item, dict):
        unknown = sorted(set(item) - {"term", "case"})
        if unknown:
            raise WatchlistError(f"{at}: term {item.get('term')!r}: unknown key {unknown[0]!r} (known: case, term)")
        case = _choice(item, "case", _CASES, case, f"{at}: term {item.get('term')!r}")
        item = item.get("term")
    if not isinstance(item, str):
        raise WatchlistError(f"{at}: term {item!r}: expected a string or {{term = \"...\", case = \"...\"}}")
    if not any(ch.isalnum() for ch in fold_text(item)):
        raise WatchlistError(f"{at}: term {item!r}: empty term (needs a letter or digit)")
    if case == "auto":
        case = "sensitive" if is_acronym(item) else "insensitive"
    return Term(item.strip(), case == "sensitive")


def is_acronym(term: str) -> bool:
    """`CSTO`, `ОДКБ`, `U.S.`: cased letters, none lower-case, at least two characters."""
    letters = [c for c in term if c.isalpha()]
    return len(term.strip()) >= 2 and any(c.isupper() for c in letters) and not any(c.islower() for c in letters)


def _near(clause: Any, at: str, terms: Any) -> Near:
    if not isinstance(clause, dict):
        raise WatchlistError(f"{at}: expected tables like {{terms = [...], with = [...], within = 10}}, got {clause!r}")
    unknown = sorted(set(clause) - {"terms", "with", "within"})
    if unknown:
        raise WatchlistError(f"{at}: unknown key {unknown[0]!r} (known: terms, with, within)")
    within = clause.get("within")
    if isinstance(within, bool) or not isinstance(within, int) or within < 0:
        raise WatchlistError(f"{at}: clause {clause.get('terms')!r} needs 'within' = a number of words >= 0, "
                             f"got {within!r}")
    return Near(terms("near.terms", clause.get("terms", []), True), terms("near.with", clause.get("with", []), True),
                within)


def _regex(pattern: Any, at: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise WatchlistError(f"{at}: regex {pattern!r}: expected a non-empty string")
    engine = _re2()
    if engine is None:
        raise WatchlistError(f"{at}: regex {pattern!r}: regex needs the google-re2 package (pip install google-re2)")
    try:
        compiled = compile_regex(pattern)
    except engine.error as exc:
        raise WatchlistError(f"{at}: regex {pattern!r}: {exc}") from None
    if compiled.search("") is not None:
        raise WatchlistError(f"{at}: regex {pattern!r}: matches the empty string")
    return pattern


def compile_regex(pattern: str) -> Any:
    """RE2: linear time in the text, so no pattern can hang ingestion."""
    engine = _re2()
    options = engine.Options()
    options.log_errors = False
    return engine.compile(pattern, options)


def _fields(value: Any, at: str) -> tuple[str, ...]:
    if value == "all":
        return FIELDS
    items = _list(value, f"{at}: 'fields'") if not isinstance(value, str) else [value]
    bad = [f for f in items if f not in _FIELD_NAMES]
    if bad or not items:
        raise WatchlistError(f"{at}: 'fields' must be \"all\" or a list of title, body, captions; got {value!r}")
    return tuple(f for f in FIELDS if f in {_FIELD_NAMES[i] for i in items})

"""The watchlists page's rule tester: a rule in config.toml's own `[[watchlists]]` schema, tried on stored items.

Pure but for the items the caller passes in: the rule is parsed by `Watchlist.from_config` (what
config.toml's loader runs, so a rule that passes here loads there) and matched by the same
`Matcher` as ingestion. Saving stays a config edit; `toml` is what to paste.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import tomli_w

from ingest.storage.records import article_of
from ingest.storage.tables import ItemRow
from ingest.watchlists import Hit, Watchlist, WatchlistError, compile_watchlists

WHERE = "rule"  # how messages name the pasted text
MAX_ITEMS = 2000


class RuleError(ValueError):
    """The pasted rule is not a valid watchlist; the message says where."""


@dataclass(frozen=True)
class Rule:
    watchlist: Watchlist
    table: dict[str, Any]

    @property
    def toml(self) -> str:
        return tomli_w.dumps({"watchlists": [self.table]})


@dataclass(frozen=True)
class Flagged:
    item: ItemRow
    hits: list[Hit]


def parse(text: str) -> Rule:
    """One `[[watchlists]]` table (or its keys without the header) as a Watchlist, else a RuleError."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{WHERE}: not valid TOML: {exc}") from None
    if "watchlists" in raw:
        tables = raw.pop("watchlists")
        if raw:
            raise RuleError(f"{WHERE}: only a [[watchlists]] table, not {', '.join(sorted(raw))}")
        if not isinstance(tables, list) or len(tables) != 1 or not isinstance(tables[0], dict):
            raise RuleError(f"{WHERE}: give exactly one [[watchlists]] table")
        raw = tables[0]
    if not raw:
        raise RuleError(f"{WHERE}: empty; write a [[watchlists]] table with a name and terms")
    try:
        return Rule(Watchlist.from_config(raw, WHERE), raw)
    except WatchlistError as exc:
        raise RuleError(str(exc)) from None


def flagged(rule: Rule, items: Iterable[ItemRow]) -> list[Flagged]:
    """The items the rule would flag, in the order given, with the hits that flag them."""
    matcher = compile_watchlists([rule.watchlist])
    return [Flagged(row, hits) for row in items if (hits := matcher.match(article_of(row)))]


def configured(path: Any, name: str) -> str | None:
    """Watchlist `name` as written in config.toml, as TOML, to start an edit from; None if not found there."""
    try:
        with open(path, "rb") as f:
            tables = tomllib.load(f).get("watchlists", [])
    except (OSError, tomllib.TOMLDecodeError):
        return None
    for table in tables if isinstance(tables, list) else ():
        if isinstance(table, dict) and table.get("name") == name:
            return tomli_w.dumps({"watchlists": [table]})
    return None

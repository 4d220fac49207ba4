"""What the pages and the API ask of the store: the CLI's own filters (`ingest query`), so the three agree.

Filters are validated by the same code as the CLI's options; its messages name the option, here
they name the query parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click
from fastapi import HTTPException

from ingest import render
from ingest.web import charts

if TYPE_CHECKING:
    from ingest.config import Source
    from ingest.storage.store import ItemQuery, Outlet, Store, StoredItem
    from ingest.storage.tables import SourceState
    from ingest.watchlists import Watchlist
    from ingest.web.charts import Chart
    from ingest.web.ruletest import Flagged, Rule

PAGE_SIZE = 50
SAVED_KEYS = ("watchlist", "source", "language", "since", "until", "q", "story", "state")  # what a saved search keeps
UNREAD_CAP = 100  # unread counts stop here ("100+"): counting further costs time and tells nobody more
_PARAM = {"--search": "q", "--since": "since", "--until": "until", "--cursor": "cursor"}


@dataclass(frozen=True)
class Filters:
    """The query string of the inbox and of /api/v1/items."""

    watchlist: str | None = None
    source: str | None = None
    language: str | None = None
    since: str | None = None
    until: str | None = None
    q: str | None = None
    story: int | None = None
    state: str | None = None  # triage state; the inbox's default is "unreviewed", "all" is none
    flagged: bool = False
    cursor: str | None = None
    limit: int = PAGE_SIZE

    def query(self, **extra) -> ItemQuery:  # noqa: ANN003
        """The store query, or a 400 naming the parameter that is wrong."""
        from ingest.filters import item_query
        from ingest.storage.triage import STATES

        state = None if self.state in (None, "", "all") else self.state
        if state is not None and state not in STATES:
            raise HTTPException(400, f"state: expected one of all, {', '.join(STATES)}; got {self.state!r}")
        try:
            return item_query(self.watchlist, self.flagged, (self.source,) if self.source else (),
                              (self.language,) if self.language else (), self.story, self.since or None,
                              self.until or None, self.q or None, limit=self.limit,
                              after=render.read_cursor(self.cursor), state=state, **extra)
        except click.BadParameter as exc:
            hint = _PARAM.get(exc.param_hint or "", exc.param_hint or "parameter")
            raise HTTPException(400, f"{hint}: {exc.message}") from None

    @classmethod
    def of(cls, params: dict[str, str]) -> Filters:
        """Filters from a query string (a saved search's); unknown keys are ignored, a bad story id is a 400."""
        known = {k: v for k, v in params.items() if k in SAVED_KEYS and v not in (None, "")}
        if "story" in known:
            try:
                known["story"] = int(known["story"])
            except ValueError:
                raise HTTPException(400, f"story: expected a story id, got {known['story']!r}") from None
        return cls(**known)

    def params(self, **changes) -> dict[str, str]:  # noqa: ANN003
        """The non-empty parameters, as a link to the same list (changed) would carry them."""
        values = {k: v for k, v in vars(self).items() if k not in ("flagged", "limit")}
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass
class StoryRow:
    """One inbox row: a story's newest matching item, with every outlet of the story."""

    item: StoredItem
    outlets: list[Outlet] = field(default_factory=list)


def items(store: Store, q: ItemQuery) -> tuple[list[StoredItem], str | None]:
    """A page of items and the cursor of the next page (None on the last), as `ingest query` prints it."""
    rows = store.query(q)
    return rows, (render.cursor(rows[-1]) if len(rows) == q.limit and q.sort == "newest" else None)


def stories(store: Store, q: ItemQuery) -> tuple[list[StoryRow], str | None]:
    """A page of story rows, newest first, each with every outlet of its story."""
    rows, more = items(store, q)
    outlets = store.outlets(s.item.story_id for s in rows)
    return [StoryRow(s, outlets.get(s.item.story_id, [])) for s in rows], more


def item(store: Store, item_id: int) -> StoredItem:
    stored = store.get(item_id)
    if stored is None:
        raise HTTPException(404, f"no item with id {item_id}")
    return stored


CHART_DAYS = 30


@dataclass
class SourceView:
    """A source as the sources page and /api/v1/sources show it."""

    source: Source
    state: SourceState | None
    items: int
    per_day: Chart


def sources(app_state) -> list[SourceView]:  # noqa: ANN001
    from ingest.storage.activity import days

    store = app_state.store
    now = datetime.now(timezone.utc)
    states = {s.name: s for s in store.source_states()}
    counts = store.activity.items_per_day(now, CHART_DAYS)
    span = days(now, CHART_DAYS)
    return [SourceView(s, states.get(s.name), store.count_items(s.name), charts.bars(counts.get(s.name, {}), span))
            for s in app_state.config.sources]


def poll(app_state, name: str) -> bool:  # noqa: ANN001
    """Start polling source `name` now; False when a poll of it is already running; 404 for an unknown name."""
    from ingest.config import ConfigError

    try:
        source = app_state.config.source(name)
    except ConfigError:
        raise HTTPException(404, f"no source named {name!r}") from None
    return app_state.poller.start(source) is not None


@dataclass
class WatchlistView:
    watchlist: Watchlist
    per_day: Chart


def watchlists(app_state) -> list[WatchlistView]:  # noqa: ANN001
    from ingest.storage.activity import days

    now = datetime.now(timezone.utc)
    counts = app_state.store.activity.hits_per_day(now, CHART_DAYS)
    span = days(now, CHART_DAYS)
    return [WatchlistView(w, charts.bars(counts.get(w.name, {}), span)) for w in app_state.config.watchlists]


TEST_ITEMS = 200


@dataclass
class Trial:
    """A tested rule: how many of the newest stored items were tried, and those it flags."""

    rule: Rule
    tested: int
    flagged: list[Flagged]
    flagged_now: dict[int, list[str]]  # item id: the watchlists that flag it in the store already


def try_rule(store: Store, text: str, limit: int = TEST_ITEMS) -> Trial:
    """The rule in `text` on the newest `limit` stored items; a 400 names what is wrong with the rule."""
    from ingest.storage.store import ItemQuery
    from ingest.web import ruletest

    if not 1 <= limit <= ruletest.MAX_ITEMS:
        raise HTTPException(400, f"limit: expected 1 to {ruletest.MAX_ITEMS} items, got {limit}")
    try:
        rule = ruletest.parse(text)
    except ruletest.RuleError as exc:
        raise HTTPException(400, str(exc)) from None
    stored = store.query(ItemQuery(limit=limit))
    return Trial(rule, len(stored), ruletest.flagged(rule, (s.item for s in stored)),
                 {s.item.id: s.watchlists for s in stored})


METADATA = ("title", "published", "updated", "authors", "language", "site_name", "canonical_url", "image", "section",
            "tags")


def metadata(item) -> list[tuple[str, Any, str | None]]:  # noqa: ANN001
    """Each metadata field of an item with its value and where the extractor found it (its `sources`), the
    recorded fields first; a field without a value or a source is left out."""
    found = item.meta.get("sources") or {}
    values = {"image": item.lead_image_url, "section": item.meta.get("section"), "tags": item.meta.get("tags")}
    rows = []
    for name in (*METADATA, *sorted(set(found) - set(METADATA))):
        value = values[name] if name in values else getattr(item, name, None)
        if value not in (None, "", [], ()) or name in found:
            rows.append((name, value, found.get(name)))
    return rows


@dataclass(frozen=True)
class Version:
    number: int
    fetched_at: datetime
    title: str | None
    blocks: list[str]


def versions(stored: StoredItem) -> dict[int, Version]:
    """Every kept version of an item by revision number, the current one last."""
    out = {r.number: Version(r.number, r.fetched_at, r.title, [b["text"] for b in r.blocks]) for r in stored.revisions}
    i = stored.item
    out[i.revision] = Version(i.revision, i.fetched_at, i.title, [b["text"] for b in i.blocks])
    return out


def saved_filters(params: dict[str, str]) -> Filters:
    """A saved search's query: the inbox's (flagged items), checked as the inbox checks them."""
    f = replace(Filters.of(params), flagged=True)
    f.query()  # a 400 now rather than when the search is next opened
    return f


def unread(store: Store, params: dict[str, str], seen_id: int) -> int:
    """Items matching a saved search stored after it was last opened, up to UNREAD_CAP."""
    f = replace(Filters.of(params), flagged=True, limit=UNREAD_CAP)
    return len(store.query(f.query(min_id=seen_id + 1)))


def search_feed(store: Store, row, limit: int) -> bytes:  # noqa: ANN001
    """A saved search's Atom feed, written by the watchlists' Atom code; each entry's summary its hit snippets."""
    from ingest.alerts import atom_feed

    stored = store.query(replace(Filters.of(row.params), flagged=True, limit=limit).query())
    entries = [(s.item, list(dict.fromkeys([s.snippet] if s.snippet else [h.snippet for h in s.hits]))) for s in stored]
    return atom_feed(row.name, entries, datetime.now(timezone.utc), feed_id=f"urn:ingest:search:{row.id}",
                     title=f"ingest search: {row.name}")


def compared(stored: StoredItem, a: int | None, b: int | None) -> tuple[list[Version], Version, Version]:
    """Every version, and the two to compare: by default the one before the current, and the current; 404 for
    a revision not kept."""
    kept = versions(stored)
    numbers = sorted(kept)
    a = (numbers[-2] if len(numbers) > 1 else numbers[-1]) if a is None else a
    b = numbers[-1] if b is None else b
    for name, n in (("a", a), ("b", b)):
        if n not in kept:
            raise HTTPException(404, f"{name}: item {stored.item.id} has no revision {n} "
                                     f"(kept: {', '.join(map(str, numbers))})")
    return [kept[n] for n in numbers], kept[a], kept[b]

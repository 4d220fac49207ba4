"""`ingest rematch`: run watchlists over items already stored, so a new or changed definition sees the past.

Hits found this way are `historical` and never alert (no outbox rows).  Hits made by an older
definition of a watchlist are replaced, so stale ones do not linger; an item that a definition
flagged at ingestion stays non-historical when the new definition still matches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from ingest.logs import log
from ingest.storage.hits import Pair
from ingest.storage.records import article_of, hit_row
from ingest.storage.store import Store
from ingest.storage.tables import HitRow, ItemRow
from ingest.terminal import plural
from ingest.watchlists import Hit, Watchlist, compile_watchlists


@dataclass
class Rematched:
    watchlist: str
    checked: int = 0  # items whose hits were computed again (the rest were current already)
    flagged: int = 0  # of those, items the definition matches
    dropped: int = 0  # items whose old hits went because the definition no longer matches them

    def summary(self) -> str:
        return (f"{self.watchlist}: {plural(self.checked, 'item')} re-evaluated, {self.flagged} flagged, "
                f"{self.dropped} unflagged")


def rematch(store: Store, watchlists: Sequence[Watchlist], batch: int = 200,
            progress: Callable[[int], None] = lambda n: None) -> list[Rematched]:
    """Bring every stored item's hits of these watchlists up to their current definitions, and remember them
    (`progress(n)` after each batch of n items)."""
    if not watchlists:
        return []
    matcher = compile_watchlists(watchlists)
    versions = {w.name: w.version for w in watchlists}
    results = {name: Rematched(name) for name in versions}
    for items in store.hits.item_batches(batch):
        stored = store.hits.versions([i.id for i in items], list(versions))
        stale: list[Pair] = []
        new: list[HitRow] = []
        for item in items:
            found = _by_watchlist(matcher.match(article_of(item)))
            for name, version in versions.items():
                old = stored.get((item.id, name), [])
                if old and all(v == version for v, _ in old):
                    continue
                result, hits = results[name], found.get(name, [])
                result.checked += 1
                result.flagged += bool(hits)
                result.dropped += bool(old) and not hits
                if old:
                    stale.append((item.id, name))
                live = any(not historical for _, historical in old)
                new.extend(_row(h, item, historical=not live) for h in hits)
        if stale or new:
            store.hits.replace(versions, stale, new)
        progress(len(items))
    if versions:
        store.hits.save_versions(versions, datetime.now(timezone.utc))
    for r in results.values():
        log.info("rematched", watchlist=r.watchlist, checked=r.checked, flagged=r.flagged, dropped=r.dropped)
    return list(results.values())


def rematch_changed(store: Store, watchlists: Sequence[Watchlist]) -> list[Rematched]:
    """At daemon start: rematch only the watchlists whose definition changed since they were last run."""
    evaluated = store.hits.evaluated_versions()
    return rematch(store, [w for w in watchlists if evaluated.get(w.name) != w.version])


def _by_watchlist(hits: list[Hit]) -> dict[str, list[Hit]]:
    out: dict[str, list[Hit]] = {}
    for h in hits:
        out.setdefault(h.watchlist, []).append(h)
    return out


def _row(hit: Hit, item: ItemRow, historical: bool) -> HitRow:
    row = hit_row(hit)
    row.item_id, row.revision, row.historical = item.id, item.revision, historical
    return row

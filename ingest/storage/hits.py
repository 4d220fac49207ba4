"""Queries of a backfill (`ingest rematch`): items a batch at a time, their hits, and watchlist versions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, delete, or_
from sqlmodel import select

from ingest.storage.session import Session
from ingest.storage.tables import HitRow, ItemRow, WatchlistStateRow

Pair = tuple[int, str]  # (item id, watchlist)


class Hits:
    """`Store.hits`."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def item_batches(self, batch: int = 200) -> Iterator[list[ItemRow]]:
        """Every item in id order, a batch at a time (never all in memory)."""
        last = 0
        while True:
            with Session(self.engine) as s:
                rows = list(s.exec(select(ItemRow).where(ItemRow.id > last).order_by(ItemRow.id).limit(batch)).all())
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def versions(self, item_ids: Sequence[int], watchlists: Sequence[str]) -> dict[Pair, list[tuple[str, bool]]]:
        """(version, historical) of each stored hit, by item and watchlist."""
        with Session(self.engine) as s:
            return _versions(s, item_ids, watchlists)

    def replace(self, versions: Mapping[str, str], stale: Sequence[Pair], new: Sequence[HitRow]) -> None:
        """Drop hits made by older definitions and add the new ones, in one transaction.

        Checked again inside it: a poll may have stored current hits for one of these items meanwhile,
        and those are neither deleted nor duplicated.
        """
        with Session(self.engine) as s, s.begin():
            if stale:
                s.exec(delete(HitRow).where(or_(*(and_(HitRow.item_id == i, HitRow.watchlist == w,
                                                       HitRow.version != versions[w]) for i, w in stale))))
            ids = sorted({h.item_id for h in new})
            current = {pair for pair, found in _versions(s, ids, list(versions)).items()
                       if any(v == versions[pair[1]] for v, _ in found)} if ids else set()
            s.add_all(h for h in new if (h.item_id, h.watchlist) not in current)

    def evaluated_versions(self) -> dict[str, str]:
        with Session(self.engine) as s:
            return {r.name: r.version for r in s.exec(select(WatchlistStateRow))}

    def save_versions(self, versions: Mapping[str, str], now: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            for name, version in versions.items():
                s.merge(WatchlistStateRow(name=name, version=version, evaluated_at=now))


def _versions(s: Session, item_ids: Sequence[int], watchlists: Sequence[str]) -> dict[Pair, list[tuple[str, bool]]]:
    out: dict[Pair, list[tuple[str, bool]]] = {}
    rows = s.exec(select(HitRow.item_id, HitRow.watchlist, HitRow.version, HitRow.historical)
                  .where(HitRow.item_id.in_(list(item_ids)), HitRow.watchlist.in_(list(watchlists))))
    for item_id, watchlist, version, historical in rows:
        out.setdefault((item_id, watchlist), []).append((version, historical))
    return out

"""Counts per day for the web app's charts: items stored per source, items flagged per watchlist.

Days are UTC calendar days of `fetched_at`: when the service stored (and flagged) the item, which is
what says whether a source or a rule is alive (an article published years ago and fetched today counts
today); `date()` is the same function on SQLite (a string) and PostgreSQL (a date), so one statement serves both.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select

from ingest.storage.tables import HitRow, ItemRow


def days(now: datetime, count: int) -> list[date]:
    """The last `count` UTC days, oldest first, today included."""
    today = now.date()
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


def _counts(engine: Engine, stmt) -> dict[str, dict[date, int]]:  # noqa: ANN001
    out: dict[str, dict[date, int]] = defaultdict(dict)
    with engine.connect() as conn:
        for key, day, count in conn.execute(stmt):
            out[key][day if isinstance(day, date) else date.fromisoformat(str(day)[:10])] = count
    return dict(out)


class Activity:
    """`Store.activity`."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def items_per_day(self, now: datetime, count: int = 30) -> dict[str, dict[date, int]]:
        """Items per source and day, the last `count` days."""
        since = datetime.combine(days(now, count)[0], datetime.min.time(), now.tzinfo)
        day = func.date(ItemRow.fetched_at)
        stmt = (select(ItemRow.source, day, func.count()).where(ItemRow.fetched_at >= since)
                .group_by(ItemRow.source, day))
        return _counts(self.engine, stmt)

    def hits_per_day(self, now: datetime, count: int = 30) -> dict[str, dict[date, int]]:
        """Items flagged per watchlist and day (an item counts once a day per watchlist), the last `count` days."""
        since = datetime.combine(days(now, count)[0], datetime.min.time(), now.tzinfo)
        day = func.date(ItemRow.fetched_at)
        stmt = (select(HitRow.watchlist, day, func.count(func.distinct(HitRow.item_id)))
                .join(ItemRow, ItemRow.id == HitRow.item_id).where(ItemRow.fetched_at >= since)
                .group_by(HitRow.watchlist, day))
        return _counts(self.engine, stmt)

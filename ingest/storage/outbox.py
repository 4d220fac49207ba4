"""Queries of the alert outbox and of flagged items, for the sender (`ingest.alerts`) and the Atom output.

A delivery attempt is claimed with a conditional UPDATE (`state = 'pending' AND attempts = <seen>`):
of several senders that saw the same row, exactly one changes it, so exactly one sends it.  The
claim also moves `next_attempt` past the request's deadline (a lease), so a sender that dies
mid-request leaves the row to be retried once the lease ends, never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, update
from sqlmodel import Session, select

from ingest.storage.tables import AlertRow, HitRow, ItemRow


@dataclass(frozen=True)
class Alert:
    """A claimed alert with what its message says, read at send time."""

    row: AlertRow
    item: ItemRow | None  # None when the item was pruned since
    snippets: tuple[str, ...]
    outlets: tuple[ItemRow, ...]  # every stored item of the story, oldest first


def due(engine: Engine, watchlists: Sequence[str], now: datetime, limit: int = 100) -> list[AlertRow]:
    """Pending alerts of these watchlists whose next attempt has come, oldest first."""
    if not watchlists:
        return []
    with Session(engine) as s:
        return list(s.exec(select(AlertRow).where(AlertRow.state == "pending", AlertRow.next_attempt <= now,
                                                  AlertRow.watchlist.in_(list(watchlists)))
                           .order_by(AlertRow.id).limit(limit)).all())


def last_sent(engine: Engine, watchlist: str) -> datetime | None:
    with Session(engine) as s:
        return s.exec(select(func.max(AlertRow.sent_at)).where(AlertRow.watchlist == watchlist,
                                                               AlertRow.state == "sent")).one()


def claim(engine: Engine, rows: Sequence[AlertRow], now: datetime, lease: float) -> list[AlertRow]:
    """The rows this caller won: each counts one more attempt and is leased until `now + lease`."""
    won = []
    with Session(engine) as s, s.begin():
        for row in rows:
            result = s.exec(update(AlertRow)
                            .where(AlertRow.id == row.id, AlertRow.state == "pending",
                                   AlertRow.attempts == row.attempts)
                            .values(attempts=row.attempts + 1, next_attempt=now + timedelta(seconds=lease)))
            if result.rowcount == 1:
                won.append(row.model_copy(update={"attempts": row.attempts + 1}))
    return won


def mark_sent(engine: Engine, rows: Sequence[AlertRow], now: datetime) -> None:
    with Session(engine) as s, s.begin():
        s.exec(update(AlertRow).where(AlertRow.id.in_([r.id for r in rows]), AlertRow.state == "pending")
               .values(state="sent", sent_at=now, last_error=None))


def mark_failed(engine: Engine, rows: Sequence[AlertRow], retry_at: datetime, error: str) -> None:
    with Session(engine) as s, s.begin():
        s.exec(update(AlertRow).where(AlertRow.id.in_([r.id for r in rows]), AlertRow.state == "pending")
               .values(next_attempt=retry_at, last_error=error[:500]))


def details(engine: Engine, rows: Sequence[AlertRow]) -> list[Alert]:
    """Each alert's item, its snippets for the watchlist, and the story's outlets as stored now."""
    out = []
    with Session(engine) as s:
        for row in rows:
            item = s.get(ItemRow, row.item_id) if row.item_id is not None else None
            snippets = s.exec(select(HitRow.snippet).where(HitRow.item_id == row.item_id,
                                                           HitRow.watchlist == row.watchlist)
                              .order_by(HitRow.id)).all() if item else []
            outlets = s.exec(select(ItemRow).where(ItemRow.story_id == row.story_id).order_by(ItemRow.id)).all()
            out.append(Alert(row, item, tuple(dict.fromkeys(snippets)), tuple(outlets)))
    return out


def flagged(engine: Engine, watchlist: str, limit: int = 50) -> list[tuple[ItemRow, list[str]]]:
    """The newest items this watchlist flagged at ingestion (not by a rematch), with their snippets."""
    with Session(engine) as s:
        ids = select(HitRow.item_id).where(HitRow.watchlist == watchlist, HitRow.historical.is_(False))
        items = s.exec(select(ItemRow).where(ItemRow.id.in_(ids))
                       .order_by(ItemRow.sort_time.desc(), ItemRow.id.desc()).limit(limit)).all()
        snippets: dict[int, list[str]] = {i.id: [] for i in items}
        if items:
            for item_id, snippet in s.exec(select(HitRow.item_id, HitRow.snippet)
                                           .where(HitRow.item_id.in_(list(snippets)), HitRow.watchlist == watchlist,
                                                  HitRow.historical.is_(False)).order_by(HitRow.id)):
                snippets[item_id].append(snippet)
        return [(i, list(dict.fromkeys(snippets[i.id]))) for i in items]


def flagged_mark(engine: Engine, watchlist: str) -> tuple[int | None, int]:
    """Changes whenever the watchlist's ingestion hits change: (newest hit id, count)."""
    with Session(engine) as s:
        newest, count = s.exec(select(func.max(HitRow.id), func.count()).where(
            HitRow.watchlist == watchlist, HitRow.historical.is_(False))).one()
        return newest, count

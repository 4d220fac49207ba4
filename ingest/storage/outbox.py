"""Queries of the alert outbox and of flagged items, for the senders (`ingest.alerts`, `ingest.channels`) and Atom.

A delivery attempt is claimed with a conditional UPDATE (`state = 'pending' AND attempts = <seen>`):
of several senders that saw the same row, exactly one changes it, so exactly one sends it.  The
claim also moves `next_attempt` past the request's deadline (a lease), so a sender that dies
mid-request leaves the row to be retried once the lease ends, never lost.

The pipeline writes one `alert` row per (watchlist, story) with the item; the webhook is delivered from
that row itself, and each notify target from a `delivery` row per (alert, target), made from the alert
rows by `fan_out` (unique, so a target gets an alert once whatever the number of senders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine, exists, func, update
from sqlmodel import select

from ingest.storage.session import Session, insert_ignore
from ingest.storage.tables import AlertRow, DeliveryRow, HitRow, ItemRow, TargetRow

Row = TypeVar("Row", AlertRow, DeliveryRow)
NEW_TARGET_BACKLOG = timedelta(hours=1)


@dataclass(frozen=True)
class Alert:
    """A claimed alert with what its message says, read at send time."""

    row: AlertRow
    item: ItemRow | None  # None when the item was pruned since
    snippets: tuple[str, ...]
    outlets: tuple[ItemRow, ...]  # every stored item of the story, oldest first


@dataclass(frozen=True)
class Entry:
    """One line of the delivery log: `wID` a webhook alert, `nID` a delivery to a notify target."""

    ident: str
    row: AlertRow | DeliveryRow
    target: str  # "webhook" or the notify target's name
    title: str | None  # the item's, None once pruned

    @property
    def status(self) -> str:
        if self.row.state == "sent":
            return "delivered"
        return "failing" if self.row.last_error else "pending"


class Outbox:
    """The outbox and flagged-item queries of one database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def due(self, watchlists: Sequence[str], now: datetime, limit: int = 100) -> list[AlertRow]:
        """Pending alerts of these watchlists whose next attempt has come, oldest first."""
        if not watchlists:
            return []
        with Session(self.engine) as s:
            return list(s.exec(select(AlertRow).where(AlertRow.state == "pending", AlertRow.next_attempt <= now,
                                                      AlertRow.watchlist.in_(list(watchlists)))
                               .order_by(AlertRow.id).limit(limit)).all())

    def last_sent(self, watchlist: str, target: str | None = None) -> datetime | None:
        """When the watchlist's webhook (or, with `target`, that notify target) last accepted a message."""
        table = AlertRow if target is None else DeliveryRow
        query = select(func.max(table.sent_at)).where(table.watchlist == watchlist, table.state == "sent")
        with Session(self.engine) as s:
            return s.exec(query if target is None else query.where(DeliveryRow.target == target)).one()

    # -- notify targets ------------------------------------------------------------

    def fan_out(self, watchlist: str, target: str, now: datetime) -> int:
        """Delivery rows for the watchlist's alerts this target has not got yet; returns how many were made.
        A target seen for the first time gets only the alerts of the last `NEW_TARGET_BACKLOG`: adding one
        to a busy watchlist sends no history, and a daemon's first poll racing its first sender run loses none."""
        with Session(self.engine) as s, s.begin():
            newest = select(func.coalesce(func.max(AlertRow.id), 0)).where(
                AlertRow.watchlist == watchlist, AlertRow.created_at < now - NEW_TARGET_BACKLOG)
            insert_ignore(s, TargetRow, [{"watchlist": watchlist, "target": target,
                                           "since_alert": s.exec(newest).one(), "added_at": now}])
            since = select(TargetRow.since_alert).where(TargetRow.watchlist == watchlist, TargetRow.target == target)
            had = select(DeliveryRow.id).where(DeliveryRow.alert_id == AlertRow.id, DeliveryRow.target == target)
            rows = [{"alert_id": a.id, "watchlist": watchlist, "target": target, "created_at": a.created_at,
                     "next_attempt": a.created_at, "state": "pending", "attempts": 0}
                    for a in s.exec(select(AlertRow).where(AlertRow.watchlist == watchlist,
                                                           AlertRow.id > since.scalar_subquery(), ~exists(had)))]
            insert_ignore(s, DeliveryRow, rows)
            return len(rows)

    def due_deliveries(self, watchlist: str, target: str, now: datetime, limit: int = 100) -> list[DeliveryRow]:
        """Pending deliveries to this target whose next attempt has come, oldest first."""
        with Session(self.engine) as s:
            return list(s.exec(select(DeliveryRow).where(
                DeliveryRow.watchlist == watchlist, DeliveryRow.target == target, DeliveryRow.state == "pending",
                DeliveryRow.next_attempt <= now).order_by(DeliveryRow.id).limit(limit)).all())

    def alerts_of(self, deliveries: Sequence[DeliveryRow]) -> list[AlertRow]:
        with Session(self.engine) as s:
            rows = {r.id: r for r in s.exec(select(AlertRow).where(AlertRow.id.in_([d.alert_id for d in deliveries])))}
        return [rows[d.alert_id] for d in deliveries]

    def log(self, webhooks: Sequence[str], limit: int = 50) -> list[Entry]:
        """The newest alerts of these watchlists' webhooks and every notify delivery, for `ingest alerts`:
        newest first (a watchlist without a webhook has alert rows only as the source of its deliveries)."""
        with Session(self.engine) as s:
            alerts = s.exec(select(AlertRow, ItemRow.title).outerjoin(ItemRow, ItemRow.id == AlertRow.item_id)
                            .where(AlertRow.watchlist.in_(list(webhooks)))
                            .order_by(AlertRow.id.desc()).limit(limit)).all()
            deliveries = s.exec(select(DeliveryRow, ItemRow.title).join(AlertRow, AlertRow.id == DeliveryRow.alert_id)
                                .outerjoin(ItemRow, ItemRow.id == AlertRow.item_id)
                                .order_by(DeliveryRow.id.desc()).limit(limit)).all()
        entries = [Entry(f"w{r.id}", r, "webhook", title) for r, title in alerts]
        entries += [Entry(f"n{r.id}", r, r.target, title) for r, title in deliveries]
        return sorted(entries, key=lambda e: e.row.created_at, reverse=True)[:limit]

    def retry(self, ident: str, now: datetime) -> Entry | None:
        """Make a pending alert (`wID`) or delivery (`nID`) due now; the entry as it was, or None if unknown."""
        table = {"w": AlertRow, "n": DeliveryRow}.get(ident[:1])
        if table is None or not ident[1:].isdigit():
            return None
        with Session(self.engine) as s, s.begin():
            row = s.get(table, int(ident[1:]))
            if row is None:
                return None
            entry = Entry(ident, row.model_copy(), getattr(row, "target", "webhook"), None)
            if row.state == "pending":
                row.next_attempt = now
        return entry

    def claim(self, rows: Sequence[Row], now: datetime, lease: float) -> list[Row]:
        """The rows this caller won: each counts one more attempt and is leased until `now + lease`.
        Alerts (the webhook's) and deliveries (a notify target's) alike."""
        won = []
        with Session(self.engine) as s, s.begin():
            for row in rows:
                table = type(row)
                result = s.exec(update(table)
                                .where(table.id == row.id, table.state == "pending", table.attempts == row.attempts)
                                .values(attempts=row.attempts + 1, next_attempt=now + timedelta(seconds=lease)))
                if result.rowcount == 1:
                    won.append(row.model_copy(update={"attempts": row.attempts + 1}))
        return won

    def mark_sent(self, rows: Sequence[Row], now: datetime) -> None:
        self._pending(rows, state="sent", sent_at=now, last_error=None)

    def mark_failed(self, rows: Sequence[Row], retry_at: datetime, error: str) -> None:
        self._pending(rows, next_attempt=retry_at, last_error=error[:500])

    def _pending(self, rows: Sequence[Row], **values: object) -> int:
        if not rows:
            return 0
        table = type(rows[0])
        with Session(self.engine) as s, s.begin():
            return s.exec(update(table).where(table.id.in_([r.id for r in rows]), table.state == "pending")
                          .values(**values)).rowcount

    def details(self, rows: Sequence[AlertRow]) -> list[Alert]:
        """Each alert's item, its snippets for the watchlist, and the story's outlets as stored now."""
        out = []
        with Session(self.engine) as s:
            for row in rows:
                item = s.get(ItemRow, row.item_id) if row.item_id is not None else None
                snippets = s.exec(select(HitRow.snippet).where(HitRow.item_id == row.item_id,
                                                               HitRow.watchlist == row.watchlist)
                                  .order_by(HitRow.id)).all() if item else []
                outlets = s.exec(select(ItemRow).where(ItemRow.story_id == row.story_id).order_by(ItemRow.id)).all()
                out.append(Alert(row, item, tuple(dict.fromkeys(snippets)), tuple(outlets)))
        return out

    def flagged(self, watchlist: str, limit: int = 50) -> list[tuple[ItemRow, list[str]]]:
        """The newest items this watchlist flagged at ingestion (not by a rematch), with their snippets."""
        with Session(self.engine) as s:
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

    def flagged_mark(self, watchlist: str) -> tuple[int | None, int]:
        """Changes whenever the watchlist's ingestion hits change: (newest hit id, count)."""
        with Session(self.engine) as s:
            newest, count = s.exec(select(func.max(HitRow.id), func.count()).where(
                HitRow.watchlist == watchlist, HitRow.historical.is_(False))).one()
            return newest, count

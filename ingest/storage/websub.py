"""WebSub subscriptions (`websub` table): what `ingest.sources.websub` asked hubs, and what they answered."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session

from ingest.storage.tables import WebSubRow


def subscription(engine: Engine, source: str) -> WebSubRow | None:
    with Session(engine) as s:
        row = s.get(WebSubRow, source)
        if row is not None:
            s.expunge(row)
        return row


def save(engine: Engine, row: WebSubRow) -> None:
    with Session(engine) as s, s.begin():
        s.merge(row)


def forget(engine: Engine, source: str) -> None:
    """The feed no longer declares a hub (or the source is gone): its pushes are refused from now on."""
    with Session(engine) as s, s.begin():
        s.execute(delete(WebSubRow).where(WebSubRow.source == source))


def verified(engine: Engine, source: str, topic: str, lease_seconds: int, now: datetime) -> bool:
    """The hub confirmed a subscription we asked for (this source, this topic): its lease starts now."""
    with Session(engine) as s, s.begin():
        row = s.get(WebSubRow, source)
        if row is None or row.topic != topic or row.state == "denied":
            return False
        row.state, row.lease_seconds, row.error = "verified", lease_seconds, None
        row.expires = now + timedelta(seconds=lease_seconds)
        return True


def denied(engine: Engine, source: str, topic: str, reason: str | None) -> bool:
    """The hub refused the subscription: no pushes will come; polling goes on at the source's own interval."""
    with Session(engine) as s, s.begin():
        row = s.get(WebSubRow, source)
        if row is None or row.topic != topic:
            return False
        row.state, row.expires, row.error = "denied", None, f"the hub denied the subscription: {reason or 'no reason'}"
        return True

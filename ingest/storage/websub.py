"""WebSub subscriptions (`websub` table): what `ingest.sources.websub` asked hubs, and what they answered."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete

from ingest.storage.session import Session
from ingest.storage.tables import WebSubRow


class Subscriptions:
    """Held by `Store` as `store.websub`."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, source: str) -> WebSubRow | None:
        with Session(self.engine) as s:
            row = s.get(WebSubRow, source)
            if row is not None:
                s.expunge(row)
            return row

    def save(self, row: WebSubRow) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(row)

    def forget(self, source: str) -> None:
        """The feed no longer declares a hub (or the source is gone): its pushes are refused from now on."""
        with Session(self.engine) as s, s.begin():
            s.execute(delete(WebSubRow).where(WebSubRow.source == source))

    def verified(self, source: str, topic: str, lease_seconds: int, now: datetime) -> bool:
        """The hub confirmed a subscription we asked for (this source, this topic): its lease starts now."""
        with Session(self.engine) as s, s.begin():
            row = s.get(WebSubRow, source)
            if row is None or row.topic != topic or row.state == "denied":
                return False
            row.state, row.lease_seconds, row.error = "verified", lease_seconds, None
            row.expires = now + timedelta(seconds=lease_seconds)
            return True

    def denied(self, source: str, topic: str, reason: str | None) -> bool:
        """The hub refused the subscription: no pushes will come; polling goes on at the source's own interval."""
        with Session(self.engine) as s, s.begin():
            row = s.get(WebSubRow, source)
            if row is None or row.topic != topic:
                return False
            row.state, row.expires = "denied", None
            row.error = f"the hub denied the subscription: {reason or 'no reason'}"
            return True

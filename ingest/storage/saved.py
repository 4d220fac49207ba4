"""Saved searches of the web app: per user, or for everyone when the app runs without sign-in (owner None)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, func
from sqlmodel import select

from ingest.storage.session import Session
from ingest.storage.tables import ItemRow, SavedSearchRow


def _mine(owner: str | None):  # noqa: ANN202
    return SavedSearchRow.owner.is_(None) if owner is None else SavedSearchRow.owner == owner


class SavedSearches:
    """`Store.saved`."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def searches(self, owner: str | None) -> list[SavedSearchRow]:
        with Session(self.engine) as s:
            return list(s.exec(select(SavedSearchRow).where(_mine(owner)).order_by(SavedSearchRow.name)))

    def search(self, owner: str | None, search_id: int) -> SavedSearchRow | None:
        """One of `owner`'s searches (another user's is as good as missing)."""
        with Session(self.engine) as s:
            return s.exec(select(SavedSearchRow).where(SavedSearchRow.id == search_id, _mine(owner))).first()

    def newest_id(self) -> int:
        with Session(self.engine) as s:
            return s.exec(select(func.max(ItemRow.id))).one() or 0

    def save(self, owner: str | None, name: str, params: dict[str, str], now: datetime) -> SavedSearchRow:
        """Save a search under `name`, replacing the filters of one so named; what is stored now counts as seen."""
        with Session(self.engine) as s, s.begin():
            row = s.exec(select(SavedSearchRow).where(_mine(owner), SavedSearchRow.name == name)).first()
            if row is None:
                row = SavedSearchRow(owner=owner, name=name, created_at=now)
            row.params = dict(params)
            row.seen_id = s.exec(select(func.max(ItemRow.id))).one() or 0
            s.add(row)
            s.flush()
            s.refresh(row)
            s.expunge(row)
        return row

    def mark_seen(self, search_id: int, seen_id: int) -> None:
        with Session(self.engine) as s, s.begin():
            row = s.get(SavedSearchRow, search_id)
            if row is not None and seen_id > row.seen_id:
                row.seen_id = seen_id

    def remove(self, owner: str | None, search_id: int) -> bool:
        with Session(self.engine) as s, s.begin():
            return s.exec(delete(SavedSearchRow).where(SavedSearchRow.id == search_id, _mine(owner))).rowcount > 0

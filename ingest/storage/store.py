"""The one place that talks to the database: SQLite by default, PostgreSQL by URL.

Each stored item goes in with its fingerprints and hits in one transaction; the
fingerprint table's primary key is what finally decides "duplicate", so two workers
racing on the same story cannot both store it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, create_engine, event, func, or_, tuple_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ingest.storage import migrate
from ingest.storage.tables import FingerprintRow, HitRow, HostRow, ItemRow, SourceRow

Key = tuple[str, str]  # (fingerprint kind, value)
_MAX_KEY = 512  # longer fingerprint values are hashed: index entries stay small on both backends


class SchemaError(RuntimeError):
    """The database schema does not match this version of the code."""


def engine_for(url: str) -> Engine:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
        # WAL lets `ingest query` read while the daemon writes; busy_timeout waits out writer locks.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def key_value(value: str) -> str:
    if len(value) <= _MAX_KEY:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ItemQuery:
    watchlist: str | None = None
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass
class StoredItem:
    item: ItemRow
    hits: list[HitRow] = field(default_factory=list)
    fingerprints: list[FingerprintRow] = field(default_factory=list)

    @property
    def watchlists(self) -> list[str]:
        return sorted({h.watchlist for h in self.hits})


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine = engine_for(url)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------

    def prepare(self) -> None:
        """Create the schema on an empty database; refuse one that is behind the code."""
        current = migrate.current_revision(self.engine)
        head = migrate.head_revision()
        if current == head:
            return
        if current is None:
            migrate.upgrade(self.engine)
            return
        raise SchemaError(
            f"database schema is at revision {current or 'none'}, this version needs {head}: run `ingest db upgrade`"
        )

    def upgrade(self) -> tuple[str | None, str]:
        before = migrate.current_revision(self.engine)
        migrate.upgrade(self.engine)
        return before, migrate.head_revision()

    # -- items --------------------------------------------------------------

    def known(self, keys: Iterable[Key]) -> dict[Key, int]:
        """Which of these fingerprints are already stored, and for which item."""
        wanted = {(kind, key_value(value)): (kind, value) for kind, value in keys}
        if not wanted:
            return {}
        with Session(self.engine) as s:
            rows = s.exec(
                select(FingerprintRow).where(tuple_(FingerprintRow.kind, FingerprintRow.value).in_(list(wanted)))
            ).all()
        return {wanted[(r.kind, r.value)]: r.item_id for r in rows}

    def add(self, item: ItemRow, keys: Sequence[Key], hits: Sequence[HitRow]) -> int | None:
        """Store an item with its fingerprints and hits atomically; None when a fingerprint already exists."""
        try:
            with Session(self.engine) as s, s.begin():
                s.add(item)
                s.flush()
                s.add_all(FingerprintRow(kind=k, value=key_value(v), item_id=item.id) for k, v in dict.fromkeys(keys))
                for hit in hits:
                    hit.item_id = item.id
                s.add_all(hits)
                item_id = item.id
        except IntegrityError:
            return None
        return item_id

    def get(self, item_id: int) -> StoredItem | None:
        with Session(self.engine) as s:
            item = s.get(ItemRow, item_id)
            if item is None:
                return None
            hits = s.exec(select(HitRow).where(HitRow.item_id == item_id).order_by(HitRow.id)).all()
            fps = s.exec(select(FingerprintRow).where(FingerprintRow.item_id == item_id)).all()
            return StoredItem(item, list(hits), list(fps))

    def query(self, q: ItemQuery) -> list[StoredItem]:
        """Items newest first (published, else fetched time), with their hits."""
        stmt = select(ItemRow)
        if q.watchlist:
            stmt = stmt.where(ItemRow.id.in_(select(HitRow.item_id).where(HitRow.watchlist == q.watchlist)))
        if q.sources:
            stmt = stmt.where(ItemRow.source.in_(q.sources))
        if q.since:
            stmt = stmt.where(ItemRow.sort_time >= q.since)
        if q.until:
            stmt = stmt.where(ItemRow.sort_time < q.until)
        for word in (q.search or "").split():
            pattern = f"%{word.lower()}%"
            stmt = stmt.where(or_(func.lower(ItemRow.title).like(pattern), func.lower(ItemRow.text).like(pattern)))
        stmt = stmt.order_by(ItemRow.sort_time.desc(), ItemRow.id.desc()).offset(q.offset).limit(q.limit)
        with Session(self.engine) as s:
            items = s.exec(stmt).all()
            ids = [i.id for i in items]
            hits: dict[int, list[HitRow]] = {i: [] for i in ids}
            if ids:
                for h in s.exec(select(HitRow).where(HitRow.item_id.in_(ids)).order_by(HitRow.id)):
                    hits[h.item_id].append(h)
            return [StoredItem(i, hits[i.id]) for i in items]

    def count_items(self, source: str | None = None) -> int:
        stmt = select(func.count()).select_from(ItemRow)
        if source:
            stmt = stmt.where(ItemRow.source == source)
        with Session(self.engine) as s:
            return s.exec(stmt).one()

    # -- sources ------------------------------------------------------------

    def source_state(self, name: str) -> SourceRow | None:
        with Session(self.engine) as s:
            return s.get(SourceRow, name)

    def source_states(self) -> list[SourceRow]:
        with Session(self.engine) as s:
            return list(s.exec(select(SourceRow).order_by(SourceRow.name)).all())

    def save_source_state(self, row: SourceRow) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(row)

    def host_blocked_until(self, host: str) -> datetime | None:
        with Session(self.engine) as s:
            row = s.get(HostRow, host)
            return row.blocked_until if row else None

    def block_host(self, host: str, until: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(HostRow(host=host, blocked_until=until))

"""The one place that talks to the database: SQLite by default, PostgreSQL by URL.

Each stored item goes in with its fingerprints and hits in one transaction; the
fingerprint table's primary key is what finally decides "duplicate", so two workers
racing on the same story cannot both store it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, select

from ingest import search
from ingest.config import LOCK_TIMEOUT
from ingest.storage import fulltext, migrate, triage
from ingest.storage.activity import Activity
from ingest.storage.hits import Hits
from ingest.storage.outbox import Outbox
from ingest.storage.saved import SavedSearches
from ingest.storage.session import Session, dialect_module, insert_ignore, scrub
from ingest.storage.tables import (
    AlertRow,
    BandRow,
    FingerprintRow,
    HitRow,
    HostRow,
    ItemRow,
    PageRow,
    RevisionRow,
    SightingRow,
    SourceRow,
    SourceState,
)
from ingest.storage.websub import Subscriptions

Key = tuple[str, str]  # (fingerprint kind, value)
WRITER_LOCK_KEY = 0x1D6E59  # advisory lock id: write transactions, one at a time (PostgreSQL)
_MAX_KEY = 512  # longer fingerprint values are hashed: index entries stay small on both backends


class SchemaError(RuntimeError):
    """The database schema does not match this version of the code."""


def engine_for(url: str, lock_timeout: float = LOCK_TIMEOUT) -> Engine:
    """`lock_timeout`: seconds a SQLite statement waits for another process's lock (then "database is locked")."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": lock_timeout, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
        # WAL lets `ingest query` read while the daemon writes; busy_timeout waits out writer locks.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        # 8 MiB of pages per connection, so memory stays bounded as the database grows (each pooled
        # connection fills its own cache). Misses are served by the OS page cache: at 200,000 items a
        # fingerprint lookup costs the same with 64 MiB, and queries stay well under 100 ms.
        cur.execute("PRAGMA cache_size=-8192")
        cur.close()

    return engine


def key_value(value: str) -> str:
    """A fingerprint value as stored and looked up: scrubbed, and hashed when long."""
    value = scrub(value)
    return value if len(value) <= _MAX_KEY else "sha256:" + digest(value)


def digest(value: str) -> str:
    """A fixed-size stand-in (SHA-256, hex) for text of any length in a unique key: PostgreSQL refuses index
    entries over 2,704 bytes, and links and GUIDs can be megabytes."""
    return hashlib.sha256(scrub(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ItemQuery:
    watchlist: str | None = None
    flagged: bool = False  # only items some watchlist flagged
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    story: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    fetched_since: datetime | None = None  # what arrived since then, whatever date the page gives
    search: str | None = None  # the syntax of `ingest.search`
    sort: str = "newest"  # or "fetched" (newest fetched first), or "relevance" (with a search)
    limit: int = 50
    offset: int = 0
    after: tuple[datetime, int] | None = None  # keyset cursor: (sort_time, id) of the previous page's last item
    per_story: bool = False  # one row per story: its newest-stored item among those matching (newest order)
    state: str | None = None  # triage state (`ingest.storage.triage.STATES`): unreviewed, reviewed, starred, dismissed
    min_id: int | None = None  # only items stored as this id or later (a saved search's unread ones)


@dataclass(frozen=True)
class ItemFacts:
    source: str
    entry_hash: str | None
    story_id: int | None
    url: str  # the item's own link
    canonical_url: str | None  # the URL its page named canonical: a claim, not where the item was found


# What a revision replaces; identity (source, guid, url), story and fetch history stay.
_REVISED_FIELDS = ("title", "canonical_url", "published", "updated", "fetched_at", "authors", "language", "site_name",
                   "lead_image_url", "lead_image_caption", "lead_image_credit", "blocks", "text", "origin", "meta",
                   "signature", "entry_hash")


@dataclass
class StoredItem:
    item: ItemRow
    hits: list[HitRow] = field(default_factory=list)
    # Loaded by `Store.get` only: the whole record with its history.
    fingerprints: list[FingerprintRow] = field(default_factory=list)
    story: list[ItemRow] = field(default_factory=list)  # every item of its story, itself included
    snippet: str | None = None  # full-text search excerpt, matches marked [[...]]
    sightings: list[SightingRow] = field(default_factory=list)
    revisions: list[RevisionRow] = field(default_factory=list)

    @property
    def watchlists(self) -> list[str]:
        return sorted({h.watchlist for h in self.hits})


@dataclass(frozen=True)
class Outlet:
    id: int
    story_id: int
    source: str
    site_name: str | None
    url: str
    title: str | None
    sort_time: datetime
    fetched_at: datetime
    meta: dict[str, Any]

    @property
    def similarity(self) -> float | None:
        """How close it was to the story item it joined (None: it started the story)."""
        return (self.meta.get("story") or {}).get("similarity")


class Store:
    def __init__(self, url: str, lock_timeout: float = LOCK_TIMEOUT):
        self.url = url
        self.engine = engine_for(url, lock_timeout)
        # SQLite has one writer at a time, and a writer waiting in its busy handler sleeps up to 100 ms
        # between tries: threads of this process queue on a lock instead, and go the moment it is free.
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        # Table groups, each its own class on this engine: callers never reach into `engine`.
        self.outbox = Outbox(self.engine)
        self.hits = Hits(self.engine)
        self.triage = triage.Triage(self.engine)
        self.users = triage.Users(self.engine)
        self.saved = SavedSearches(self.engine)
        self.activity = Activity(self.engine)
        self.websub = Subscriptions(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -------------------------------------------------------------

    def prepare(self) -> None:
        """Create the schema on an empty database; refuse one that is behind the code."""
        head = migrate.head_revision()
        current = migrate.current_revision(self.engine)
        if current == head:
            return
        with migrate.exclusive(self.engine):
            current = migrate.current_revision(self.engine)  # another process may have just created it
            if current is None:
                migrate.upgrade(self.engine)
                return
        if current == head:
            return
        raise SchemaError(
            f"database schema is at revision {current or 'none'}, this version needs {head}: run `ingest db upgrade`"
        )

    def upgrade(self) -> tuple[str | None, str]:
        with migrate.exclusive(self.engine):
            before = migrate.current_revision(self.engine)
            migrate.upgrade(self.engine)
        return before, migrate.head_revision()

    # -- items --------------------------------------------------------------

    def known(self, keys: Iterable[Key]) -> dict[Key, int | None]:
        """Which of these fingerprints are already stored, and for which item (None: a pruned item's tombstone)."""
        with self.engine.connect() as conn:
            return _known(conn, keys)

    def item_facts(self, item_ids: Iterable[int | None]) -> dict[int, ItemFacts]:
        """Which source stored each item, its story and links, and the feed entry it came from as last seen."""
        with self.engine.connect() as conn:
            return _item_facts(conn, item_ids)

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """One write transaction; raises `Conflict` (all of it undone) if a fingerprint was stored meanwhile."""
        try:
            with self._write_lock, Session(self.engine) as s, s.begin():
                if self.engine.dialect.name == "sqlite":
                    # Take the write lock first: a transaction that reads and then writes could otherwise
                    # fail at once ("database is locked") when another writer commits in between.
                    s.connection().exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    # One writer at a time, as on SQLite: a writer must see the items another has just
                    # stored, or a reprint stored alongside its original would start a story of its own.
                    s.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})
                yield Writer(s)
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from None

    def update(self, item_id: int, new: ItemRow, keys: Sequence[Key], hits: Sequence[HitRow], *,
               bands: Sequence[str] = (), alerts: Iterable[str] = (), page: PageRow | None = None,
               revision: bool = True) -> int:
        """`Writer.update` in its own transaction."""
        with self.writing() as w:
            return w.update(item_id, new, keys, hits, bands=bands, alerts=alerts, page=page, revision=revision)

    def add_sightings(self, sightings: Sequence[dict]) -> None:
        with self.writing() as w:
            w.add_sightings(sightings)

    def sighted(self, source: str, urls: Sequence[str]) -> set[str]:
        """Which of these links `source` carried as copies of stored items (its sightings), by index."""
        hashes = {digest(url): url for url in urls}
        if not hashes:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(_SIGHTED, {"source": source, "hashes": list(hashes)})
            return {hashes[h] for (h,) in rows}

    def pages(self, source: str | None = None, batch: int = 200) -> Iterator[tuple[ItemRow, PageRow]]:
        """Stored pages with their items, in id order, a batch at a time (never all in memory)."""
        last = 0
        while True:
            stmt = select(ItemRow, PageRow).join(PageRow, PageRow.item_id == ItemRow.id).where(ItemRow.id > last)
            if source:
                stmt = stmt.where(ItemRow.source == source)
            with Session(self.engine) as s:
                rows = s.exec(stmt.order_by(ItemRow.id).limit(batch)).all()
            if not rows:
                return
            yield from rows
            last = rows[-1][0].id

    def get(self, item_id: int) -> StoredItem | None:
        with Session(self.engine) as s:
            item = s.get(ItemRow, item_id)
            if item is None:
                return None

            def rows(table, *order):  # noqa: ANN001, ANN202
                return list(s.exec(select(table).where(table.item_id == item_id).order_by(*order)).all())

            story = s.exec(select(ItemRow).where(ItemRow.story_id == item.story_id).order_by(ItemRow.id)).all()
            return StoredItem(item, hits=rows(HitRow, HitRow.id), fingerprints=rows(FingerprintRow, FingerprintRow.kind),
                              story=list(story), sightings=rows(SightingRow, SightingRow.id),
                              revisions=rows(RevisionRow, RevisionRow.number))

    def query(self, q: ItemQuery) -> list[StoredItem]:
        """One page of items: newest first (published, else fetched time), newest fetched first, or by relevance."""
        ids = select(ItemRow.id).where(*_criteria(q, ItemRow, walk=q.per_story))
        key = ItemRow.fetched_at if q.sort == "fetched" else ItemRow.sort_time
        parsed = search.parse(q.search) if q.search else None
        with Session(self.engine) as s:
            if parsed and q.sort == "relevance":
                ordered = fulltext.search(s.connection(), ids, parsed).offset(q.offset).limit(q.limit)
            else:
                later = aliased(ItemRow)  # (per story) a later-stored item of the same story
                matching_later = _criteria(q, later)
                if parsed:
                    found = fulltext.search(s.connection(), ids, parsed)
                    ids = select(ItemRow.id).where(_ident(ItemRow, q.per_story).in_(found))
                    matching_later = [later.id.in_(found)]
                if q.per_story:
                    # A story's row is its newest-stored matching item: no later-stored item of it matches.
                    # NOT EXISTS, not GROUP BY story, and the id conditions kept off the primary key
                    # (`_ident`): SQLite then walks the sort_time index newest first and stops once the page
                    # is full, instead of grouping every matching item (the inbox at 200,000 items with
                    # 10,000 flagged: ~75 -> ~2 ms).
                    ids = ids.where(~exists().where(later.story_id == ItemRow.story_id, later.id > ItemRow.id,
                                                   *matching_later))
                if q.after:  # keyset cursor: rows strictly after the last one of the previous page
                    ids = ids.where(tuple_(key, ItemRow.id) < tuple_(*q.after))
                ordered = ids.order_by(key.desc(), ItemRow.id.desc()).offset(q.offset).limit(q.limit)
            order = list(s.connection().execute(ordered).scalars())
            if not order:
                return []
            items = {i.id: i for i in s.exec(select(ItemRow).where(ItemRow.id.in_(order)))}
            hits: dict[int, list[HitRow]] = {i: [] for i in order}
            for h in s.exec(select(HitRow).where(HitRow.item_id.in_(order)).order_by(HitRow.id)):
                hits[h.item_id].append(h)
            snippets = fulltext.snippets(s.connection(), parsed, order) if parsed else {}
        return [StoredItem(items[i], hits[i], snippet=snippets.get(i)) for i in order]

    def iterate(self, q: ItemQuery, batch: int = 500) -> Iterator[StoredItem]:
        """Every item of a query, newest first, a page at a time: exports never hold the result set."""
        page = replace(q, limit=batch, offset=0, sort="newest")
        while rows := self.query(page):
            yield from rows
            page = replace(page, after=(rows[-1].item.sort_time, rows[-1].item.id))

    def outlets(self, story_ids: Iterable[int]) -> dict[int, list[Outlet]]:
        """Every item of each story, oldest first, without its text: the outlets a story row names."""
        ids = list(set(story_ids))
        out: dict[int, list[Outlet]] = {i: [] for i in ids}
        if ids:
            with self.engine.connect() as conn:
                for row in conn.execute(_OUTLETS, {"stories": ids}):
                    out[row.story_id].append(Outlet(**row._mapping))
        return out

    def stats(self, days: int = 30) -> dict[str, list[tuple[str, int]]]:
        """Item counts per source, per watchlist, and per day of the last `days` days: by published (else
        fetched) time, and by fetch time (what arrived when, whatever date the page gives)."""
        with Session(self.engine) as s:
            per_source = s.exec(select(ItemRow.source, func.count()).group_by(ItemRow.source)
                                .order_by(ItemRow.source)).all()
            per_watchlist = s.exec(select(HitRow.watchlist, func.count(func.distinct(HitRow.item_id)))
                                   .group_by(HitRow.watchlist).order_by(HitRow.watchlist)).all()
            since = datetime.now(timezone.utc) - timedelta(days=days)
            times = s.exec(select(ItemRow.sort_time).where(ItemRow.sort_time >= since)).all()
            fetched = s.exec(select(ItemRow.fetched_at).where(ItemRow.fetched_at >= since)).all()
        per_day = Counter(t.date().isoformat() for t in times)
        per_fetch_day = Counter(t.date().isoformat() for t in fetched)
        return {"source": list(per_source), "watchlist": list(per_watchlist), "day": sorted(per_day.items()),
                "fetched_day": sorted(per_fetch_day.items())}

    def prune(self, older_than: datetime, keep_flagged: bool = True, batch: int = 1000,
              progress: Callable[[int], None] = lambda n: None) -> int:
        """Delete old items a batch at a time (`progress(n)` after each); their fingerprints stay as tombstones."""
        deleted = 0
        while True:
            with Session(self.engine) as s, s.begin():
                # Never an item fetched inside the window, whatever date its source gave it.
                stmt = select(ItemRow.id).where(ItemRow.sort_time < older_than, ItemRow.fetched_at < older_than)
                if keep_flagged:
                    stmt = stmt.where(ItemRow.id.not_in(select(HitRow.item_id)))
                ids = s.exec(stmt.limit(batch)).all()
                if not ids:
                    return deleted
                # Explicit for SQLite databases opened without foreign keys: keep the tombstones.
                s.exec(update(FingerprintRow).where(FingerprintRow.item_id.in_(ids)).values(item_id=None))
                s.exec(delete(ItemRow).where(ItemRow.id.in_(ids)))
                deleted += len(ids)
            progress(len(ids))

    def count_items(self, source: str | None = None) -> int:
        stmt = select(func.count()).select_from(ItemRow)
        if source:
            stmt = stmt.where(ItemRow.source == source)
        with Session(self.engine) as s:
            return s.exec(stmt).one()

    # -- sources ------------------------------------------------------------

    # Source state is read and written with Core statements: a quiet feed's poll (a 304) is little
    # more than these two, and the ORM's identity map and unit of work cost twice the statements.

    def source_state(self, name: str) -> SourceState | None:
        with self.engine.connect() as conn:
            row = conn.execute(_SOURCE, {"name": name}).first()
        return SourceState(**row._mapping) if row else None

    def source_states(self) -> list[SourceState]:
        with self.engine.connect() as conn:
            return [SourceState(**r._mapping) for r in conn.execute(_SOURCES)]

    def save_source_state(self, state: SourceState) -> None:
        """The whole row in one upsert: new, loaded earlier, or starting over after its URL changed in the config."""
        values = scrub({c: getattr(state, c) for c in _SOURCE_COLUMNS})
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(_save_source(self.engine.dialect.name), values)

    def blocked_hosts(self) -> dict[str, datetime]:
        with Session(self.engine) as s:
            return {r.host: r.blocked_until for r in s.exec(select(HostRow))}

    def block_host(self, host: str, until: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(HostRow(host=host, blocked_until=until))


class Conflict(Exception):
    """A write lost a race: another entry or worker stored one of the same fingerprints first."""


def _values(row: SQLModel) -> dict[str, Any]:
    """A row's column values for a Core INSERT (the ORM's unit of work costs more than the insert itself)."""
    return {c: getattr(row, c) for c in row.__table__.columns.keys() if c != "id" or row.id is not None}


class Writer:
    """The writes of one transaction (`Store.writing`): a poll's items go in together, with one commit.

    Reads through a writer (`known`, `candidates`) see what it wrote before, so the entries of
    one poll are deduplicated against each other too.  Items go in as Core INSERTs; the
    fingerprint table's primary key is what finally decides "duplicate".
    """

    def __init__(self, session: Session):
        self.session = session
        self.conn = session.connection()

    def known(self, keys: Iterable[Key]) -> dict[Key, int | None]:
        return _known(self.conn, keys)

    def candidates(self, bands: Sequence[str], limit: int) -> list[tuple[int, int, str]]:
        """Stored items sharing a similarity band, at most `limit` (`[fetch] near_duplicate_candidates`) of those
        sharing the most: (item_id, story_id, signature), found by index."""
        return _candidates(self.conn, bands, limit)

    def item_facts(self, item_ids: Iterable[int | None]) -> dict[int, ItemFacts]:
        return _item_facts(self.conn, item_ids)

    def move_fingerprints(self, keys: Iterable[Key], item_id: int) -> None:
        """Give these fingerprints to `item_id`: an entry's own link, held until now by a page that only named
        it canonical."""
        for kind, value in keys:
            self.conn.execute(_MOVE_FINGERPRINT, {"b_kind": kind, "b_value": key_value(value), "b_item": item_id})

    def add(self, item: ItemRow, keys: Sequence[Key], hits: Sequence[HitRow], *, bands: Sequence[str] = (),
            alerts: Iterable[str] = (), page: PageRow | None = None) -> int:
        """Store an item with its fingerprints, bands, hits, page and outbox alerts; returns its id."""
        item.id = self.conn.execute(_INSERT[ItemRow], scrub(_values(item))).inserted_primary_key[0]
        if item.story_id is None:
            item.story_id = item.id
            self.conn.execute(_OWN_STORY, {"item": item.id})
        if keys:  # (an empty parameter list would INSERT one row of defaults)
            self.conn.execute(_INSERT[FingerprintRow], [{"kind": k, "value": key_value(v), "item_id": item.id}
                                                        for k, v in dict.fromkeys(keys)])
        if bands:
            self.conn.execute(_INSERT[BandRow], [{"key": b, "item_id": item.id} for b in dict.fromkeys(bands)])
        if hits:
            self.conn.execute(_INSERT[HitRow], [scrub({**_values(h), "item_id": item.id}) for h in hits])
        if page is not None:
            page.item_id = item.id
            self.conn.execute(_INSERT[PageRow], scrub(_values(page)))
        self._queue_alerts(item, alerts)
        return item.id

    def update(self, item_id: int, new: ItemRow, keys: Sequence[Key], hits: Sequence[HitRow], *,
               bands: Sequence[str] = (), alerts: Iterable[str] = (), page: PageRow | None = None,
               revision: bool = True) -> int:
        """Replace an item's content; returns its revision number.

        As a revision (a changed article) the old version is kept and counts up; as
        a re-extraction (same page, better extractor) the record is rebuilt in place.
        Hits are replaced so their offsets fit the new text; a term's hit keeps the
        revision it first appeared in, so a term new in this revision is marked so.
        """
        s = self.session
        item = s.get(ItemRow, item_id, with_for_update=True)
        if revision:
            s.add(RevisionRow(item_id=item_id, number=item.revision, fetched_at=item.fetched_at,
                              title=item.title, blocks=item.blocks))
        for name in _REVISED_FIELDS:
            setattr(item, name, getattr(new, name))
        item.revision += revision
        old = s.exec(select(HitRow).where(HitRow.item_id == item_id)).all()
        first_seen = {}
        for h in sorted(old, key=lambda h: h.revision):
            first_seen.setdefault((h.watchlist, h.term), (h.revision, h.historical))
        s.exec(delete(HitRow).where(HitRow.item_id == item_id))
        for hit in hits:
            hit.item_id = item_id
            hit.revision, hit.historical = first_seen.get((hit.watchlist, hit.term), (item.revision, False))
            s.add(hit)
        insert_ignore(s, FingerprintRow, [{"kind": k, "value": key_value(v), "item_id": item_id}
                                           for k, v in dict.fromkeys(keys)])
        s.exec(delete(BandRow).where(BandRow.item_id == item_id))
        s.add_all(BandRow(key=b, item_id=item_id) for b in dict.fromkeys(bands))
        if page is not None:
            page.item_id = item_id
            s.merge(page)
        s.flush()
        # A term a rematch found first stays historical and never alerts; a term new in this revision does.
        live = {h.watchlist for h in hits if not h.historical}
        self._queue_alerts(item, [w for w in alerts if w in live])
        return item.revision

    def seen_entry(self, item_id: int, source: str, entry_hash: str) -> None:
        """The source's entry changed but its article did not: remember the entry as now seen, so it is not
        fetched again at every poll."""
        self.conn.execute(_SEEN_ENTRY, {"b_item": item_id, "b_source": source, "b_hash": entry_hash})

    def add_sightings(self, sightings: Sequence[dict]) -> None:
        """Remember where dropped duplicates were seen (item_id, source, url, by, seen_at), for `ingest explain`."""
        insert_ignore(self.session, SightingRow, [{**s, "url_hash": digest(s["url"])} for s in sightings])

    def _queue_alerts(self, item: ItemRow, watchlists: Iterable[str]) -> None:
        """Outbox rows in the item's own transaction; one per (watchlist, story), so a story alerts once."""
        now = item.fetched_at
        insert_ignore(self.session, AlertRow, [
            {"key": f"{w}\x1f{item.story_id}", "watchlist": w, "item_id": item.id, "story_id": item.story_id,
             "created_at": now, "next_attempt": now, "state": "pending", "attempts": 0}
            for w in dict.fromkeys(watchlists)
        ])


# Statements built once, values bound per call: building and cache-keying a statement per item
# cost more than executing it.
_INSERT = {row: insert(row.__table__) for row in (ItemRow, FingerprintRow, BandRow, HitRow, PageRow)}
_OWN_STORY = update(ItemRow.__table__).where(ItemRow.id == bindparam("item")).values(story_id=bindparam("item"))
# (Bind names differ from column names: SQLAlchemy reserves those for the SET clause.)
_SEEN_ENTRY = (update(ItemRow.__table__)
               .where(ItemRow.id == bindparam("b_item"), ItemRow.source == bindparam("b_source"))
               .values(entry_hash=bindparam("b_hash")))
# Not `(kind, value) IN (VALUES ...)`: SQLite answers that with a scan of the whole table. Both columns'
# own IN lists search the primary key (the pairs that were not asked for are dropped in _known).
_KNOWN = (select(FingerprintRow.kind, FingerprintRow.value, FingerprintRow.item_id)
          .where(FingerprintRow.kind.in_(bindparam("kinds", expanding=True)),
                 FingerprintRow.value.in_(bindparam("values", expanding=True))))
_MOVE_FINGERPRINT = (update(FingerprintRow.__table__)
                     .where(FingerprintRow.kind == bindparam("b_kind"), FingerprintRow.value == bindparam("b_value"))
                     .values(item_id=bindparam("b_item")))
_FACTS = select(ItemRow.id, ItemRow.source, ItemRow.entry_hash, ItemRow.story_id, ItemRow.url,
                ItemRow.canonical_url).where(ItemRow.id.in_(bindparam("ids", expanding=True)))
_SIGHTED = (select(SightingRow.url_hash).distinct()
            .where(SightingRow.source == bindparam("source"),
                   SightingRow.url_hash.in_(bindparam("hashes", expanding=True))))
# The items sharing the most bands first: the number of shared bands estimates similarity, so when more
# than `limit` items share a band (boilerplate, a big story) the likeliest near-duplicates are scored.
_SHARED = (select(BandRow.item_id, func.count().label("shared"))
           .where(BandRow.key.in_(bindparam("bands", expanding=True)))
           .group_by(BandRow.item_id).order_by(func.count().desc(), BandRow.item_id.desc())
           .limit(bindparam("limit")).subquery())
_CANDIDATES = (select(ItemRow.id, ItemRow.story_id, ItemRow.signature)
               .join(_SHARED, ItemRow.id == _SHARED.c.item_id)
               .where(ItemRow.signature.is_not(None))
               .order_by(_SHARED.c.shared.desc(), ItemRow.id.desc()))


def _ident(item: Any, walk: bool) -> Any:
    """`item.id`, or `item.id + 0` to keep `id IN (...)` from driving the plan: an index walk is cheaper."""
    return item.id + 0 if walk else item.id


def _criteria(q: ItemQuery, item: Any, walk: bool = False) -> list[Any]:
    """The filters of `q` on `item` (ItemRow, or an alias of it), but for the full-text search."""
    out = []
    ident = _ident(item, walk)
    if q.watchlist:
        out.append(ident.in_(select(HitRow.item_id).where(HitRow.watchlist == q.watchlist)))
    if q.flagged:
        out.append(ident.in_(select(HitRow.item_id)))
    if q.sources:
        out.append(item.source.in_(q.sources))
    if q.languages:  # codes match case-insensitively: `EN` finds `en`
        out.append(func.lower(item.language).in_([lang.lower() for lang in q.languages]))
    if q.story is not None:
        out.append(item.story_id == q.story)
    if q.since:
        out.append(item.sort_time >= q.since)
    if q.until:
        out.append(item.sort_time < q.until)
    if q.fetched_since:
        out.append(item.fetched_at >= q.fetched_since)
    if q.min_id is not None:
        out.append(item.id >= q.min_id)
    if q.state:
        out.append(triage.condition(q.state, item.id))
    return out


_OUTLETS = (select(*(getattr(ItemRow, f.name) for f in fields(Outlet)))
            .where(ItemRow.story_id.in_(bindparam("stories", expanding=True))).order_by(ItemRow.id))

_SOURCE_TABLE = SourceRow.__table__
_SOURCE_COLUMNS = tuple(_SOURCE_TABLE.columns.keys())
_SOURCE = select(_SOURCE_TABLE).where(_SOURCE_TABLE.c.name == bindparam("name"))
_SOURCES = select(_SOURCE_TABLE).order_by(_SOURCE_TABLE.c.name)


def _upsert_source(module: Any) -> Any:
    stmt = module.insert(_SOURCE_TABLE)
    return stmt.on_conflict_do_update(index_elements=[_SOURCE_TABLE.c.name],
                                      set_={c: stmt.excluded[c] for c in _SOURCE_COLUMNS if c != "name"})


@cache
def _save_source(dialect: str) -> Any:
    return _upsert_source(dialect_module(dialect))


def _known(conn: Connection, keys: Iterable[Key]) -> dict[Key, int | None]:
    wanted = {(kind, key_value(value)): (kind, value) for kind, value in keys}
    if not wanted:
        return {}
    rows = conn.execute(_KNOWN, {"kinds": list({k for k, _ in wanted}), "values": list({v for _, v in wanted})})
    return {wanted[(kind, value)]: item_id for kind, value, item_id in rows if (kind, value) in wanted}


def _item_facts(conn: Connection, item_ids: Iterable[int | None]) -> dict[int, ItemFacts]:
    ids = list({i for i in item_ids if i is not None})
    if not ids:
        return {}
    return {i: ItemFacts(*rest) for i, *rest in conn.execute(_FACTS, {"ids": ids})}


def _candidates(conn: Connection, bands: Sequence[str], limit: int) -> list[tuple[int, int, str]]:
    if not bands:
        return []
    rows = conn.execute(_CANDIDATES, {"bands": list(bands), "limit": limit})
    return [(i, story or i, sig) for i, story, sig in rows]

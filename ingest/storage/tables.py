"""The database schema as SQLModel tables; Alembic migrations in `ingest/migrations` create it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, PostgreSQL's would differ."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def _utc(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), **kw))


class SourceRow(SQLModel, table=True):
    """Per-source polling state; saved only after the poll's items are stored."""

    __tablename__ = "source"
    name: str = Field(primary_key=True)
    config_url: str  # the URL in config.toml; when it changes, the state starts over
    url: str  # the URL polled: config_url, or where a repeated permanent redirect moved it
    state: str = "ok"  # ok | backoff | gone
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = _utc()
    last_success: datetime | None = _utc()
    last_error: str | None = None
    failures: int = 0
    next_poll: datetime | None = _utc()
    interval: float | None = None  # seconds; derived from publishing frequency when every = "auto"
    moved_to: str | None = None
    moved_count: int = 0
    # Extraction health, counted over every entry stored from this source.
    extracted: int = 0
    empty_bodies: int = 0  # pages that yielded no article text
    missing_dates: int = 0
    missing_titles: int = 0
    feed_fallbacks: int = 0  # items built from the feed's content because the page failed


@dataclass(slots=True)
class SourceState:
    """A `source` row as a poll reads and changes it: the fields and defaults of SourceRow (tested), in a plain
    object, since building and changing an instrumented SourceRow cost about a tenth of a quiet feed's poll."""

    name: str
    config_url: str
    url: str
    state: str = "ok"
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    next_poll: datetime | None = None
    interval: float | None = None
    moved_to: str | None = None
    moved_count: int = 0
    extracted: int = 0
    empty_bodies: int = 0
    missing_dates: int = 0
    missing_titles: int = 0
    feed_fallbacks: int = 0


class HostRow(SQLModel, table=True):
    """A host that asked us (429/503 Retry-After) to stay away; applies to every source on it."""

    __tablename__ = "host"
    host: str = Field(primary_key=True)
    blocked_until: datetime = _utc(nullable=False)


class ItemRow(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (Index("ix_item_source_sort", "source", "sort_time"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    guid: str | None = None
    url: str
    canonical_url: str | None = None
    title: str | None = None
    published: datetime | None = _utc()
    updated: datetime | None = _utc()
    fetched_at: datetime = _utc(nullable=False)
    # published, else fetched_at: what "newest first" sorts on, indexed.
    sort_time: datetime = _utc(nullable=False, index=True)
    authors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = None
    site_name: str | None = None
    lead_image_url: str | None = None
    lead_image_caption: str | None = None
    lead_image_credit: str | None = None
    blocks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    origin: str = "page"  # "page" when extracted from the article page, "feed" when the feed's content was used
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The story this item belongs to: the id of its first item; reprints elsewhere share it.
    story_id: int | None = Field(default=None, index=True)
    revision: int = 0  # how many times the content changed after it was first stored
    entry_hash: str | None = None  # the feed entry as last seen: when it changes, the page is fetched again
    signature: str | None = None  # near-duplicate signature (fingerprint.Signature.to_str)


class BandRow(SQLModel, table=True):
    """LSH band keys of an item's similarity signature: candidates are found by index, never by scan."""

    __tablename__ = "band"
    key: str = Field(primary_key=True)
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True))


class PageRow(SQLModel, table=True):
    """The fetched page as it came (compressed), so `ingest reextract` can rebuild records without refetching."""

    __tablename__ = "page"
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True))
    url: str
    content_type: str | None = None
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # the response body, gzip (as sent) or zlib-compressed
    fetched_at: datetime = _utc(nullable=False)


class SightingRow(SQLModel, table=True):
    """A duplicate that was not stored: where else the item was seen, and which fingerprint said so."""

    __tablename__ = "sighting"
    # The index: a poll asks which of its links it has seen as copies (`Store.sighted`).
    __table_args__ = (UniqueConstraint("item_id", "source", "url_hash"),
                      Index("ix_sighting_source_url_hash", "source", "url_hash"))
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False, index=True))
    source: str
    url: str  # the full link, not indexed: a link can be longer than an index entry may be (2,704 bytes on PostgreSQL)
    url_hash: str  # store.digest(url): what the unique key holds
    by: str  # fingerprint kind that matched: guid | url | content
    seen_at: datetime = _utc(nullable=False)


class RevisionRow(SQLModel, table=True):
    """An earlier version of an item, kept when a refetch found changed content."""

    __tablename__ = "revision"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False, index=True))
    number: int  # 0 for the first version
    fetched_at: datetime = _utc(nullable=False)
    title: str | None = None
    blocks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class FingerprintRow(SQLModel, table=True):
    """One identity of an item; the primary key makes a second copy impossible even under races."""

    __tablename__ = "fingerprint"
    kind: str = Field(primary_key=True)  # url | guid | content
    value: str = Field(primary_key=True)
    # NULL once the item is pruned: the fingerprint stays as a tombstone so the item is never re-ingested.
    item_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("item.id", ondelete="SET NULL"), nullable=True, index=True)
    )


class HitRow(SQLModel, table=True):
    __tablename__ = "hit"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), nullable=False, index=True))
    watchlist: str = Field(index=True)
    version: str
    term: str
    field: str
    block: int
    start: int
    end: int
    text: str
    snippet: str
    # Occurrences of the term for this watchlist in the item: only the first MAX_HITS_PER_TERM are stored.
    total: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    revision: int = 0  # the item revision in which the term was found
    historical: bool = False  # found by a backfill (rematch), not at ingestion: never alerts


class AlertRow(SQLModel, table=True):
    """Transactional outbox: written with the item, delivered later, at most once per (watchlist, story)."""

    __tablename__ = "alert"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # idempotency key: watchlist + story
    watchlist: str
    item_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("item.id", ondelete="SET NULL"), nullable=True)
    )
    story_id: int
    created_at: datetime = _utc(nullable=False)
    state: str = Field(default="pending", index=True)  # pending | sent
    attempts: int = 0
    next_attempt: datetime = _utc(nullable=False)
    last_error: str | None = None
    sent_at: datetime | None = _utc()


class DeliveryRow(SQLModel, table=True):
    """One alert to one notify target (an Apprise URL): the outbox row of that channel, sent at most once."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("alert_id", "target"), Index("ix_delivery_due", "watchlist", "target", "state"))
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(sa_column=Column(Integer, ForeignKey("alert.id", ondelete="CASCADE"), nullable=False))
    watchlist: str
    target: str  # the target's name in the watchlist's `notify` list
    created_at: datetime = _utc(nullable=False)  # the alert's: digests and quiet hours count from it
    state: str = "pending"  # pending | sent
    attempts: int = 0
    next_attempt: datetime = _utc(nullable=False)
    last_error: str | None = None
    sent_at: datetime | None = _utc()


class TargetRow(SQLModel, table=True):
    """A notify target as first seen: only alerts after `since_alert` go to it (adding one sends no backlog)."""

    __tablename__ = "notify_target"
    watchlist: str = Field(primary_key=True)
    target: str = Field(primary_key=True)
    since_alert: int
    added_at: datetime = _utc(nullable=False)


class WatchlistStateRow(SQLModel, table=True):
    """The definition of a watchlist last run over every stored item: a new version means a rematch is due."""

    __tablename__ = "watchlist_state"
    name: str = Field(primary_key=True)
    version: str
    evaluated_at: datetime = _utc(nullable=False)


class TriageRow(SQLModel, table=True):
    """What people decided about an item in the web app (or the API): reviewed, starred, dismissed, labels, note."""

    __tablename__ = "triage"
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True))
    reviewed: bool = Field(default=False, index=True)
    starred: bool = Field(default=False, index=True)
    dismissed: bool = Field(default=False, index=True)
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_by: str | None = None  # the user; None when the app runs on loopback without users
    updated_at: datetime = _utc(nullable=False)


class UserRow(SQLModel, table=True):
    """A person who may use the web app when it listens beyond loopback (`ingest users add NAME`)."""

    __tablename__ = "web_user"
    name: str = Field(primary_key=True)
    password_hash: str  # argon2id, with its parameters and salt
    created_at: datetime = _utc(nullable=False)


class SessionRow(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, this table only its SHA-256."""

    __tablename__ = "web_session"
    token_hash: str = Field(primary_key=True)
    username: str = Field(sa_column=Column(Text, ForeignKey("web_user.name", ondelete="CASCADE"), nullable=False))
    created_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)


class TokenRow(SQLModel, table=True):
    """An API token for scripts (`Authorization: Bearer ...`); only its SHA-256 is kept."""

    __tablename__ = "api_token"
    token_hash: str = Field(primary_key=True)
    username: str = Field(sa_column=Column(Text, ForeignKey("web_user.name", ondelete="CASCADE"), nullable=False))
    name: str
    created_at: datetime = _utc(nullable=False)


class SavedSearchRow(SQLModel, table=True):
    """A search kept in the web app: the inbox's filters, with its own Atom feed and an unread count."""

    __tablename__ = "saved_search"
    __table_args__ = (UniqueConstraint("owner", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    # The user; None for everyone (the app on loopback without sign-in).
    owner: str | None = Field(default=None, sa_column=Column(Text, ForeignKey("web_user.name", ondelete="CASCADE"),
                                                            nullable=True, index=True))
    name: str
    params: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # query string
    created_at: datetime = _utc(nullable=False)
    seen_id: int = 0  # the newest item id when it was last opened: items stored after it are unread


class WebSubRow(SQLModel, table=True):
    """A source's WebSub subscription: which hub, the topic and secret asked for, and how far it got."""

    __tablename__ = "websub"
    source: str = Field(primary_key=True)
    hub: str = Field(sa_column=Column(Text, nullable=False))
    topic: str = Field(sa_column=Column(Text, nullable=False))
    secret: str  # the HMAC key of this subscription's pushes (hub.secret)
    state: str = "pending"  # pending (asked, not verified), verified, denied (the hub refused)
    requested_at: datetime = _utc(nullable=False)  # the last subscription request
    expires: datetime | None = _utc(nullable=True)  # verified: the lease's end
    lease_seconds: int | None = None  # as the hub granted it
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # why the last request failed

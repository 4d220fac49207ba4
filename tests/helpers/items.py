"""Items written straight into a store, as the pipeline writes them, and read back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone

from sqlmodel import Session, select

from ingest.article import Article, Block
from ingest.storage.records import hit_row, item_row
from ingest.storage.store import Store
from ingest.storage.tables import ItemRow
from ingest.watchlists import Watchlist, compile_watchlists

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
CSTO = Watchlist.from_config({"name": "csto", "terms": ["CSTO"]}, "test")


def add_item(store: Store, text: str, *, url: str, source: str = "a", story: int | None = None,
             at: datetime = T0, watchlists=(CSTO,), alerting: bool = True, title: str | None = None) -> int:
    """Store an item as the pipeline does: its hits, and an outbox row per matched watchlist."""
    article = Article(title=title or f"Title {url}", url=url, blocks=[Block("paragraph", text)], site_name=f"Site {source}")
    hits = compile_watchlists(watchlists).match(article)
    row = item_row(article, source=source, guid=None, url=url, final_url=None, origin="page", fetched_at=at)
    row.story_id = story
    alerts = sorted({h.watchlist for h in hits}) if alerting else []
    with store.writing() as w:
        return w.add(row, [("url", url)], [hit_row(h) for h in hits], alerts=alerts)


def stored_guids(store: Store, source: str) -> set[str]:
    with Session(store.engine) as s:
        return set(s.exec(select(ItemRow.guid).where(ItemRow.source == source)).all())


def run_on_separate_stores(db_url: str, run: Callable[[Store], object], stores: int = 3) -> None:
    """`run` at once on threads, each with its own Store (its own connections), as separate processes would."""
    opened = [Store(db_url) for _ in range(stores)]
    threads = [threading.Thread(target=run, args=(s,)) for s in opened]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in opened:
        s.close()

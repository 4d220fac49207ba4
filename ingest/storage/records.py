"""Conversions between the pipeline's records (`Article`, `Hit`) and database rows."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

from ingest.article import Article, Block, LeadImage, Page
from ingest.storage.tables import HitRow, ItemRow, PageRow
from ingest.watchlists import Hit

# A published date before this (older than news on the web: a CMS default such as 1970-01-01, or a misread
# year) or more than FUTURE_SLACK after the fetch is kept in `meta` as what the source said, but not used:
# the item sorts, filters (`--since`) and ages (retention) by its fetch time instead.
PUBLISHED_FLOOR = datetime(1995, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)


def plausible(published: datetime, fetched_at: datetime) -> bool:
    return PUBLISHED_FLOOR <= published <= fetched_at + FUTURE_SLACK


def item_row(article: Article, *, source: str, guid: str | None, url: str, final_url: str | None, origin: str,
             fetched_at: datetime) -> ItemRow:
    lead = article.lead_image
    claimed = article.published
    published = claimed if claimed and plausible(claimed, fetched_at) else None
    return ItemRow(
        source=source,
        guid=guid,
        url=url,
        canonical_url=article.canonical_url,
        title=article.title,
        published=published,
        updated=article.updated,
        fetched_at=fetched_at,
        sort_time=published or fetched_at,
        authors=list(article.authors),
        language=article.language,
        site_name=article.site_name,
        lead_image_url=lead.url if lead else None,
        lead_image_caption=lead.caption if lead else None,
        lead_image_credit=lead.credit if lead else None,
        blocks=[{"kind": b.kind, "text": b.text, **({"credit": b.credit} if b.credit else {})} for b in article.blocks],
        text=article.text,
        origin=origin,
        meta={"sources": article.sources, "section": article.section, "tags": list(article.tags),
              "final_url": final_url,
              **({"implausible_published": claimed.isoformat()} if claimed and not published else {})},
    )


def article_of(row: ItemRow) -> Article:
    lead = None
    if row.lead_image_url or row.lead_image_caption:
        lead = LeadImage(row.lead_image_url, row.lead_image_caption, row.lead_image_credit)
    return Article(
        title=row.title,
        url=row.url,
        canonical_url=row.canonical_url,
        published=row.published,
        updated=row.updated,
        authors=list(row.authors),
        language=row.language,
        lead_image=lead,
        blocks=[Block(b["kind"], b["text"], b.get("credit")) for b in row.blocks],
        site_name=row.site_name,
        section=row.meta.get("section"),
        tags=list(row.meta.get("tags", [])),
        sources=dict(row.meta.get("sources", {})),
    )


def page_row(page: Page) -> PageRow:
    """`page.body` is compressed already (as it came, or by `ingest.poll.draft` in a worker)."""
    return PageRow(url=page.url, content_type=page.content_type, body=page.body, fetched_at=datetime.now(timezone.utc))


def page_body(page: PageRow) -> bytes:
    return zlib.decompress(page.body, 47)  # 32 + 15: a zlib or a gzip header (pages are stored as they came)


def hit_row(h: Hit) -> HitRow:
    return HitRow(watchlist=h.watchlist, version=h.version, term=h.term, field=h.field, block=h.block,
                  start=h.start, end=h.end, text=h.text, snippet=h.snippet, total=h.total)

"""Conversions between the pipeline's records (`Article`, `Hit`) and database rows."""

from __future__ import annotations

import zlib
from datetime import datetime, timezone

from ingest.article import Article, Block, LeadImage
from ingest.build import Page
from ingest.storage.tables import HitRow, ItemRow, PageRow
from ingest.watchlists import Hit


def item_row(article: Article, *, source: str, guid: str | None, url: str, final_url: str | None, origin: str,
             fetched_at: datetime) -> ItemRow:
    lead = article.lead_image
    return ItemRow(
        source=source,
        guid=guid,
        url=url,
        canonical_url=article.canonical_url,
        title=article.title,
        published=article.published,
        updated=article.updated,
        fetched_at=fetched_at,
        sort_time=article.published or fetched_at,
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
              "final_url": final_url},
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
    """`page.body` is compressed already (as it came, or by `ingest.build` in a worker)."""
    return PageRow(url=page.url, content_type=page.content_type, body=page.body, fetched_at=datetime.now(timezone.utc))


def page_body(page: PageRow) -> bytes:
    return zlib.decompress(page.body, 47)  # 32 + 15: a zlib or a gzip header (pages are stored as they came)


def hit_row(h: Hit) -> HitRow:
    return HitRow(watchlist=h.watchlist, version=h.version, term=h.term, field=h.field, block=h.block,
                  start=h.start, end=h.end, text=h.text, snippet=h.snippet)

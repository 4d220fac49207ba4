"""Stored items as text for people and as JSON/CSV for scripts."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # storage pulls in SQLAlchemy: not at import time, so the CLI starts fast
    from ingest.storage.store import StoredItem

FORMATS = ("table", "json", "jsonl", "csv")
EXPORT_FORMATS = ("jsonl", "csv", "atom")
_CSV_COLUMNS = ["id", "published", "source", "title", "url", "story", "watchlists"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _common(s: StoredItem) -> dict[str, Any]:
    i = s.item
    return {"id": i.id, "url": i.url, "source": i.source, "title": i.title, "published": _iso(i.published),
            "fetched_at": _iso(i.fetched_at), "story": i.story_id, "watchlists": s.watchlists}


def summary_dict(s: StoredItem) -> dict[str, Any]:
    """What `query` lists: enough to pick an item, with its hit snippets."""
    return {**_common(s), "snippets": [h.snippet for h in s.hits], **({"match": s.snippet} if s.snippet else {})}


def record_dict(s: StoredItem) -> dict[str, Any]:
    """The whole record, as `show --format json` and `export` give it."""
    i = s.item
    return {
        **_common(s),
        "canonical_url": i.canonical_url,
        "guid": i.guid,
        "updated": _iso(i.updated),
        "authors": i.authors,
        "language": i.language,
        "site_name": i.site_name,
        "lead_image": {"url": i.lead_image_url, "caption": i.lead_image_caption, "credit": i.lead_image_credit},
        "blocks": i.blocks,
        "text": i.text,
        "origin": i.origin,
        "metadata_sources": i.meta.get("sources", {}),
        "section": i.meta.get("section"),
        "tags": i.meta.get("tags", []),
        "fingerprints": [{"kind": f.kind, "value": f.value} for f in s.fingerprints],
        "outlets": [{"id": o.id, "source": o.source, "site_name": o.site_name, "url": o.url, "title": o.title}
                    for o in s.story],
        "revision": i.revision,
        "hits": [
            {"watchlist": h.watchlist, "version": h.version, "term": h.term, "field": h.field, "block": h.block,
             "start": h.start, "end": h.end, "text": h.text, "snippet": h.snippet, "revision": h.revision,
             "historical": h.historical, "total": h.total}
            for h in s.hits
        ],
    }


def record_text(s: StoredItem) -> str:
    from ingest.storage.records import article_of

    return article_of(s.item).render_text()


def items(rows: Iterable[StoredItem], fmt: str) -> str:
    dicts = [summary_dict(r) for r in rows]
    if not dicts:
        return ""
    if fmt == "json":
        return json.dumps(dicts, ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dicts)
    if fmt == "csv":
        return _csv_rows(dicts, header=True)
    return _table(dicts)


def _csv_rows(dicts: Iterable[dict[str, Any]], header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(_CSV_COLUMNS)
    for d in dicts:
        writer.writerow([";".join(d[c]) if c == "watchlists" else ("" if d[c] is None else d[c]) for c in _CSV_COLUMNS])
    return out.getvalue()


def export(rows: Iterable[StoredItem], fmt: str) -> Iterator[str]:
    """Chunks of output, one item at a time, so any result set streams."""
    if fmt == "jsonl":
        yield from (json.dumps(record_dict(r), ensure_ascii=False) + "\n" for r in rows)
    elif fmt == "csv":
        yield _csv_rows([], header=True)
        yield from (_csv_rows([summary_dict(r)], header=False) for r in rows)
    else:
        yield from atom(rows, title="ingest export")


def atom(rows: Iterable[StoredItem], title: str, feed_id: str = "urn:ingest:export") -> Iterator[str]:
    """An Atom 1.0 feed of stored items, written piece by piece."""
    from xml.sax.saxutils import escape  # imports urllib.request, http.client, ssl, email: 15 ms

    yield ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
           f"<title>{escape(title)}</title><id>{escape(feed_id)}</id>"
           f"<updated>{datetime.now(timezone.utc).isoformat()}</updated>\n")
    for r in rows:
        i = r.item
        summary = " … ".join(h.snippet for h in r.hits) or (i.text[:300] if i.text else "")
        yield (f"<entry><id>urn:ingest:item:{i.id}</id><title>{escape(i.title or i.url)}</title>"
               f'<link href="{escape(i.url, {chr(34): "&quot;"})}"/>'
               f"<updated>{(i.updated or i.published or i.fetched_at).isoformat()}</updated>"
               f"<summary>{escape(summary)}</summary></entry>\n")
    yield "</feed>\n"


def cursor(row: StoredItem) -> str:
    """An opaque token for the next page: the last row's sort key."""
    raw = f"{row.item.sort_time.isoformat()}|{row.item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(token: str | None) -> tuple[datetime, int] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, item_id = raw.split("|")
        return datetime.fromisoformat(when), int(item_id)
    except ValueError:
        raise click.BadParameter("not a cursor printed by `ingest query`", param_hint="--cursor") from None


def _table(dicts: list[dict[str, Any]]) -> str:
    width = shutil.get_terminal_size((120, 24)).columns
    lines = []
    for d in dicts:
        when = (d["published"] or d["fetched_at"] or "")[:16].replace("T", " ")
        flags = f" [{', '.join(d['watchlists'])}]" if d["watchlists"] else ""
        line = f"{d['id']:>6}  {when:16}  {d['source'][:16]:16}  {d['title'] or d['url']}{flags}"
        lines.append(line if len(line) <= width else line[: max(width - 1, 10)] + "…")
    return "\n".join(lines) + "\n"


def explain(s: StoredItem) -> str:
    """Why an item is what it is: identities, story membership, duplicates seen, revisions, hits."""
    i = s.item
    lines = [f"item {i.id}: {i.title or i.url}", f"  source {i.source}, fetched {_iso(i.fetched_at)}, from the {i.origin}",
             "fingerprints:"]
    lines += [f"  {f.kind:8} {f.value.replace(chr(31), ' / ')}" for f in s.fingerprints]
    matched = i.meta.get("story")
    if matched:
        lines.append(f"story {i.story_id}: joined as a near-duplicate of item {matched['matched_item']} "
                     f"(similarity {matched['similarity']:.2f})")
    elif i.story_id == i.id:
        lines.append(f"story {i.story_id}: first item of its story")
    others = [o for o in s.story if o.id != i.id]
    lines += [f"  also in story: item {o.id} from {o.source} ({o.site_name or o.url})" for o in others]
    if s.sightings:
        lines.append("duplicates dropped:")
        lines += [f"  {g.source} {g.url}: same {g.by} ({_iso(g.seen_at)})" for g in s.sightings]
    if s.revisions:
        lines.append(f"revisions: current is revision {i.revision}; earlier versions:")
        lines += [f"  {r.number}: fetched {_iso(r.fetched_at)}: {r.title}" for r in s.revisions]
    if s.hits:
        lines.append("watchlist hits:")
        lines += [f"  {h.watchlist} ({h.version}) {h.term!r} in {h.field} block {h.block} [{h.start}:{h.end}]"
                  f"{' revision ' + str(h.revision) if h.revision else ''}{' historical' if h.historical else ''}: "
                  f"{h.snippet}" for h in s.hits]
        shown, totals = Counter((h.watchlist, h.term) for h in s.hits), {(h.watchlist, h.term): h.total for h in s.hits}
        lines += [f"  {w} {t!r}: {shown[w, t]} of {n:,} shown" for (w, t), n in totals.items() if shown[w, t] < n]
    return "\n".join(lines)

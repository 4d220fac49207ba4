"""Stored items as text for people and as JSON/CSV for scripts."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ingest.storage.records import article_of
from ingest.storage.store import StoredItem

FORMATS = ("table", "json", "jsonl", "csv")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def summary_dict(s: StoredItem) -> dict[str, Any]:
    i = s.item
    return {
        "id": i.id,
        "url": i.url,
        "source": i.source,
        "title": i.title,
        "published": _iso(i.published),
        "fetched_at": _iso(i.fetched_at),
        "story": i.story_id,
        "watchlists": s.watchlists,
        "snippets": [h.snippet for h in s.hits],
    }


def record_dict(s: StoredItem) -> dict[str, Any]:
    i = s.item
    return {
        "id": i.id,
        "url": i.url,
        "canonical_url": i.canonical_url,
        "source": i.source,
        "guid": i.guid,
        "title": i.title,
        "published": _iso(i.published),
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
        "story": i.story_id,
        "outlets": [{"id": o.id, "source": o.source, "site_name": o.site_name, "url": o.url, "title": o.title}
                    for o in s.story],
        "revision": i.revision,
        "watchlists": s.watchlists,
        "hits": [
            {"watchlist": h.watchlist, "version": h.version, "term": h.term, "field": h.field, "block": h.block,
             "start": h.start, "end": h.end, "text": h.text, "snippet": h.snippet, "revision": h.revision,
             "historical": h.historical}
            for h in s.hits
        ],
        "fetched_at": _iso(i.fetched_at),
    }


def record_text(s: StoredItem) -> str:
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
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "published", "source", "title", "url", "watchlists"])
        for d in dicts:
            writer.writerow([d["id"], d["published"] or "", d["source"], d["title"] or "", d["url"],
                             ";".join(d["watchlists"])])
        return out.getvalue()
    return _table(dicts)


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
    return "\n".join(lines)

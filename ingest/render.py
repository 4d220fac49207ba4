"""Stored items as text for people and as JSON/CSV for scripts."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from ingest import terminal

if TYPE_CHECKING:  # storage pulls in SQLAlchemy: not at import time, so the CLI starts fast
    from ingest.storage.store import StoredItem

FORMATS = ("table", "json", "jsonl", "csv")
EXPORT_FORMATS = ("jsonl", "csv", "atom")
_CSV_COLUMNS = ["id", "published", "source", "title", "url", "story", "watchlists"]


# JSON escapes C0 controls itself; DEL, C1 controls and the line separators are escaped too, so that JSON
# printed to a terminal cannot drive it either. Still exactly the same text to any JSON reader.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def to_json(value: Any, indent: int | None = None) -> str:
    """One JSON document and a newline: UTF-8 text, with every control character as a `\\u` escape."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


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


def _utc(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def record_text(s: StoredItem) -> str:
    """`show`: a header (where and when the item comes from, who wrote it, what flagged it), a blank line,
    then the article in the seed layout."""
    from ingest.storage.records import article_of

    i = s.item
    header = [("source", i.source), ("published", _utc(i.published)), ("fetched", _utc(i.fetched_at)),
              ("authors", ", ".join(i.authors) or "-"), ("url", i.url), ("watchlists", ", ".join(s.watchlists) or "-")]
    lines = [f"{name + ':':12}{terminal.one_line(value)}" for name, value in header]
    return "\n".join(lines) + "\n\n" + article_of(i).render_text()


def items(rows: Iterable[StoredItem], fmt: str, csv_raw: bool = False, sort: str = "newest") -> str:
    """One page of `query` output; an empty page is still valid output (`[]`, a CSV header, a table header)."""
    dicts = [summary_dict(r) for r in rows]
    if fmt == "json":
        return to_json(dicts, indent=2)
    if fmt == "jsonl":
        return "".join(to_json(d) for d in dicts)
    if fmt == "csv":
        return _csv_rows(dicts, header=True, raw=csv_raw)
    return _table(dicts, fetched=sort == "fetched")


# OWASP's advice on CSV injection: a spreadsheet takes a cell starting with these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, raw: bool = False) -> str:
    """A CSV cell: a leading formula character is quoted with `'` unless `raw` (for programs)."""
    text = "" if value is None else ";".join(value) if isinstance(value, list) else str(value)
    return "'" + text if not raw and text.startswith(_FORMULA_START) else text


def _csv_rows(dicts: Iterable[dict[str, Any]], header: bool, raw: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(_CSV_COLUMNS)
    for d in dicts:
        writer.writerow([csv_cell(d[c], raw) for c in _CSV_COLUMNS])
    return out.getvalue()


def export(rows: Iterable[StoredItem], fmt: str, title: str = "ingest export", csv_raw: bool = False) -> Iterator[str]:
    """Chunks of output, one item at a time, so any result set streams."""
    if fmt == "jsonl":
        yield from (to_json(record_dict(r)) for r in rows)
    elif fmt == "csv":
        yield _csv_rows([], header=True)
        yield from (_csv_rows([summary_dict(r)], header=False, raw=csv_raw) for r in rows)
    else:
        from ingest import atom

        entries = (atom.Entry(r.item, r.watchlists, list(dict.fromkeys(h.snippet for h in r.hits))) for r in rows)
        yield from atom.feed(entries, title, "urn:ingest:export", datetime.now(timezone.utc))


def feed_title(filters: dict[str, Any]) -> str:
    """An export feed's title says what it holds: `ingest: watchlist csto, source a, search "x"`."""
    parts = [f"watchlist {filters['watchlist']}"] if filters.get("watchlist") else []
    parts += ["flagged items"] if filters.get("flagged") else []
    parts += [f"source {', '.join(filters['sources'])}"] if filters.get("sources") else []
    parts += [f"language {', '.join(filters['languages'])}"] if filters.get("languages") else []
    parts += [f"story {filters['story']}"] if filters.get("story") is not None else []
    parts += [f'search "{filters["search"]}"'] if filters.get("search") else []
    for key, label in (("since", "since"), ("until", "until"), ("fetched_since", "fetched since")):
        parts += [f"{label} {filters[key]}"] if filters.get(key) else []
    return "ingest: " + ("; ".join(parts) if parts else "every item")


def cursor(row: StoredItem, sort: str = "newest") -> str:
    """An opaque token for the next page: the last row's sort key."""
    key = row.item.fetched_at if sort == "fetched" else row.item.sort_time
    raw = f"{key.isoformat()}|{row.item.id}".encode()
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


def _table(dicts: list[dict[str, Any]], fetched: bool = False) -> str:
    """A header and a line per item; only the title is cut to the terminal's width, never the watchlists."""
    width = shutil.get_terminal_size((120, 24)).columns
    time_key, time_label = ("fetched_at", "FETCHED (UTC)") if fetched else ("published", "PUBLISHED (UTC)")
    flags = [", ".join(d["watchlists"]) for d in dicts]
    sources = [terminal.one_line(d["source"])[:16] for d in dicts]
    w_id = max([2, *(len(str(d["id"])) for d in dicts)])
    w_source = max([len("SOURCE"), *map(len, sources)])
    w_flags = max([len("WATCHLISTS"), *map(len, flags)])
    rows = [("ID", time_label, "SOURCE", "WATCHLISTS", "TITLE")]
    rows += [(str(d["id"]), (d[time_key] or d["fetched_at"] or "")[:16].replace("T", " "), source, flag,
              terminal.one_line(d["title"] or d["url"])) for d, source, flag in zip(dicts, sources, flags)]
    lines = []
    for id_, when, source, flag, title in rows:
        fixed = f"{id_:>{w_id}}  {when:16}  {source:{w_source}}  {flag:{w_flags}}  "
        room = max(width - len(fixed), 10)
        lines.append(fixed + (title if len(title) <= room else title[: room - 1] + "…"))
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

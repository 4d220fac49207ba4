"""The JSON API under /api/v1/: the same records the CLI prints (`render.summary_dict` / `record_dict`).

Ids are the database ids the CLI shows; list cursors are the CLI's `--cursor` tokens; errors are
`{"error": message, "status": code}`.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel
from pydantic import Field as PydField

from ingest import render
from ingest.storage import triage
from ingest.web import auth, queries
from ingest.web.queries import Filters

router = APIRouter(prefix="/api/v1")


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@router.get("/items", summary="Stored items, newest first")
def items(request: Request, f: Annotated[Filters, Depends()]) -> dict[str, Any]:
    """Filters as `ingest query`'s; `next` is the cursor of the following page (null on the last)."""
    rows, more = queries.items(request.app.state.store, f.query())
    return {"items": [render.summary_dict(r) for r in rows], "next": more}


@router.get("/items/{item_id}", summary="One item: the whole record, as `ingest show --format json`")
def item(request: Request, item_id: int) -> dict[str, Any]:
    store = request.app.state.store
    return {**render.record_dict(queries.item(store, item_id)),
            "triage": _triage(store.triage.states([item_id]).get(item_id))}


@router.get("/stories", summary="Stories with flagged items, newest first: one row per story with its outlets")
def stories(request: Request, f: Annotated[Filters, Depends()]) -> dict[str, Any]:
    rows, more = queries.stories(request.app.state.store, replace(f, flagged=True).query(per_story=True))
    return {"stories": [_story(r.item.item.story_id, r.outlets, render.summary_dict(r.item)) for r in rows],
            "next": more}


@router.get("/stories/{story_id}", summary="Every item of one story")
def story(request: Request, story_id: int) -> dict[str, Any]:
    outlets = request.app.state.store.outlets([story_id])[story_id]
    if not outlets:
        raise HTTPException(404, f"no story with id {story_id}")
    return _story(story_id, outlets)


def _story(story_id: int, outlets: list, latest: dict | None = None) -> dict[str, Any]:
    out = {"id": story_id, "first_seen": _iso(outlets[0].fetched_at) if outlets else None,
           "outlets": [{"id": o.id, "source": o.source, "site_name": o.site_name, "url": o.url, "title": o.title,
                        "published": _iso(o.sort_time), "similarity": o.similarity} for o in outlets]}
    return {**out, "latest": latest} if latest is not None else out


def _per_day(chart: Any) -> list[dict[str, Any]]:
    return [{"day": b.day.isoformat(), "count": b.value} for b in chart.bars]


@router.get("/sources", summary="Each configured source's polling state, items per day and extraction health")
def sources(request: Request) -> dict[str, Any]:
    out = []
    for r in queries.sources(request.app.state):
        state = {k: _iso(v) for k, v in asdict(r.state).items() if k not in ("etag", "last_modified")} \
            if r.state else None
        out.append({"name": r.source.name, "url": r.source.url, "items": r.items, "state": state,
                    "per_day": _per_day(r.per_day), "polling": r.source.name in request.app.state.poller.running})
    return {"sources": out}


@router.post("/sources/{name}/poll", status_code=202,
             summary="Poll a source now, in the background (bearer token, or X-CSRF-Token with a session)")
def poll(request: Request, name: str) -> dict[str, Any]:
    auth.check_api_write(request)
    return {"source": name, "started": queries.poll(request.app.state, name)}


@router.get("/watchlists", summary="The watchlists with their version, rule and items flagged per day")
def watchlists(request: Request) -> dict[str, Any]:
    return {"watchlists": [{"name": r.watchlist.name, "version": r.watchlist.version, "rule": r.watchlist.describe(),
                            "per_day": _per_day(r.per_day)} for r in queries.watchlists(request.app.state)]}


class RuleTest(BaseModel):
    rule: str = PydField(description="One [[watchlists]] table in config.toml's schema (TOML)", max_length=100_000)
    limit: int = PydField(queries.TEST_ITEMS, description="How many of the newest stored items to try it on")


def _hit(h: Any) -> dict[str, Any]:
    return {"field": h.field, "block": h.block, "start": h.start, "end": h.end, "term": h.term, "text": h.text,
            "snippet": h.snippet}


@router.post("/watchlists/test", summary="Try a rule on the newest stored items (changes nothing)")
def test_rule(request: Request, body: RuleTest) -> dict[str, Any]:
    """The rule tester: which items the rule would flag, with its hits; a bad rule is a 400 saying what is wrong."""
    trial = queries.try_rule(request.app.state.store, body.rule, body.limit)
    w = trial.rule.watchlist
    return {"watchlist": {"name": w.name, "version": w.version, "rule": w.describe()}, "tested": trial.tested,
            "flagged": [{"id": f.item.id, "title": f.item.title, "url": f.item.url, "source": f.item.source,
                         "flagged_now": trial.flagged_now.get(f.item.id, []), "hits": [_hit(h) for h in f.hits]}
                        for f in trial.flagged],
            "toml": trial.rule.toml}


@router.get("/items/{item_id}/hits", summary="Why an item was flagged: its watchlist hits")
def hits(request: Request, item_id: int) -> dict[str, Any]:
    return {"hits": render.record_dict(queries.item(request.app.state.store, item_id))["hits"]}


@router.get("/items/{item_id}/revisions", summary="An item's kept versions and the block diff between two of them")
def revisions(request: Request, item_id: int, a: int | None = None, b: int | None = None) -> dict[str, Any]:
    """`a` and `b` are revision numbers (default: the one before the current, and the current); `diff` lists
    blocks as same/removed/added/skip, a paragraph changed in place with its changed words in `changed`."""
    from ingest.web import diff

    kept, old, new = queries.compared(queries.item(request.app.state.store, item_id), a, b)
    return {"revisions": [{"number": v.number, "fetched_at": _iso(v.fetched_at), "title": v.title} for v in kept],
            "a": old.number, "b": new.number,
            "diff": [{"op": line.op, "text": line.text,
                      **({"changed": [r.text for r in line.runs if r.mark]} if line.runs else {})}
                     for line in diff.blocks(old.blocks, new.blocks)]}


class TriageChange(BaseModel):
    items: list[int] = PydField(min_length=1, max_length=10_000)
    action: str = PydField(description="reviewed, unreviewed, star, unstar, dismiss, undismiss, note or labels")
    note: str | None = None
    labels: list[str] = []


def _triage(row: Any) -> dict[str, Any]:
    if row is None:
        return {"reviewed": False, "starred": False, "dismissed": False, "labels": [], "note": "",
                "updated_by": None, "updated_at": None}
    return {"reviewed": row.reviewed, "starred": row.starred, "dismissed": row.dismissed, "labels": row.labels,
            "note": row.note, "updated_by": row.updated_by, "updated_at": _iso(row.updated_at)}


@router.get("/items/{item_id}/triage", summary="An item's triage state")
def item_triage(request: Request, item_id: int) -> dict[str, Any]:
    queries.item(request.app.state.store, item_id)
    return _triage(request.app.state.store.triage.states([item_id]).get(item_id))


@router.post("/triage", summary="Change the triage state of items (bearer token, or X-CSRF-Token with a session)")
def change_triage(request: Request, change: TriageChange) -> dict[str, Any]:
    auth.check_api_write(request)
    try:
        what = triage.Change(change.action, change.note, tuple(change.labels))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    changed = request.app.state.store.triage.apply(change.items, what, request.state.user,
                           datetime.now(timezone.utc))
    return {"changed": changed}


class SavedSearch(BaseModel):
    name: str = PydField(min_length=1, max_length=100)
    params: dict[str, str] = PydField(description=f"The inbox's filters: {', '.join(queries.SAVED_KEYS)}")


def _search(row: Any, store: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "params": row.params, "owner": row.owner,
            "unread": queries.unread(store, row.params, row.seen_id), "unread_cap": queries.UNREAD_CAP,
            "feed": f"/searches/{row.id}.atom"}


@router.get("/searches", summary="Your saved searches with their unread counts (everyone's without sign-in)")
def searches(request: Request) -> dict[str, Any]:
    store = request.app.state.store
    return {"searches": [_search(r, store) for r in store.saved.searches(request.state.user)]}


@router.post("/searches", status_code=201, summary="Save a search (the same name again replaces its filters)")
def save_search(request: Request, body: SavedSearch) -> dict[str, Any]:
    auth.check_api_write(request)
    unknown = sorted(set(body.params) - set(queries.SAVED_KEYS))
    if unknown:
        raise HTTPException(400, f"params: unknown filter {unknown[0]!r} (known: {', '.join(queries.SAVED_KEYS)})")
    queries.saved_filters(body.params)
    store = request.app.state.store
    row = store.saved.save(request.state.user, body.name.strip(), body.params, datetime.now(timezone.utc))
    return _search(row, store)


@router.get("/searches/{search_id}/items", summary="A saved search's items, newest first; they count as read after")
def search_items(request: Request, search_id: int, cursor: str | None = None) -> dict[str, Any]:
    store = request.app.state.store
    row = store.saved.search(request.state.user, search_id)
    if row is None:
        raise HTTPException(404, f"no saved search with id {search_id}")
    newest = store.saved.newest_id()
    f = queries.Filters.of(row.params)
    rows, more = queries.items(store, replace(f, flagged=True, cursor=cursor).query())
    store.saved.mark_seen(row.id, newest)
    return {"items": [render.summary_dict(r) for r in rows], "next": more}


@router.delete("/searches/{search_id}", summary="Delete a saved search")
def delete_search(request: Request, search_id: int) -> dict[str, Any]:
    auth.check_api_write(request)
    if not request.app.state.store.saved.remove(request.state.user, search_id):
        raise HTTPException(404, f"no saved search with id {search_id}")
    return {"deleted": search_id}

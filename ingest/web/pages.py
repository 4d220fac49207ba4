"""Server-rendered pages: inbox, item, story, sources. Readable without JavaScript."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ingest import render
from ingest.web import highlight, queries
from ingest.web.queries import Filters

router = APIRouter(include_in_schema=False)


def page(request: Request, template: str, **context: Any) -> HTMLResponse:
    state = request.app.state
    body = state.templates.get_template(template).render(request=request, config=state.config, **context)
    return HTMLResponse(body)


@router.get("/", response_class=HTMLResponse)
def inbox(request: Request, f: Annotated[Filters, Depends()]) -> HTMLResponse:
    store = request.app.state.store
    rows, more = queries.stories(store, replace(f, flagged=True).query(per_story=True))
    return page(request, "inbox.html", rows=rows, filters=f, more=more,
                sources=[s.name for s in request.app.state.config.sources],
                watchlists=[w.name for w in request.app.state.config.watchlists])


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item(request: Request, item_id: int) -> HTMLResponse:
    stored = queries.item(request.app.state.store, item_id)
    blocks = highlight.by_block(stored.hits)
    return page(request, "item.html", s=stored, i=stored.item, block_spans=blocks,
                title_spans=highlight.title_spans(stored.hits), explain=render.explain(stored))


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: int) -> HTMLResponse:
    outlets = request.app.state.store.outlets([story_id])[story_id]
    if not outlets:
        raise HTTPException(404, f"no story with id {story_id}")
    first = queries.item(request.app.state.store, outlets[0].id)
    return page(request, "story.html", story_id=story_id, outlets=outlets, first=first)


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request) -> HTMLResponse:
    store = request.app.state.store
    states = {s.name: s for s in store.source_states()}
    rows = [(s, states.get(s.name), store.count_items(s.name)) for s in request.app.state.config.sources]
    return page(request, "sources.html", rows=rows)


@router.get("/watchlists/{name}.atom")
def watchlist_feed(request: Request, name: str) -> Response:
    """The Atom feed `[server] listen` serves too, from the same function."""
    from ingest.alerts import feed_of

    config = request.app.state.config
    feed = feed_of(request.app.state.store, [w.name for w in config.watchlists])(name)
    if feed is None:
        raise HTTPException(404, f"no watchlist named {name!r}")
    return Response(feed, media_type="application/atom+xml; charset=utf-8")

"""Server-rendered pages: inbox, item, story, sources. Readable without JavaScript."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest import render
from ingest.storage import triage
from ingest.web import auth, highlight, queries
from ingest.web.queries import Filters

router = APIRouter(include_in_schema=False)


def page(request: Request, template: str, **context: Any) -> HTMLResponse:
    state = request.app.state
    body = state.templates.get_template(template).render(request=request, config=state.config, **context)
    return HTMLResponse(body)


@router.get("/", response_class=HTMLResponse)
def inbox(request: Request, f: Annotated[Filters, Depends()]) -> HTMLResponse:
    store = request.app.state.store
    f = replace(f, state=f.state or "unreviewed")
    rows, more = queries.stories(store, replace(f, flagged=True).query(per_story=True))
    marks = store.triage.states(r.item.item.id for r in rows)
    return page(request, "inbox.html", rows=rows, filters=f, more=more, triage=marks, states=("all", *triage.STATES),
                sources=[s.name for s in request.app.state.config.sources],
                watchlists=[w.name for w in request.app.state.config.watchlists])


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item(request: Request, item_id: int) -> HTMLResponse:
    stored = queries.item(request.app.state.store, item_id)
    blocks = highlight.by_block(stored.hits)
    mark = request.app.state.store.triage.states([item_id]).get(item_id)
    return page(request, "item.html", s=stored, i=stored.item, block_spans=blocks, mark=mark,
                title_spans=highlight.title_spans(stored.hits), explain=render.explain(stored),
                metadata=queries.metadata(stored.item))


@router.get("/items/{item_id}/revisions", response_class=HTMLResponse)
def revisions(request: Request, item_id: int, a: int | None = None, b: int | None = None) -> HTMLResponse:
    """Two versions of an item side by side as a block diff: by default the one before the current, and the current."""
    from ingest.web import diff

    stored = queries.item(request.app.state.store, item_id)
    kept, old, new = queries.compared(stored, a, b)
    return page(request, "revisions.html", i=stored.item, versions=kept, old=old, new=new,
                lines=diff.blocks(old.blocks, new.blocks, context=2))


@router.post("/triage")
async def change_triage(request: Request) -> RedirectResponse:
    """The triage buttons and the bulk form: `item` fields hold item ids (a story row: all of its items)."""
    form = await auth.checked_form(request)
    try:
        ids = [int(x) for field in form.getlist("item") for x in str(field).split(",") if x.strip()]
    except ValueError:
        raise HTTPException(400, "item: expected item ids") from None
    if not ids:
        raise HTTPException(400, "item: select at least one item")
    try:
        change = triage.Change(str(form.get("action") or ""), note=str(form.get("note") or ""),
                               labels=tuple(str(form.get("labels") or "").split(",")))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    await run_in_threadpool(request.app.state.store.triage.apply, ids, change, request.state.user,
                            datetime.now(timezone.utc))
    return RedirectResponse(auth.local_path(str(form.get("next") or "/")), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", next=auth.local_path(next), failed=False)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await auth.checked_form(request)
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    row = await run_in_threadpool(request.app.state.store.users.user, name)
    target = auth.local_path(str(form.get("next") or "/"))
    if not await run_in_threadpool(auth.check_password, row.password_hash if row else None, password):
        response = page(request, "login.html", next=target, failed=True)
        response.status_code = 401
        return response
    response = RedirectResponse(target, status_code=303)
    await run_in_threadpool(auth.start_session, response, request, name)
    return response


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    await auth.checked_form(request)
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        await run_in_threadpool(request.app.state.store.users.end_session, token)
    response = RedirectResponse("/login" if request.app.state.settings.auth_required else "/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: int) -> HTMLResponse:
    outlets = request.app.state.store.outlets([story_id])[story_id]
    if not outlets:
        raise HTTPException(404, f"no story with id {story_id}")
    first = queries.item(request.app.state.store, outlets[0].id)
    return page(request, "story.html", story_id=story_id, outlets=outlets, first=first)


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request) -> HTMLResponse:
    return page(request, "sources.html", rows=queries.sources(request.app.state), poller=request.app.state.poller)


@router.post("/sources/{name}/poll")
async def poll_now(request: Request, name: str) -> RedirectResponse:
    """Poll one source now, in the background (see `ingest.web.polling`); the page says how it went."""
    await auth.checked_form(request)
    queries.poll(request.app.state, name)
    return RedirectResponse(f"/sources#source-{name}", status_code=303)


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists(request: Request, edit: str | None = None) -> HTMLResponse:
    """Each rule with its version and hits per day, and the rule tester (empty, or starting from rule `edit`)."""
    from ingest.web import ruletest

    config = request.app.state.config
    rule = ruletest.configured(config.path, edit) if edit else None
    if edit and rule is None:
        raise HTTPException(404, f"no watchlist named {edit!r} in {config.path}")
    return page(request, "watchlists.html", rows=queries.watchlists(request.app.state), rule=rule or EXAMPLE_RULE,
                limit=queries.TEST_ITEMS, trial=None)


@router.get("/watchlists/test", response_class=HTMLResponse)
def test_rule(request: Request, rule: str = "", limit: int = queries.TEST_ITEMS) -> HTMLResponse:
    """The rule tester's answer: what the pasted rule would flag among the newest stored items (a 400 says why not)."""
    try:
        trial = queries.try_rule(request.app.state.store, rule, limit)
    except HTTPException as exc:
        response = page(request, "watchlists.html", rows=queries.watchlists(request.app.state), rule=rule,
                        limit=limit, trial=None, error=exc.detail)
        response.status_code = exc.status_code
        return response
    return page(request, "watchlists.html", rows=queries.watchlists(request.app.state), rule=rule, limit=limit,
                trial=trial)


@router.get("/searches", response_class=HTMLResponse)
def searches(request: Request) -> HTMLResponse:
    store = request.app.state.store
    rows = [(r, queries.unread(store, r.params, r.seen_id)) for r in store.saved.searches(request.state.user)]
    return page(request, "searches.html", rows=rows, cap=queries.UNREAD_CAP)


@router.post("/searches")
async def save_search(request: Request) -> RedirectResponse:
    """Save the inbox's current filters under a name (the same name again replaces them)."""
    form = await auth.checked_form(request)
    name = str(form.get("name") or "").strip()
    if not name or len(name) > 100:
        raise HTTPException(400, "name: give the search a name of 1 to 100 characters")
    params = {k: str(form.get(k)) for k in queries.SAVED_KEYS if form.get(k)}
    queries.saved_filters(params)
    await run_in_threadpool(request.app.state.store.saved.save, request.state.user, name, params,
                            datetime.now(timezone.utc))
    return RedirectResponse("/searches", status_code=303)


@router.get("/searches/{search_id}.atom")
def search_feed(request: Request, search_id: int) -> Response:
    from ingest.alerts import ATOM_ENTRIES

    feed = queries.search_feed(request.app.state.store, _saved(request, search_id), ATOM_ENTRIES)
    return Response(feed, media_type="application/atom+xml; charset=utf-8")


@router.get("/searches/{search_id}")
def open_search(request: Request, search_id: int) -> RedirectResponse:
    """Open a saved search: the inbox with its filters; what is stored now counts as read."""
    from urllib.parse import urlencode

    saved = request.app.state.store.saved
    row = _saved(request, search_id)
    saved.mark_seen(row.id, saved.newest_id())
    return RedirectResponse("/?" + urlencode(row.params), status_code=303)


@router.post("/searches/{search_id}/delete")
async def delete_search(request: Request, search_id: int) -> RedirectResponse:
    await auth.checked_form(request)
    _saved(request, search_id)
    request.app.state.store.saved.remove(request.state.user, search_id)
    return RedirectResponse("/searches", status_code=303)


def _saved(request: Request, search_id: int) -> Any:
    row = request.app.state.store.saved.search(request.state.user, search_id)
    if row is None:
        raise HTTPException(404, f"no saved search with id {search_id}")
    return row


EXAMPLE_RULE = """[[watchlists]]
name = "my-rule"
terms = ["CSTO", "Collective Security Treaty Organization"]
not = ["Eurovision"]
"""


@router.get("/watchlists/{name}.atom")
def watchlist_feed(request: Request, name: str) -> Response:
    """The Atom feed `[server] listen` serves too, from the same function."""
    from ingest.alerts import feed_of

    config = request.app.state.config
    feed = feed_of(request.app.state.store, [w.name for w in config.watchlists])(name)
    if feed is None:
        raise HTTPException(404, f"no watchlist named {name!r}")
    return Response(feed, media_type="application/atom+xml; charset=utf-8")

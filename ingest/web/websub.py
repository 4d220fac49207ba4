"""The WebSub callback, `/websub/{source}`: the hub's verification GET and its signed content pushes.

Reached by the hub, not by a user: no session, CSRF or loopback Host check applies (`auth.HUB_PATHS`);
what authenticates a request is that it names the source and topic we asked for (GET) or carries the
HMAC of the body under that subscription's secret (POST). Anything else is a 4xx and stores nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest.config import ConfigError
from ingest.logs import log
from ingest.sources.websub import LEASE_SECONDS, signature_ok

router = APIRouter(include_in_schema=False)


def _source(request: Request, name: str):  # noqa: ANN202
    try:
        source = request.app.state.config.source(name)
    except ConfigError:
        raise HTTPException(404, f"no source named {name!r}") from None
    if not request.app.state.config.public_url or source.paused:
        raise HTTPException(404, f"source {name!r} takes no WebSub pushes")
    return source


@router.get("/websub/{name}")
def verify(request: Request, name: str) -> Response:
    """Echo `hub.challenge` only for a subscription we asked for: this source, this topic, mode subscribe."""
    _source(request, name)
    q, subscriptions, now = request.query_params, request.app.state.store.websub, datetime.now(timezone.utc)
    mode, topic = q.get("hub.mode", ""), q.get("hub.topic", "")
    if mode == "denied":
        if not subscriptions.denied(name, topic, q.get("hub.reason")):
            raise HTTPException(404, "no such subscription")
        log.warning("websub_denied", source=name, reason=q.get("hub.reason"))
        return PlainTextResponse("")
    lease = q.get("hub.lease_seconds", "")
    if mode != "subscribe" or not q.get("hub.challenge"):
        raise HTTPException(404, f"hub.mode {mode!r} with a hub.challenge was not asked for")
    if not subscriptions.verified(name, topic, int(lease) if lease.isdigit() else LEASE_SECONDS, now):
        raise HTTPException(404, "no subscription to this topic was asked for")
    log.info("websub_verified", source=name, lease_seconds=lease or None)
    return PlainTextResponse(q["hub.challenge"])


@router.post("/websub/{name}")
async def push(request: Request, name: str) -> Response:
    """A signed feed document: stored through `Pipeline.ingest_pushed`; 2xx once stored (5xx: the hub retries)."""
    from ingest.web.polling import pipeline

    state = request.app.state
    source = _source(request, name)
    row = await run_in_threadpool(state.store.websub.get, name)
    if row is None or row.state != "verified":
        raise HTTPException(404, "no verified subscription for this source")
    cap, body = state.config.settings.fetch.max_bytes, bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise HTTPException(413, f"a push larger than {cap} bytes ([fetch] max_bytes)")
    if not signature_ok(row.secret, bytes(body), request.headers.get("x-hub-signature")):
        log.warning("websub_bad_signature", source=name, signature=bool(request.headers.get("x-hub-signature")))
        raise HTTPException(403, "X-Hub-Signature missing or not the HMAC of the body under this subscription's secret")

    def ingest():  # noqa: ANN202
        with pipeline(state.config, state.store) as p:
            return p.ingest_pushed(source, row.topic, bytes(body), request.headers.get("content-type"))

    result = await run_in_threadpool(ingest)
    if result.failure == "database":
        raise HTTPException(503, result.error)
    return PlainTextResponse(result.summary() + "\n", status_code=200 if result.ok else 202)

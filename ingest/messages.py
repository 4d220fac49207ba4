"""Notify messages from Jinja2 templates: a title, and a body in plain text or (for e-mail) HTML.

Titles, snippets and outlet names come from feeds and pages, so they are untrusted: the HTML body is
rendered with autoescaping (a title cannot add markup to a mail), the text body is sent as plain text,
and the title line is one line. Templates live in `ingest/templates/notify/`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ingest.storage.outbox import Alert

HTML_SCHEMES = {"mailto", "mailtos"}  # channels that show HTML; every other one gets plain text
_MARK = re.compile(r"\[\[(.+?)\]\]")  # how a stored snippet marks the matched term
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    html: bool


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("ingest", "templates/notify"), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def runs(snippet: str) -> list[tuple[str, bool]]:
    """A snippet cut into (text, is the matched term) runs at its `[[...]]` marks."""
    out, at = [], 0
    for m in _MARK.finditer(snippet):
        if m.start() > at:
            out.append((snippet[at:m.start()], False))
        out.append((m.group(1), True))
        at = m.end()
    if at < len(snippet):
        out.append((snippet[at:], False))
    return out


def one_line(text: str | None) -> str:
    return _SPACE.sub(" ", text or "").strip()


def context(watchlist: str, alerts: Sequence[Alert], public_url: str | None) -> dict:
    """What the templates see: plain values, none of them escaped yet."""
    entries = []
    for a in alerts:
        item = a.item
        entries.append({
            "title": one_line(item.title if item else None) or "(item pruned)",
            "url": item.url if item else None,
            "link": f"{public_url}/items/{item.id}" if item and public_url else None,
            "published": item.published.strftime("%Y-%m-%d %H:%M UTC") if item and item.published else None,
            "snippets": [runs(s) for s in a.snippets],
            "outlets": [{"name": one_line(o.site_name) or o.source, "url": o.url} for o in a.outlets],
        })
    return {"watchlist": watchlist, "alerts": entries, "digest": len(entries) > 1}


def render(watchlist: str, alerts: Sequence[Alert], scheme: str, public_url: str | None = None,
           digest: bool = False) -> Message:
    values = context(watchlist, alerts, public_url) | {"digest": digest or len(alerts) > 1}
    env = _environment()
    html = scheme in HTML_SCHEMES
    body = env.get_template("body.html" if html else "body.txt").render(values)
    return Message(one_line(env.get_template("title.txt").render(values)), body, html)

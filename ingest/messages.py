"""Notify messages from Jinja2 templates: a title, and a body in plain text or (for e-mail) HTML.

Titles, snippets and outlet names come from feeds and pages, so they are untrusted: the HTML body is
rendered with autoescaping (a title cannot add markup to a mail), the text body is sent as plain text,
and the title line is one line. Templates live in `ingest/templates/notify/`; a target's `template` folder
may replace any of them. Every template runs in Jinja2's sandbox: the config author writes them, but
none may reach Python internals through the values it is given.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment

from ingest.storage.outbox import Alert

HTML_SCHEMES = {"mailto", "mailtos"}  # channels that show HTML; every other one gets plain text
NAMES = ("title.txt", "body.txt", "body.html")  # the templates a `template` folder may replace
_MARK = re.compile(r"\[\[(.+?)\]\]")  # how a stored snippet marks the matched term
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    html: bool


class TemplateFailed(ValueError):
    """A template that cannot be compiled or rendered; the message names the file (and line when known)."""


@cache
def _environment(folder: Path | None = None) -> SandboxedEnvironment:
    """The templates of `folder` first, then the packaged ones (a file missing there is the default's)."""
    loader: BaseLoader = PackageLoader("ingest", "templates/notify")
    if folder is not None:
        loader = ChoiceLoader([FileSystemLoader(folder), loader])
    return SandboxedEnvironment(loader=loader, undefined=StrictUndefined,
                                autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                                trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def check(folder: Path) -> None:
    """Compile each template `folder` holds, so a syntax error is a config error, not a failed alert."""
    present = [name for name in NAMES if (folder / name).is_file()]
    if not present:
        raise TemplateFailed(f"holds none of {', '.join(NAMES)}")
    for name in present:
        _template(folder, name)


def _template(folder: Path | None, name: str) -> Template:
    try:
        return _environment(folder).get_template(name)
    except TemplateSyntaxError as exc:
        raise TemplateFailed(f"{name} line {exc.lineno}: {exc.message}") from None
    except UnicodeDecodeError:
        raise TemplateFailed(f"{name}: not UTF-8 text") from None
    except (TemplateError, OSError) as exc:
        raise TemplateFailed(f"{name}: {exc}") from None


def _fill(folder: Path | None, name: str, values: dict) -> str:
    """`name` rendered; a TemplateFailed naming the file and, from Jinja2's rewritten traceback, the line."""
    template = _template(folder, name)
    try:
        return template.render(values)
    except TemplateError as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == template.filename]
        where = f"{name} line {lines[-1]}" if lines else name
        raise TemplateFailed(f"{where}: {exc.message or type(exc).__name__}") from None


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
           digest: bool = False, folder: Path | None = None) -> Message:
    """The message for `alerts`, from `folder`'s templates where it has them; a TemplateFailed when one fails."""
    values = context(watchlist, alerts, public_url) | {"digest": digest or len(alerts) > 1}
    html = scheme in HTML_SCHEMES
    body = _fill(folder, "body.html" if html else "body.txt", values)
    return Message(one_line(_fill(folder, "title.txt", values)), body, html)

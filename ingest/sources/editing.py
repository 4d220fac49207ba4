"""`ingest sources add|remove|pause|resume`: edits of config.toml's [[sources]] that keep its comments and layout.

tomlkit round-trips the document, so only the edited table changes. The new text must load with the
config's own loader before it replaces the file (by rename, keeping its mode): an edit that would break
the config is refused with the loader's one-line error and leaves the file as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tomlkit

from ingest.config import Config, ConfigError, check_name, read_text, replace_text, source_name, unique_name


def add_source(config: Config, url: str, *, name: str | None = None, kind: str = "feed", every: str = "15m",
               title: str = "") -> Config:
    """Append a [[sources]] table; `name` defaults to one made from `title` (else the URL's host), made unique."""
    for s in config.sources:
        if s.url == url:
            raise ConfigError(f"{config.path}: {url} is already configured as source {s.name!r}")
    taken = {s.name for s in config.sources}
    if name is None:
        name = unique_name(source_name(title or url, url), set(taken), {})
    check_name(name, "source", str(config.path))
    if name in taken:
        raise ConfigError(f"{config.path}: a source is already named {name!r} (choose another with --name)")
    table = tomlkit.table()
    table.update({"name": name, "url": url, **({"type": kind} if kind != "feed" else {}), "every": every})
    table.add(tomlkit.nl())  # a blank line before whatever table follows

    def add(doc: Any) -> None:
        sources = doc.get("sources")
        if sources is None:
            doc.append("sources", tomlkit.aot())
            sources = doc["sources"]
        sources.append(table)

    return _edit(config, add)


def remove_source(config: Config, name: str) -> Config:
    return _edit(config, lambda doc: doc["sources"].pop(_index(config, doc, name)))


def set_paused(config: Config, name: str, paused: bool) -> Config:
    """`paused = true` on the source's table; resuming removes the key."""
    def change(doc: Any) -> None:
        table = doc["sources"][_index(config, doc, name)]
        if paused:
            table["paused"] = True
        elif "paused" in table:
            del table["paused"]

    return _edit(config, change)


def _index(config: Config, doc: Any, name: str) -> int:
    for i, table in enumerate(doc.get("sources") or ()):
        if table.get("name") == name:
            return i
    config.source(name)  # raises the usual "no source named" error, listing the known ones
    raise ConfigError(f"{config.path}: source {name!r} is not in this file's [[sources]]")


def _edit(config: Config, change: Callable[[Any], None]) -> Config:
    try:
        doc = tomlkit.parse(read_text(config.path))
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{config.path}: invalid TOML: {exc}") from None
    change(doc)
    return replace_text(config.path, tomlkit.dumps(doc))

"""The ORM session of the storage modules, which scrubs every row it writes, and `scrub` itself."""

from __future__ import annotations

import importlib
import re
from typing import Any

import sqlmodel
from sqlalchemy import event

_SURROGATE = re.compile("[\ud800-\udfff]")


# What `repr` shows for the characters `scrub` removes: a NUL is always written \x00 and a lone surrogate \udXXX.
_REPR_DIRTY = re.compile(r"\\x00|\\ud[89a-f]")


def scrub(value: Any) -> Any:
    """Text PostgreSQL refuses (NUL characters, lone surrogates) removed, in strings and in JSON values."""
    if isinstance(value, list) and not _REPR_DIRTY.search(repr(value)):
        # One pass in C over a list (an item's blocks: hundreds of strings) instead of a call per string. A match
        # can be a false alarm (a literal backslash-x00 in the text, bytes): the walk below decides. Dicts are
        # walked, so a row's bytes (a page) are never repr'd.
        return value
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        return value.encode("utf-8", "replace").decode("utf-8") if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    return value


class Session(sqlmodel.Session):
    """A session whose flushes scrub the rows, so SQLite and PostgreSQL store the same text; only the store's
    own sessions do this (other SQLModel sessions in the process are left alone)."""


@event.listens_for(Session, "before_flush")
def _scrub_rows(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.new, *session.dirty):
        for name, value in vars(row).items():
            if not name.startswith("_") and isinstance(value, (str, list, dict)):
                cleaned = scrub(value)
                if cleaned is not value and cleaned != value:
                    setattr(row, name, cleaned)


def dialect_module(name: str) -> Any:
    """The dialect module, for its INSERT ... ON CONFLICT; imported on first use, not at start-up (PostgreSQL's
    costs 60 ms, which read commands on SQLite never need)."""
    return importlib.import_module(f"sqlalchemy.dialects.{name}")


def insert_ignore(s: Session, table: type, rows: list[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on either backend: concurrent writers may race on unique keys."""
    if not rows:
        return
    rows = [scrub(r) for r in rows]
    s.exec(dialect_module(s.get_bind().dialect.name).insert(table).values(rows).on_conflict_do_nothing())

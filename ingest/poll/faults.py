"""How a poll tells its failures apart: shutting down, the database's fault, or one entry's."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from ingest.fetch import FetchError


def cancelled(exc: BaseException) -> bool:
    """The fetcher was cancelled: the daemon is shutting down, so the poll stops (it is not the source's fault)."""
    return isinstance(exc, FetchError) and exc.kind == "cancelled"


def database_wide(exc: Exception) -> bool:
    """A fault of the database (locked, full, gone), not of one entry: every later entry would fail alike."""
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return not (sqlstate or "").startswith("54")  # PostgreSQL class 54: a value over a limit, the entry's own


def one_line(exc: BaseException) -> str:
    """One line: a database error's text goes on with the statement and its parameters (whole pages)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first[:300]}"

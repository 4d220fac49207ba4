"""structlog set-up: JSON lines for machines, readable lines on a terminal, always on stderr."""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection

import structlog

from ingest.terminal import visible


def configure(level: str = "info", json: bool | None = None, skip: Collection[str] = ()) -> None:
    """`skip`: events not to log at all (what the command itself reports, so each failure is told once)."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            *([_skip(frozenset(skip))] if skip else []),
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # One write() per line: worker processes sharing stderr must not interleave halves of lines.
        # On a terminal, a title or URL in an event must not drive it: controls are shown, not sent.
        logger_factory=structlog.WriteLoggerFactory(file=_Stderr(terminal=not json)),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    if not any(isinstance(h, _LibraryLog) for h in root.handlers):
        root.addHandler(_LibraryLog(logging.WARNING))


def _skip(events: frozenset[str]):  # noqa: ANN202
    def processor(logger: object, method: str, event: dict) -> dict:
        if event.get("event") in events:
            raise structlog.DropEvent
        return event

    return processor


class _LibraryLog(logging.Handler):
    """Libraries' warnings (stdlib logging: APScheduler, procrastinate, psycopg) as our events, one line each:
    otherwise Python prints them as bare text lines among the JSON ones."""

    def emit(self, record: logging.LogRecord) -> None:
        error = _FORMATTER.formatException(record.exc_info) if record.exc_info else None
        log.log(record.levelno, "library_log", logger=record.name, message=record.getMessage().strip(), error=error)


_FORMATTER = logging.Formatter()


class _Stderr:
    """Whatever sys.stderr is at the time of writing (tests and embedders swap it)."""

    def __init__(self, terminal: bool = False):
        self.terminal = terminal

    def write(self, text: str) -> int:
        return sys.stderr.write(visible(text) if self.terminal else text)

    def flush(self) -> None:
        sys.stderr.flush()


configure()  # stderr from the first import on, whoever imports this: never structlog's default (stdout)
log = structlog.get_logger("ingest")

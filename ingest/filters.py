"""The item filters of `ingest query`/`export` and of the web app, as one `ItemQuery`: the same values and syntax
in both, and the same one-line error naming the option (a `click.BadParameter`, which the web app turns into a 400)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import click

from ingest.config import ConfigError, parse_duration

if TYPE_CHECKING:
    from ingest.storage.store import ItemQuery


def item_query(watchlist, flagged, sources, languages, story, since, until, search, state=None,  # noqa: ANN001
               fetched_since=None, **page) -> ItemQuery:
    """The store query of the filters; `page` holds ItemQuery's paging and order fields."""
    from ingest.search import SearchSyntaxError, parse
    from ingest.storage.store import ItemQuery

    if search:
        try:
            parse(search)
        except SearchSyntaxError as exc:
            raise click.BadParameter(str(exc), param_hint="--search") from None
    return ItemQuery(watchlist=watchlist, flagged=flagged, sources=tuple(sources), languages=tuple(languages),
                     story=story, since=when(since, "--since"), until=when(until, "--until"),
                     fetched_since=when(fetched_since, "--fetched-since"), search=search, state=state, **page)


def when(value: str | None, option: str) -> datetime | None:
    """ISO date/time, or a relative age like `2d`, `12h`, `30m` (that long ago)."""
    if value is None:
        return None
    try:
        return datetime.now(timezone.utc) - _age(value)
    except ConfigError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date like 2024-05-01 or an age like 2d or 12h, got {value!r}",
                                 param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _age(value: str) -> timedelta:
    if value.strip().isdigit():  # a bare number is a year or a date fragment, not seconds
        raise ConfigError(value)
    return timedelta(seconds=parse_duration(value))

"""When to poll a source next: a pure function of its state and the last poll's outcome.

Healthy sources keep their interval (or the server's cache hints, if longer);
failing ones back off exponentially with jitter, capped, and recover on the first
success; a 429/503 with Retry-After delays the whole host without counting as a
failure; 410 Gone stops polling; a permanent redirect seen `MOVED_AFTER` times in
a row becomes the source's URL.  Nothing here touches the network or the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

MAX_BACKOFF = 24 * 3600.0
MAX_HINT = 24 * 3600.0  # cache hints longer than a day are not trusted further
MAX_RETRY_AFTER = 31 * 86400.0
MOVED_AFTER = 3  # consecutive permanent redirects to one target before the stored URL follows
AUTO_MIN, AUTO_MAX = 300.0, 86400.0  # bounds of `every = "auto"`
_RNG = random.Random()  # seeded once: seeding a new one from os.urandom for each poll cost more than the plan

OutcomeKind = Literal["ok", "not_modified", "transient", "not_found", "rate_limited", "gone", "invalid"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    error: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After
    hint: float | None = None  # seconds, from Cache-Control max-age / Expires / RSS ttl
    moved_to: str | None = None  # target of a permanent (301/308) redirect of the feed URL


@dataclass(frozen=True)
class Plan:
    """The source's schedule after a poll."""

    state: Literal["ok", "backoff", "gone"]
    failures: int
    next_poll: datetime | None  # None: not polled again (gone)
    url: str  # the URL to poll next time
    moved_to: str | None  # a permanent redirect target seen `moved_count` times in a row
    moved_count: int
    host_blocked_until: datetime | None = None  # Retry-After applies to every source on the host


def plan(*, state: str, failures: int, url: str, moved_to: str | None, moved_count: int, outcome: Outcome,
         every: float, now: datetime, planned: datetime | None = None, rng: random.Random | None = None) -> Plan:
    """`planned`: when this poll was due.  A successful poll within one interval of it schedules the next
    from it, not from `now`, so a poll that started late (a scheduler's tick, a busy worker) delays no other."""
    rng = rng or _RNG
    current = Plan(state="ok" if state != "gone" else "gone", failures=failures, next_poll=None, url=url,
                   moved_to=moved_to, moved_count=moved_count)
    if outcome.kind == "gone":
        return replace(current, state="gone", failures=failures + 1, next_poll=None)
    if outcome.kind == "rate_limited":
        delay = min(outcome.retry_after or every, MAX_RETRY_AFTER)
        until = now + timedelta(seconds=delay)
        return replace(current, state="backoff" if failures else "ok", next_poll=until, host_blocked_until=until)
    if outcome.kind in ("ok", "not_modified"):
        current = _follow_redirect(current, outcome.moved_to)
        delay = max(every, min(outcome.hint or 0.0, MAX_HINT))
        start = planned if planned is not None and abs((now - planned).total_seconds()) < every else now
        return replace(current, state="ok", failures=0, next_poll=start + timedelta(seconds=_jittered(delay, rng)))
    failures += 1
    delay = min(every * 2 ** min(failures, 20), MAX_BACKOFF)
    delay = max(every, _jittered(delay, rng))
    return replace(current, state="backoff", failures=failures, next_poll=now + timedelta(seconds=delay))


def _follow_redirect(current: Plan, target: str | None) -> Plan:
    if not target or target == current.url:
        return replace(current, moved_to=None, moved_count=0)
    count = current.moved_count + 1 if target == current.moved_to else 1
    if count >= MOVED_AFTER:
        return replace(current, url=target, moved_to=None, moved_count=0)
    return replace(current, moved_to=target, moved_count=count)


def _jittered(seconds: float, rng: random.Random) -> float:
    """±10 % so that sources sharing an interval drift apart instead of firing together."""
    return seconds * rng.uniform(0.9, 1.1)


def auto_interval(published: list[datetime]) -> float:
    """`every = "auto"`: half the median gap between recent entries, bounded to [5 min, 24 h]."""
    times = sorted(published)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:]) if b > a]
    if not gaps:
        return AUTO_MAX / 4
    median = sorted(gaps)[len(gaps) // 2]
    return min(max(median / 2, AUTO_MIN), AUTO_MAX)


def cache_hint(headers: dict[str, str] | None, ttl_minutes: int | None, now: datetime) -> float | None:
    """The longest freshness the server asked for: Cache-Control max-age, else Expires, or RSS <ttl>."""
    hints = []
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and value.strip().isdigit():
            hints.append(float(value))
            break
    else:
        if headers.get("expires"):
            try:
                expires = parsedate_to_datetime(headers["expires"])
                if expires.tzinfo is None:
                    expires = expires.replace(tzinfo=timezone.utc)
                hints.append(max((expires - now).total_seconds(), 0.0))
            except (TypeError, ValueError):
                pass
    if ttl_minutes and ttl_minutes > 0:
        hints.append(ttl_minutes * 60.0)
    return max(hints) if hints else None


NETWORK_WINDOW = 3600.0  # a source's failure older than this says nothing about the network now
NETWORK_KINDS = frozenset({"connection", "timeout"})  # failures that never reached an HTTP answer


def network_down(last_polls: list[tuple[datetime, str | None] | None], now: datetime,
                 window: float = NETWORK_WINDOW) -> bool:
    """Is our own network down, rather than the sources? From each active source's last poll: (when, failure kind).

    Only when every source failed recently without an HTTP answer: with three or more, connection
    errors and timeouts both count (many unrelated hosts rarely fail together); with one or two, only
    connection errors do, since a single slow server times out far more often than a network does.
    A source not yet polled, or polled long ago, leaves the question open (False).
    """
    if not last_polls or any(p is None or (now - p[0]).total_seconds() > window for p in last_polls):
        return False
    kinds = {kind for _, kind in last_polls}
    return kinds <= (NETWORK_KINDS if len(last_polls) >= 3 else {"connection"})

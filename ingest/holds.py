"""When a notify target may be sent to: mute, quiet hours and digests (pure: the clock is an argument).

Holding never drops anything: a held delivery stays pending in the outbox and goes at the first run
after the hold ends, so a digest or the end of quiet hours carries every alert of its window once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ingest.config import Digest, Outputs, Target


def muted(outputs: Outputs, now: datetime) -> bool:
    return outputs.mute_until is not None and now < outputs.mute_until


def quiet(target: Target, now: datetime) -> bool:
    """Inside the target's quiet hours (local time; a window like 22:00-07:00 wraps past midnight)."""
    if target.quiet is None:
        return False
    start, end = target.quiet
    clock = now.astimezone(ZoneInfo(target.zone)).time()
    return start <= clock < end if start < end else clock >= start or clock < end


def last_daily(at: time, zone: str, now: datetime) -> datetime:
    """The latest moment at or before `now` when the local clock of `zone` showed `at`."""
    local = now.astimezone(ZoneInfo(zone))
    moment = datetime.combine(local.date(), at, ZoneInfo(zone))
    return moment if moment <= local else datetime.combine(local.date() - timedelta(days=1), at, ZoneInfo(zone))


def interval_due(oldest: datetime, last_sent: datetime | None, every: float, now: datetime) -> bool:
    """Once the oldest alert has waited `every`, and never sooner than `every` after the last digest."""
    anchor = oldest if last_sent is None else max(oldest, last_sent)
    return now >= anchor + timedelta(seconds=every)


def digest_ready(digest: Digest, created: Sequence[datetime], last_sent: datetime | None, zone: str,
                 now: datetime) -> bool:
    """An interval digest goes once its oldest alert has waited `every` and `every` has passed since the last;
    a daily one at the first run after the day's time, when an alert is older than that moment."""
    if digest.every is not None:
        return interval_due(min(created), last_sent, digest.every, now)
    boundary = last_daily(digest.at, zone, now)
    return min(created) <= boundary and (last_sent is None or last_sent < boundary)

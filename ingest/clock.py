"""Time as every stage reads it: aware UTC datetimes, and milliseconds since a monotonic start."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def elapsed_ms(started: float) -> int:
    """Milliseconds since `started`, a `time.monotonic()` reading (for duration_ms in log events)."""
    return int((time.monotonic() - started) * 1000)

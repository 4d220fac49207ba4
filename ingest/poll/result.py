"""What one poll did, for the caller (CLI line, daemon schedule, metrics, the web app's Poll now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class PollResult:
    source: str
    new: int = 0
    duplicates: int = 0
    failed: int = 0  # entries that could not be turned into an item
    updated: int = 0  # stored items whose content changed (revisions)
    flagged: int = 0
    not_modified: bool = False
    error: str | None = None  # the whole source failed (fetch or feed error)
    next_poll: datetime | None = None  # None: do not poll again (gone)
    state: str | None = None  # the source's schedule state after the poll: ok, backoff, gone
    failure: str | None = None  # why the source failed: a FetchError kind, "feed", "gone" or "host_blocked"
    fetch_seconds: float | None = None  # the feed request, when one was made (for metrics)
    entry_error: str | None = None  # why the first failed entry failed (the source's error state)

    def entry_failed(self, error: str) -> None:
        self.failed += 1
        self.entry_error = self.entry_error or error

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        if self.error:
            return f"{self.source}: FAILED {self.error}"
        note = (f", {self.updated} updated" if self.updated else "") + (" (not modified)" if self.not_modified else "")
        return (
            f"{self.source}: {self.new} new, {self.duplicates} duplicate, "
            f"{self.failed} failed, {self.flagged} flagged{note}"
        )

"""The sources page's "Poll now": one poll of one source, in a background thread of the web app.

The same `Pipeline.poll` that `ingest fetch` runs, with its own fetcher and in-thread extraction,
so it works alike under `ingest serve` (no daemon) and `ingest run` (the daemon's schedule is left
as it is: a poll that overlaps a scheduled one stores nothing twice, since items are keyed by their
fingerprints). One poll per source at a time; a second press while it runs is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ingest.logs import log

if TYPE_CHECKING:
    from ingest.config import Config, Source
    from ingest.poll.pipeline import Pipeline
    from ingest.storage.store import Store


@contextmanager
def pipeline(config: Config, store: Store) -> Iterator[Pipeline]:
    """A pipeline as `ingest fetch` builds one, with its own fetcher and in-thread extraction."""
    from ingest.fetch import Fetcher
    from ingest.poll.pipeline import Pipeline
    from ingest.poll.workers import WorkerPool

    with Fetcher(config.settings.fetch) as fetcher, WorkerPool(0, config.watchlists) as workers:
        yield Pipeline(config, store, fetcher, workers)


@dataclass(frozen=True)
class Outcome:
    finished_at: datetime
    summary: str  # PollResult.summary(): the line `ingest fetch` prints
    ok: bool


class Poller:
    def __init__(self, config: Config, store: Store):
        self.config, self.store = config, store
        self._lock = threading.Lock()
        self.running: set[str] = set()
        self.last: dict[str, Outcome] = {}  # by source: how its last poll from the web app ended

    def start(self, source: Source) -> threading.Thread | None:
        """Start polling `source`; None when a poll of it from here is still running."""
        with self._lock:
            if source.name in self.running:
                return None
            self.running.add(source.name)
        thread = threading.Thread(target=self._poll, args=(source,), name=f"poll-{source.name}", daemon=True)
        thread.start()
        return thread

    def _poll(self, source: Source) -> None:
        from ingest.clock import utcnow

        try:
            with pipeline(self.config, self.store) as p:
                result = p.poll(source)
            self.last[source.name] = Outcome(utcnow(), result.summary(), result.ok)
        except Exception as exc:  # reported on the page; the app goes on
            log.exception("web_poll_failed", source=source.name)
            self.last[source.name] = Outcome(utcnow(), f"{source.name}: poll failed: {exc}", False)
        finally:
            with self._lock:
                self.running.discard(source.name)

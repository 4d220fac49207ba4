"""`ingest run`: poll every source on its own interval with APScheduler, until SIGINT/SIGTERM."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING

from ingest.config import Config, Source
from ingest.fetch import Fetcher, redact
from ingest.logs import log
from ingest.pipeline import Pipeline, utcnow
from ingest.storage.store import Store

GRACE_SECONDS = 30.0  # how long SIGTERM waits for in-flight polls before leaving them to be redone
FIRST_POLL_SPREAD = 5.0  # seconds over which the first polls after start are spread


class AlreadyRunning(RuntimeError):
    pass


def lock_database(database_url: str) -> IO | None:
    """One daemon per SQLite file: an OS lock beside it, released by the kernel even after kill -9."""
    if not database_url.startswith("sqlite:///") or database_url.endswith(":memory:"):
        return None
    path = Path(database_url[len("sqlite:///"):] + ".lock")
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(f"another `ingest run` already uses {path.with_suffix('')} (lock {path})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class Daemon:
    """One APScheduler date job per source; each poll schedules the source's next one from its plan."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher):
        self.pipeline = Pipeline(config, store, fetcher)
        self.store = store
        self.sources = config.sources
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max(2, min(len(config.sources), 8)))},
            timezone="UTC",
        )

    def start(self) -> None:
        now = utcnow()
        for source in self.sources:
            state = self.store.source_state(source.name)
            due = now
            if state and state.config_url == source.url:
                if state.state == "gone":
                    log.warning("source_gone", source=source.name, url=redact(state.url))
                    continue
                due = max(state.next_poll or now, now)
            # Spread the first polls so that a restart does not fire every source at once.
            self._schedule(source, due + timedelta(seconds=random.uniform(0, FIRST_POLL_SPREAD)))
        self.scheduler.start()

    def _schedule(self, source: Source, when: datetime) -> None:
        self.scheduler.add_job(self._poll, "date", run_date=when, args=[source], id=source.name, name=source.name,
                               replace_existing=True, misfire_grace_time=None)

    def _poll(self, source: Source) -> None:
        try:
            result = self.pipeline.poll(source)
        except Exception:  # a bug must not silently end a source's schedule
            log.exception("poll_crashed", source=source.name)
            self._schedule(source, utcnow() + timedelta(seconds=source.every or 900))
            return
        if result.next_poll is None:
            log.warning("source_gone", source=source.name, error=result.error)
        elif self.scheduler.state == STATE_RUNNING:
            self._schedule(source, result.next_poll)

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        self.scheduler.pause()
        closer = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True)
        closer.start()
        closer.join(grace)
        if closer.is_alive():
            # Each item is one transaction: abandoning a poll loses nothing stored; it is redone next time.
            log.warning("daemon_abandoned_polls", grace_s=grace)


def run(config: Config, store: Store, fetcher: Fetcher, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    lock = lock_database(config.database_url)
    daemon = Daemon(config, store, fetcher)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.set())
    daemon.start()
    log.info("daemon_started", sources=len(config.sources), database=store.engine.url.render_as_string(hide_password=True))
    try:
        stop.wait()
    finally:
        log.info("daemon_stopping", grace_s=GRACE_SECONDS)
        daemon.stop()
        log.info("daemon_stopped")
        if lock:
            lock.close()

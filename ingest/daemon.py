"""`ingest run`: poll every source on its own interval with APScheduler, until SIGINT/SIGTERM."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import IO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ingest.config import Config
from ingest.fetch import Fetcher
from ingest.logs import log
from ingest.pipeline import Pipeline, utcnow
from ingest.storage.store import Store

GRACE_SECONDS = 30.0  # how long SIGTERM waits for in-flight polls before leaving them to be redone


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


def _jitter(every: float) -> float:
    """Spread polls so that sources with the same interval do not fire together."""
    return min(every * 0.1, 300.0)


def run(config: Config, store: Store, fetcher: Fetcher, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    lock = lock_database(config.database_url)
    pipeline = Pipeline(config, store, fetcher)
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=max(2, min(len(config.sources), 8)))},
        timezone="UTC",
    )
    now = utcnow()
    for source in config.sources:
        state = store.source_state(source.name)
        due = state.next_poll if state and state.next_poll and state.url == source.url else now
        first = max(due, now) + timedelta(seconds=random.uniform(0, min(_jitter(source.every), 5.0)))
        scheduler.add_job(
            pipeline.poll, IntervalTrigger(seconds=source.every, jitter=_jitter(source.every)),
            args=[source], id=source.name, name=source.name, next_run_time=first,
            max_instances=1, coalesce=True, misfire_grace_time=None,
        )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.set())
    scheduler.start()
    log.info("daemon_started", sources=len(config.sources), database=store.engine.url.render_as_string())
    try:
        stop.wait()
    finally:
        log.info("daemon_stopping", grace_s=GRACE_SECONDS)
        scheduler.pause()
        closer = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
        closer.start()
        closer.join(GRACE_SECONDS)
        if closer.is_alive():
            # Each item is one transaction: abandoning a poll loses nothing stored; it is redone next time.
            log.warning("daemon_abandoned_polls", grace_s=GRACE_SECONDS)
        log.info("daemon_stopped")
        if lock:
            lock.close()

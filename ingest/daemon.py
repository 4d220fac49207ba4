"""`ingest run`: poll every source on its own interval with APScheduler, until SIGINT/SIGTERM."""

from __future__ import annotations

import fcntl
import logging
import os
import random
import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy import text

from ingest.alerts import Alerts, feed_of
from ingest.clock import utcnow
from ingest.config import Config, Source
from ingest.fetch import Fetcher, FetchError
from ingest.http import redact
from ingest.jobs import ALERTS_EVERY, GRACE_SECONDS, alerts_wanted, first_poll, poll_url, prune, rematch
from ingest.logs import log
from ingest.poll.pipeline import Pipeline, PollResult
from ingest.poll.workers import WorkerPool
from ingest.schedule import NETWORK_KINDS, network_down
from ingest.server import HEARTBEAT_SECONDS, Heartbeat, Listener, ListenError, Metrics
from ingest.storage.store import Store

DAEMON_LOCK_KEY = 0x1D6E58  # advisory lock id: one embedded daemon per PostgreSQL database
FIRST_POLL_SPREAD = 5.0  # seconds over which the first polls after start are spread
PROBE_SECONDS = 30.0  # while our network is down: one probe request this often instead of every source's polls


class Closeable(Protocol):
    def close(self) -> None: ...


class AlreadyRunning(RuntimeError):
    pass


def lock_database(store: Store) -> Closeable | None:
    """One embedded daemon per database, released by the kernel or the server even after kill -9.

    SQLite: an OS lock on a file beside the database.  PostgreSQL: a session advisory lock
    held on a dedicated connection (several workers there go through `ingest run --workers`).
    """
    url = store.engine.url
    if url.get_backend_name() == "postgresql":
        conn = store.engine.connect()
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": DAEMON_LOCK_KEY}).scalar():
            conn.close()
            raise AlreadyRunning(f"another `ingest run` already uses the database {url.database}")
        return conn
    if not url.database or url.database == ":memory:":
        return None
    path = Path(url.database + ".lock")
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(f"another `ingest run` already uses {url.database} (lock {path})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class CancellableExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, able to drop jobs still waiting for a thread when the daemon stops.

    Without this, SIGTERM on a busy daemon would run every queued poll before exiting.
    """

    def cancel_queued(self) -> None:
        """Running polls go on (and are waited for); queued ones are cancelled.

        Cancelling runs APScheduler's done-callback on each, which asks the future for its exception and so
        raises CancelledError: `concurrent.futures` would log a traceback per dropped poll (thousands on a busy
        daemon).  A dropped poll is not an error, so that logger is quiet meanwhile (the callbacks run here).
        """
        futures_log = logging.getLogger("concurrent.futures")
        futures_log.disabled = True
        try:
            self._pool.shutdown(wait=False, cancel_futures=True)
        finally:
            futures_log.disabled = False


class Daemon:
    """One APScheduler date job per source; each poll schedules the source's next one from its plan."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher):
        settings = config.settings
        self.workers = WorkerPool(settings.processes, config.watchlists, settings.worker_tasks)
        self.pipeline = Pipeline(config, store, fetcher, self.workers)
        self.store = store
        self.sources = config.active_sources
        self.watchlists = config.watchlists
        self.alerts = Alerts(store, config.outputs, config.settings.fetch, config.public_url)
        self.retention = config.retention
        self.outputs = config.outputs
        self._executors = (CancellableExecutor(max_workers=max(2, min(len(config.sources), config.settings.concurrent_sources))),
                           CancellableExecutor(max_workers=1))  # heartbeat: long polls must not delay liveness
        self.scheduler = BackgroundScheduler(
            executors={"default": self._executors[0], "heartbeat": self._executors[1]}, timezone="UTC")
        self.metrics, self.heartbeat = Metrics(), Heartbeat()
        self._lock = threading.Lock()
        self._active: set[str] = set()  # sources with a schedule (not gone)
        self._last: dict[str, tuple[datetime, str | None]] = {}  # per source: (polled at, failure kind or None)
        self._held: set[str] | None = None  # sources parked while the network is down; None when it is up
        self._probes = 0

    def start(self) -> None:
        now = utcnow()
        states = {s.name: s for s in self.store.source_states()}  # one query, not one per source
        for source in self.sources:
            due = first_poll(source, states.get(source.name), now)
            if due is None:
                log.warning("source_gone", source=source.name, url=redact(states[source.name].url))
                continue
            # Spread the first polls so that a restart does not fire every source at once.
            self._schedule(source, due + timedelta(seconds=random.uniform(0, FIRST_POLL_SPREAD)))
            self._active.add(source.name)
        if self.retention.keep:
            self.scheduler.add_job(prune, "interval", days=1, args=[self.store, self.retention], id="prune",
                                   next_run_time=now + timedelta(minutes=1))
        self.scheduler.add_job(self.heartbeat.beat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat",
                               executor="heartbeat", next_run_time=now, coalesce=True)
        self.scheduler.add_job(rematch, "date", run_date=now, args=[self.store, self.watchlists],
                               id="rematch", misfire_grace_time=None)
        if alerts_wanted(self.outputs):
            self.scheduler.add_job(self.alerts.tick, "interval", seconds=ALERTS_EVERY, id="alerts", next_run_time=now,
                                   coalesce=True, max_instances=1, misfire_grace_time=None)
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
        if result.failure == "cancelled":  # stopped by shutdown: nothing to record or reschedule
            return
        self._observe(result)
        if result.next_poll is None:
            log.warning("source_gone", source=source.name, error=result.error)
            with self._lock:
                self._active.discard(source.name)
        elif self._hold(source, result):
            return
        elif self.scheduler.state == STATE_RUNNING:
            self._schedule(source, result.next_poll)

    def _observe(self, result: PollResult) -> None:
        try:
            self.metrics.observe(result, result.state)
        except Exception:  # metrics must never cost a source its next poll
            log.exception("metrics_failed", source=result.source)

    def _hold(self, source: Source, result: PollResult) -> bool:
        """Record the poll; when every source fails below HTTP, park them all rather than count failures
        against each, and probe until the network answers again."""
        now = utcnow()
        failure = result.failure if result.error else None
        with self._lock:
            self._last[source.name] = (now, failure)
            if self._held is None:
                # Any HTTP answer proves the network up: only a network failure needs the look at every source.
                if failure not in NETWORK_KINDS or not network_down(
                        [self._last.get(name) for name in self._active], now):
                    return False
                self._held = set(self._active)
                for name in self._held:
                    if self.scheduler.get_job(name):
                        self.scheduler.remove_job(name)
                self.scheduler.add_job(self._probe, "interval", seconds=PROBE_SECONDS, id="network-probe",
                                       max_instances=1, coalesce=True)
                log.warning("network_down", sources=len(self._held), probe_every_s=PROBE_SECONDS,
                            error=result.error)
            self._held.add(source.name)
            return True

    def _probe(self) -> None:
        """One request to one parked source (in turn); any HTTP answer means the network is back."""
        with self._lock:
            names = sorted(self._held or ())
        if not names:
            return
        self._probes += 1
        source = next(s for s in self.sources if s.name == names[self._probes % len(names)])
        try:
            self.pipeline.fetcher.get(poll_url(source, self.store.source_state(source.name)))
        except FetchError as exc:
            if exc.kind in NETWORK_KINDS:
                log.info("network_probe", source=source.name, error=str(exc))
                return
        with self._lock:
            held, self._held = self._held or set(), None
            self._last.clear()  # every source must fail afresh before the network is called down again
        if self.scheduler.get_job("network-probe"):
            self.scheduler.remove_job("network-probe")
        log.info("network_up", source=source.name, sources=len(held))
        now = utcnow()
        for s in self.sources:
            if s.name in held:
                self._schedule(s, now + timedelta(seconds=random.uniform(0, FIRST_POLL_SPREAD)))

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        self.scheduler.pause()
        for executor in self._executors:
            executor.cancel_queued()  # polls waiting for a thread are not in flight: they are simply not run
        self.pipeline.fetcher.cancel()  # in-flight polls stop at their next request, keeping what they stored
        closer = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True)
        closer.start()
        closer.join(grace)
        if closer.is_alive():
            # Each item is one transaction: abandoning a poll loses nothing stored; it is redone next time.
            log.warning("daemon_abandoned_polls", grace_s=grace)
        else:
            self.workers.close()


def _web(config: Config, store: Store):  # noqa: ANN202
    """The web app on `[web] listen`, in a thread of the daemon (imported only when configured)."""
    if config.web_listen is None:
        return None
    from ingest.web.app import WebServer

    server = WebServer(config, store, config.web_listen)
    if server.refusal():
        raise ListenError(server.refusal())
    return server.start()


def run(config: Config, store: Store, fetcher: Fetcher, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    lock = lock_database(store)
    daemon = Daemon(config, store, fetcher)
    atom = feed_of(store, [w.name for w in config.watchlists])
    listener = Listener(config.listen, daemon.metrics, daemon.heartbeat, store.engine, atom).start() \
        if config.listen else None
    web = _web(config, store)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.set())
    daemon.start()
    log.info("daemon_started", sources=len(config.sources), database=store.engine.url.render_as_string(hide_password=True))
    try:
        stop.wait()
    finally:
        log.info("daemon_stopping", grace_s=GRACE_SECONDS)
        daemon.stop()
        if listener:
            listener.close()
        if web:
            web.close()
        log.info("daemon_stopped")
        if lock:
            lock.close()

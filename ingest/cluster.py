"""Several worker processes, on one machine or many, sharing one PostgreSQL database (`ingest run --workers N`).

Procrastinate (a job queue kept in PostgreSQL) coordinates them, so nothing here is a
home-made scheduler or lock manager:

- `ingest.tick`, a periodic task (deduplicated by the database, so one worker defers each
  tick), defers an `ingest.poll_source` job for each source that is due: never polled, or
  `source.next_poll` passed.  Each job carries `queueing_lock` = `lock` = the source name, so
  a source has at most one queued and never two running polls.  The job checks again that
  the source is still due (a job queued while the previous poll ran finds it polled).
- `ingest.recover_stalled`, periodic too, returns to the queue the jobs of workers whose
  heartbeat stopped (SIGKILL, lost machine) after `stalled_after` seconds.
- Per-host politeness holds across processes: `PgHostGate` takes one of N PostgreSQL
  advisory locks per host for each request; a dead process's locks go with its session.

Every worker reads the same config.toml: the sources list is the config's, the polling state
(validators, next poll) is the `source` table's.  A worker process whose database goes away
(PostgreSQL restart) rebuilds its Procrastinate worker with backoff; a poll cut short stores
nothing twice (one transaction per item, fingerprint keys) and is redone at the next tick.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

import procrastinate
from procrastinate import exceptions as queue_errors
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager
from procrastinate.worker import Worker
from sqlalchemy import Connection, Engine, create_engine, text

from ingest import config as config_mod
from ingest import jobs, logs
from ingest.alerts import Alerts
from ingest.clock import utcnow
from ingest.config import Config, ConfigError
from ingest.fetch import Fetcher
from ingest.jobs import ALERTS_EVERY, GRACE_SECONDS, is_due
from ingest.logs import log
from ingest.poll.pipeline import Pipeline
from ingest.storage import migrate
from ingest.storage.store import Store

JOBS_PER_WORKER = 4  # polls one worker process runs at once (each fetches its pages on its own threads)
RESTART_BACKOFF_MAX = 30.0  # seconds between attempts to rebuild a worker that lost its database


@dataclass(frozen=True)
class Tuning:
    """Timings of the pool; the environment overrides them (tests shorten them)."""

    tick: int = 10  # seconds between looks for due sources; must divide 60 (a cron seconds field)
    heartbeat: float = 5.0  # seconds between a worker's heartbeats
    stalled_after: float = 30.0  # a worker silent this long is dead: its jobs go back to the queue

    @classmethod
    def from_env(cls) -> Tuning:
        default = cls()
        tick = int(os.environ.get("INGEST_TICK", default.tick))
        if tick < 1 or 60 % tick:
            raise ConfigError(f"INGEST_TICK: expected a divisor of 60 seconds, got {tick}")
        return cls(tick=tick, heartbeat=float(os.environ.get("INGEST_HEARTBEAT", default.heartbeat)),
                   stalled_after=float(os.environ.get("INGEST_STALLED_AFTER", default.stalled_after)))


# -- schema ------------------------------------------------------------------

def ensure_queue_schema(engine: Engine) -> bool:
    """Apply Procrastinate's schema once (under the migration advisory lock); True if it was applied now."""
    with migrate.exclusive(engine):
        with engine.begin() as conn:
            if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
                return False
            # The driver connection runs the multi-statement script as is (no parameter parsing of its `%`).
            conn.connection.driver_connection.execute(SchemaManager.get_schema())
    return True


# -- per-host politeness across processes --------------------------------------

class PgHostGate:
    """At most `limit` requests in flight per host across every process on this database, and at
    least `gap` seconds between request starts.

    A slot is the session advisory lock (host key, slot number), held on its own connection for
    the request's duration; SIGKILL ends the session and so frees the slot.  Waiters retry with
    jittered backoff and hold no connection while they wait.
    """

    def __init__(self, engine: Engine, limit: int, gap: float = 0.0):
        self.limit, self.gap = max(1, limit), gap
        self.engine = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True,
                                    pool_size=4, max_overflow=8, pool_timeout=120)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        key = int.from_bytes(hashlib.sha256(host.encode()).digest()[:4], "big", signed=True)
        conn, number = self._acquire(key)
        try:
            if self.gap > 0:
                # Starts are spaced by holding the host's start lock (slot -1) for `gap` seconds.
                conn.execute(text("SELECT pg_advisory_lock(:k, -1)"), {"k": key})
                time.sleep(self.gap)
                conn.execute(text("SELECT pg_advisory_unlock(:k, -1)"), {"k": key})
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k, :n)"), {"k": key, "n": number})
            except Exception:  # the session is gone (database restart): so is its lock
                conn.invalidate()
            conn.close()

    def _acquire(self, key: int) -> tuple[Connection, int]:
        wait = 0.01
        first = random.randrange(self.limit)  # spread waiters over the slots
        while True:
            conn = self.engine.connect()
            try:
                for i in range(self.limit):
                    number = (first + i) % self.limit
                    if conn.execute(text("SELECT pg_try_advisory_lock(:k, :n)"), {"k": key, "n": number}).scalar():
                        return conn, number
            except BaseException:
                conn.close()
                raise
            conn.close()
            time.sleep(random.uniform(wait / 2, wait))
            wait = min(wait * 2, 0.25)

    def close(self) -> None:
        self.engine.dispose()


# -- the tasks -------------------------------------------------------------------

@dataclass
class _Worker:
    """What one worker process's jobs share (tasks find it in the module global below)."""

    config: Config
    store: Store
    fetcher: Fetcher
    gate: PgHostGate
    pipeline: Pipeline
    alerts: Alerts
    tuning: Tuning

    @classmethod
    def open(cls, config: Config, tuning: Tuning) -> _Worker:
        store = Store(config.database_url, config.lock_timeout)
        store.prepare()
        gate = PgHostGate(store.engine, config.settings.fetch.per_host_concurrency,
                          config.settings.fetch.per_host_delay)
        fetcher = Fetcher(config.settings.fetch, gate=gate)
        return cls(config, store, fetcher, gate, Pipeline(config, store, fetcher),
                   Alerts(store, config.outputs, config.settings.fetch, config.public_url), tuning)

    def close(self) -> None:
        self.fetcher.close()
        self.gate.close()
        self.store.close()


_current: _Worker | None = None


def _here() -> _Worker:
    assert _current is not None, "ingest.cluster tasks run inside `ingest run --workers`"
    return _current


def _due_sources() -> list[str]:
    w, now = _here(), utcnow()
    states = {s.name: s for s in w.store.source_states()}
    return [s.name for s in w.config.active_sources if is_due(s, states.get(s.name), now, w.tuning.tick)]


async def tick(context: procrastinate.JobContext, timestamp: int) -> None:
    """Queue a poll for each due source; the queueing lock keeps it to one queued job per source."""
    queued = 0
    for name in await asyncio.to_thread(_due_sources):
        try:
            await context.app.configure_task("ingest.poll_source", lock=name, queueing_lock=name
                                             ).defer_async(name=name)
            queued += 1
        except queue_errors.AlreadyEnqueued:
            pass
    if queued:
        log.info("cluster_tick", queued=queued)


def poll_source(name: str) -> None:
    """One poll (a sync task: Procrastinate runs it on a thread). Skipped if the source was polled meanwhile."""
    w = _here()
    try:
        source = w.config.source(name)
    except ConfigError:
        log.warning("cluster_unknown_source", source=name, hint="every worker must read the same config.toml")
        return
    state = w.store.source_state(name)
    if not is_due(source, state, utcnow(), w.tuning.tick):
        return
    # The next poll is planned from this one's planned time, so the tick's rounding does not add up.
    result = w.pipeline.poll(source, planned=jobs.planned(source, state))
    if result.error:
        log.warning("poll_failed", source=name, error=result.error, next_poll=str(result.next_poll))


async def recover_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
    """Requeue the jobs of dead workers; if the source already has a queued job, that one will do."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=_here().tuning.stalled_after):
        try:
            await manager.retry_job(job)
            outcome = "retried"
        except queue_errors.UniqueViolation:
            await manager.finish_job(job, Status.FAILED, delete_job=False)
            outcome = "superseded"
        log.warning("cluster_stalled_job", job=job.id, task=job.task_name, lock=job.lock, outcome=outcome)


def send_alerts(timestamp: int) -> None:
    _here().alerts.tick()


def prune(timestamp: int) -> None:
    w = _here()
    jobs.prune(w.store, w.config.retention)


def rematch() -> None:
    w = _here()
    jobs.rematch(w.store, w.config.watchlists)


def build_app(config: Config, tuning: Tuning, engine: Engine) -> procrastinate.App:
    """The Procrastinate app: its connection pool and the tasks above, each with a lock of its own."""
    connector = procrastinate.PsycopgConnector(
        conninfo=engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        min_size=1, max_size=4, timeout=30)
    app = procrastinate.App(connector=connector)
    every = f"* * * * * */{tuning.tick}"  # croniter's sixth field is seconds
    app.periodic(cron=every)(app.task(name="ingest.tick", pass_context=True, lock="ingest.tick",
                                      queueing_lock="ingest.tick")(tick))
    app.periodic(cron=every)(app.task(name="ingest.recover_stalled", pass_context=True,
                                      lock="ingest.recover_stalled", queueing_lock="ingest.recover_stalled")(recover_stalled))
    app.task(name="ingest.poll_source")(poll_source)
    app.task(name="ingest.rematch", lock="ingest.rematch", queueing_lock="ingest.rematch")(rematch)
    if jobs.alerts_wanted(config.outputs):
        app.periodic(cron=f"* * * * * */{int(ALERTS_EVERY)}")(
            app.task(name="ingest.alerts", lock="ingest.alerts", queueing_lock="ingest.alerts")(send_alerts))
    if config.retention.keep:
        app.periodic(cron="17 3 * * *")(app.task(name="ingest.prune", lock="ingest.prune",
                                                 queueing_lock="ingest.prune")(prune))
    return app


# -- one worker process ----------------------------------------------------------

def work(config_path: str, log_level: str) -> None:
    """A worker process: serve jobs until SIGTERM/SIGINT, rebuilding the worker if the database goes away."""
    global _current
    logs.configure(log_level)
    config, tuning = config_mod.load(config_path), Tuning.from_env()
    _current = _Worker.open(config, tuning)
    try:
        asyncio.run(_serve(build_app(config, tuning, _current.store.engine), tuning, f"ingest-{socket.gethostname()}-{os.getpid()}"))
    finally:
        _current.close()


async def _serve(app: procrastinate.App, tuning: Tuning, name: str) -> None:
    stopping = asyncio.Event()
    current: list[Worker] = []

    def stop() -> None:
        stopping.set()
        for w in current:
            w.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    backoff = 1.0
    while not stopping.is_set():
        started = time.monotonic()
        worker = Worker(app, name=name, concurrency=JOBS_PER_WORKER, install_signal_handlers=False,
                        update_heartbeat_interval=tuning.heartbeat, stalled_worker_timeout=tuning.stalled_after,
                        fetch_job_polling_interval=tuning.tick, shutdown_graceful_timeout=GRACE_SECONDS,
                        delete_jobs="successful")
        current[:] = [worker]
        try:
            async with app.open_async():
                try:
                    await app.configure_task("ingest.rematch").defer_async()
                except queue_errors.AlreadyEnqueued:
                    pass
                log.info("cluster_worker_started", worker=name)
                await worker.run()
        except Exception as exc:  # database gone (restart, network): rebuild the worker below
            log.warning("cluster_worker_lost_database", worker=name, error=f"{type(exc).__name__}: {exc}")
        if stopping.is_set():
            break
        backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, RESTART_BACKOFF_MAX)
        log.warning("cluster_worker_restarting", worker=name, in_s=backoff)
        try:
            await asyncio.wait_for(stopping.wait(), backoff)
        except TimeoutError:
            pass
    log.info("cluster_worker_stopped", worker=name)


# -- the launcher ------------------------------------------------------------------

def run(config: Config, store: Store, workers: int, log_level: str, stop: threading.Event | None = None) -> None:
    """Start `workers` processes on this machine; restart one that dies; on SIGTERM/SIGINT stop them all."""
    stop = stop or threading.Event()
    if ensure_queue_schema(store.engine):
        log.info("cluster_queue_schema_applied")
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections or threads

    def start(index: int) -> BaseProcess:
        process = context.Process(target=work, args=(str(config.path), log_level), name=f"ingest-worker-{index}")
        process.start()
        return process

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.set())
    processes = [start(i) for i in range(workers)]
    log.info("cluster_started", workers=workers, pids=[p.pid for p in processes])
    while not stop.wait(1.0):
        for i, p in enumerate(processes):
            if not p.is_alive():
                log.warning("cluster_worker_died", pid=p.pid, exitcode=p.exitcode)
                processes[i] = start(i)
    log.info("cluster_stopping", grace_s=GRACE_SECONDS)
    for p in processes:
        if p.is_alive():
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS + 10
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()
    log.info("cluster_stopped")

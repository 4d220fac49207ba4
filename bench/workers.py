"""Throughput of `ingest run --workers N` (PostgreSQL mode) for several N, against a feed farm on loopback.

Run:  /work/venv/bin/python bench/workers.py [--feeds 200] [--items 20] [--workers 1,2,4]

For each N: a fresh database on a throwaway PostgreSQL cluster (tests/conftest.py's, or
$INGEST_TEST_PG_URL), `ingest db upgrade`, then `ingest run --workers N` against the farm of
tests/test_cluster.py (feeds under three loopback host names, per_host_concurrency = 2, feed
content only: pages = false) until every item is stored.  Printed per N: items stored, seconds
from the first feed request to the last item, items/s over that time, CPU ms per item spent
by the ingest processes (user + sys of the whole process tree) and by PostgreSQL (the
cluster's processes, when it runs on this machine) -- these do not depend on what else the
machine runs, unlike items/s -- and the 1-minute load average when the run ended (other work
on the machine shows there).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.cluster import FeedFarm, cluster_env, ingest, item_counts, start_workers, stop_workers, write_config  # noqa: E402
from tests.helpers.postgres import new_postgres_database, running_postgres  # noqa: E402


def _postgres_cpu(server: str) -> float:
    """CPU seconds of the PostgreSQL cluster: the postmaster, its live backends, and the reaped ones (cutime)."""
    import psycopg

    with psycopg.connect(server) as conn:
        datadir = Path(conn.execute("SHOW data_directory").fetchone()[0])
    postmaster = int((datadir / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
        elif ppid == postmaster:
            total += sum(int(f) for f in fields[11:13]) / ticks
    return total


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped descendants: the worker tree once stopped
    return usage.ru_utime + usage.ru_stime


def measure(server: str, feeds: int, items: int, workers: int, folder: Path) -> tuple[int, float, float, float]:
    db_url = new_postgres_database(server)
    with FeedFarm(feeds=feeds, delay=0.0) as farm:
        farm.round = items - 2  # the farm serves round + 2 items per feed
        config = write_config(folder / f"config-{workers}.toml", db_url, farm, every=3600)
        upgraded = ingest(config, "db", "upgrade")
        if upgraded.returncode:
            sys.exit(f"ingest db upgrade failed: {upgraded.stderr}")
        cpu, pg_cpu = _cpu(), _postgres_cpu(server)
        proc = start_workers(config, workers, folder / f"workers-{workers}.log", cluster_env())
        try:
            while item_counts(db_url)[0] < farm.expected_items():
                time.sleep(0.2)
            done = time.monotonic()
        finally:
            stop_workers(proc)
        first = min(t[0] for t in farm.fetches.values())
    return farm.expected_items(), done - first, _cpu() - cpu, _postgres_cpu(server) - pg_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=20, help="items per feed (at least 2)")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        server = os.environ.get("INGEST_TEST_PG_URL") or stack.enter_context(running_postgres())
        print(f"{args.feeds} feeds x {args.items} items, {os.cpu_count()} CPUs")
        print(f"{'workers':>7} {'items':>7} {'seconds':>8} {'items/s':>8} {'CPU ms/item':>11} {'PG ms/item':>10} "
              f"{'load':>5}")
        with tempfile.TemporaryDirectory(prefix="ingest-bench-") as folder:
            for n in (int(w) for w in args.workers.split(",")):
                stored, seconds, cpu, pg = measure(server, args.feeds, args.items, n, Path(folder))
                print(f"{n:>7} {stored:>7} {seconds:>8.1f} {stored / seconds:>8.1f} {1000 * cpu / stored:>11.2f} "
                      f"{1000 * pg / stored:>10.2f} {os.getloadavg()[0]:>5.1f}", flush=True)


if __name__ == "__main__":
    main()

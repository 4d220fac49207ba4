"""Running PostgreSQL's own binaries from tests (as the `postgres` user when the tests run as root)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.ports import free_port

_db_counter = itertools.count()


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses root: run the server's commands as `postgres`."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def running_postgres() -> Iterator[str]:
    """A throwaway cluster on a free loopback port, fsync off; yields its `postgres` database URL."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    datadir = Path(tempfile.mkdtemp(prefix="ingest-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    port = free_port()
    subprocess.run(as_postgres([initdb, "-D", str(datadir / "data"), "-U", "postgres", "--auth=trust",
                                "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
    opts = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run(as_postgres([pg_ctl, "-D", str(datadir / "data"), "-o", opts, "-l", str(datadir / "log"),
                                "-w", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_postgres([pg_ctl, "-D", str(datadir / "data"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(datadir, ignore_errors=True)


def new_postgres_database(server_url: str) -> str:
    """A new, empty database on the server."""
    import psycopg

    name = f"ingest_test_{os.getpid()}_{next(_db_counter)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name

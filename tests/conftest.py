"""Shared fixtures: real SQLite files and a real, throwaway PostgreSQL cluster on loopback.

PostgreSQL: `$INGEST_TEST_PG_URL` if set, else a cluster started here with the
machine's `initdb`/`pg_ctl` (as the `postgres` user when we run as root, since
initdb refuses root).  Without PostgreSQL binaries the PostgreSQL half of the
suite is skipped, except under CI (`CI=true`), where that is a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.paths import SHARED

_db_counter = itertools.count()


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server():
    """The base URL of a PostgreSQL server (database `postgres`)."""
    if os.environ.get("INGEST_TEST_PG_URL"):
        yield os.environ["INGEST_TEST_PG_URL"]
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; CI must install them")
        pytest.skip("PostgreSQL binaries not found")
    datadir = Path(tempfile.mkdtemp(prefix="ingest-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([initdb, "-D", str(datadir / "data"), "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
    opts = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run(_as_postgres([pg_ctl, "-D", str(datadir / "data"), "-o", opts, "-l", str(datadir / "log"),
                                 "-w", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", str(datadir / "data"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(datadir, ignore_errors=True)


def new_postgres_database(server_url: str) -> str:
    import psycopg

    name = f"ingest_test_{os.getpid()}_{next(_db_counter)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def shared() -> Path:
    """The large corpora, for the optional whole-corpus tests only."""
    if not SHARED.exists():
        pytest.skip(f"shared material not found at {SHARED}")
    return SHARED

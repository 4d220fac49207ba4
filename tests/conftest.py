"""Shared fixtures: real SQLite files and a real, throwaway PostgreSQL cluster on loopback.

PostgreSQL: `$INGEST_TEST_PG_URL` if set, else a cluster started here with the
machine's `initdb`/`pg_ctl` (as the `postgres` user when we run as root, since
initdb refuses root).  Without PostgreSQL binaries the PostgreSQL half of the
suite is skipped, except under CI (`CI=true`), where that is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.paths import OTHER_PAGE, SEED_PAGE, SHARED
from tests.helpers.postgres import new_postgres_database, pg_bin, running_postgres
from tests.helpers.servers import LocalServer
from tests.helpers.site import HTML, RSS, rss


@pytest.fixture(scope="session")
def postgres_server():
    """The base URL of a PostgreSQL server (database `postgres`)."""
    if os.environ.get("INGEST_TEST_PG_URL"):
        yield os.environ["INGEST_TEST_PG_URL"]
        return
    if not (pg_bin("initdb") and pg_bin("pg_ctl")):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; CI must install them")
        pytest.skip("PostgreSQL binaries not found")
    with running_postgres() as url:
        yield url


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


@pytest.fixture
def store(db_url):
    """A migrated, empty `Store` on each backend."""
    from ingest.storage.store import Store

    s = Store(db_url)
    s.prepare()
    yield s
    s.close()


@pytest.fixture
def site():
    """The seed article and one other page behind an RSS feed at /feed.xml."""
    with LocalServer() as srv:
        srv.route("/a/31892678.html", SEED_PAGE.read_bytes(), headers=HTML)
        srv.route("/a/31890001.html", OTHER_PAGE.read_bytes(), headers=HTML)
        srv.route("/feed.xml", rss(srv, [
            ("31892678", "/a/31892678.html", "Armenia Backs Alliance With Russia, Other Ex-Soviet States"),
            ("31890001", "/a/31890001.html", "Yerevan Opens New Metro Station After Decade of Delays"),
        ]), headers=RSS)
        yield srv


@pytest.fixture
def poller(tmp_path, db_url):
    """(server, store, pipeline) in feed-only mode with one watchlist."""
    from tests.helpers.polling import polling

    with polling(tmp_path, db_url, "pages = false", '[[watchlists]]\nname = "w"\nterms = ["Yerevan"]\n') as p:
        yield p


@pytest.fixture
def local_server():
    """A running `LocalServer` on 127.0.0.1."""
    with LocalServer() as srv:
        yield srv


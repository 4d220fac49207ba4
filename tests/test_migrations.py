"""Migrations on both backends: from an empty database, one revision at a time, and back down."""

import signal
import subprocess
import sys
import time

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ingest.storage import migrate
from ingest.storage.store import Store


def _revisions() -> list[str]:
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_each_revision_upgrades_from_the_previous_and_downgrades(db_url):
    store = Store(db_url)
    revisions = _revisions()
    assert revisions[0] == "0001" and revisions[-1] == migrate.head_revision()
    for revision in revisions:
        migrate.upgrade(store.engine, revision)
        assert migrate.current_revision(store.engine) == revision
    assert {"item", "fingerprint", "hit", "alert", "watchlist_state"} <= set(inspect(store.engine).get_table_names())
    migrate.downgrade(store.engine, "base")
    assert migrate.current_revision(store.engine) is None
    assert "item" not in inspect(store.engine).get_table_names()
    store.prepare()  # an emptied database is set up again
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    store.close()


# Runs `ingest db upgrade` in this interpreter, pausing (and touching PAUSED) at the first statement after
# the first revision was stamped, i.e. in the middle of the upgrade, where the test kills it.
_PAUSING_UPGRADE = """
import sys, time
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.engine import Engine
from ingest.cli import main

stamped = []

@event.listens_for(Engine, "before_cursor_execute")
def pause(conn, cursor, statement, params, context, executemany):
    if stamped:
        Path(sys.argv[2]).touch()
        time.sleep(120)
    if statement.lstrip().upper().startswith("INSERT INTO ALEMBIC_VERSION"):
        stamped.append(statement)

main(["--config", sys.argv[1], "db", "upgrade"])
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_an_upgrade_killed_midway_is_completed_by_the_next(db_url, tmp_path, signum):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    paused = tmp_path / "paused"
    proc = subprocess.Popen([sys.executable, "-c", _PAUSING_UPGRADE, str(config), str(paused)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not paused.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the upgrade never reached its second revision"
            time.sleep(0.05)
        proc.send_signal(signum)
        assert proc.wait(30) != 0
    finally:
        proc.kill()
        proc.communicate()
    again = subprocess.run([sys.executable, "-m", "ingest", "--config", str(config), "db", "upgrade"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"database schema: empty -> {migrate.head_revision()}")
    store = Store(db_url)
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision()
        assert {"item", "fingerprint", "hit", "alert"} <= set(inspect(store.engine).get_table_names())
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        store.close()

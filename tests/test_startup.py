"""Read commands start fast: they import only what they use (issue 18, point 12)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from ingest.cli import main
from ingest.storage import migrate
from ingest.storage.store import Store
from tests.helpers.cli import write_config

# read the database and print it.
HEAVY = ("alembic", "httpx", "httpcore", "feedparser", "lxml", "structlog", "apscheduler", "prometheus_client",
         "sqlalchemy.dialects.postgresql")


@pytest.mark.parametrize("args", [("query", "--limit", "5"), ("show", "1"), ("query", "--format", "json"),
                                  ("stats",), ("explain", "1")])
def test_read_commands_do_not_import_heavy_modules(tmp_path, args):
    config = write_config(tmp_path, [("a", "https://example.org/a.xml")])
    assert CliRunner().invoke(main, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ingest", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: no item with that id in an empty database
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert not [m for m in imported if m.split(".")[0] in HEAVY or m in HEAVY]


def test_revisions_read_without_alembic_agree_with_alembic(db_url):
    from alembic.runtime.migration import MigrationContext

    assert migrate.head_revision() == migrate._alembic_head()
    store = Store(db_url)
    assert migrate.current_revision(store.engine) is None
    store.prepare()
    with store.engine.connect() as conn:
        assert migrate.current_revision(store.engine) == MigrationContext.configure(conn).get_current_revision()
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    store.close()

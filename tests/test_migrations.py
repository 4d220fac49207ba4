"""Migrations on both backends: from an empty database, one revision at a time, and back down."""

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

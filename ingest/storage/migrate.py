"""Schema upgrades through Alembic, run from code so that users never touch an alembic.ini."""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 0x1D6E57  # advisory lock id for schema changes


# Alembic costs ~0.2 s to import: read commands check the revision without it (`head_revision`,
# `current_revision`); only upgrades and downgrades load it.
_REVISION_LINE = re.compile(r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:["']([^"'\n]+)["']|None)\s*$""", re.M)


def _alembic_config(connection: Connection) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration: the revision no other one revises, read from the files' `revision` and
    `down_revision` lines; Alembic decides whenever that is not one plain chain (a merge, a branch)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(m.groups() for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")))
        if "revision" not in found or "down_revision" not in found:
            return _alembic_head()
        revisions.add(found["revision"])
        revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None when it has no schema yet), from Alembic's version table."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:  # several heads: Alembic's own error
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return versions[0] if versions else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with _transaction(engine) as conn:
        command.upgrade(_alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with _transaction(engine) as conn:
        command.downgrade(_alembic_config(conn), revision)


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """All revisions in one transaction, so that a migration killed midway (SIGKILL, power loss) leaves the
    database as it was.  PostgreSQL's DDL is transactional as is; Python's sqlite3 driver opens a transaction
    only before INSERT/UPDATE/DELETE and runs CREATE/DROP/ALTER outside it, so on SQLite the transaction is
    opened here, with BEGIN IMMEDIATE (the write lock from the start), and the driver told to leave it alone."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        driver.isolation_level = None  # no implicit BEGIN/COMMIT by the driver: ours below
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                driver.rollback()
                raise
            driver.commit()
        finally:
            driver.isolation_level = ""  # the driver's default again, for the pool's next user


@contextmanager
def exclusive(engine: Engine) -> Iterator[None]:
    """Only one process checks and migrates a database at a time (many workers may start together)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield

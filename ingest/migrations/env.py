"""Alembic environment: the engine comes from `ingest.storage.migrate`, never from an ini file."""

from alembic import context
from sqlmodel import SQLModel

import ingest.storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds for ALTERs
)
with context.begin_transaction():
    context.run_migrations()

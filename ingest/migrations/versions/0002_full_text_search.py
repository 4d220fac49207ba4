"""full-text search over item title, text and authors

SQLite: an FTS5 external-content table `item_fts` (tokenizer unicode61 remove_diacritics 2)
reading from the view `item_fts_content`, which turns the authors JSON list into plain text
(stored JSON escapes non-ASCII names, so the raw column would index `u0410...`); triggers
keep it in step with `item`.

PostgreSQL: a generated `item.fulltext` tsvector (title weight A, text B, authors C) with
a GIN index: text cut into runs of letters and digits, then parsed by the text search
configuration `ingest_fts`: `simple` plus `unaccent` when the extension can be created,
plain `simple` otherwise.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _authors(row: str) -> str:
    return f"(SELECT group_concat(value, ' ') FROM json_each({row}.authors))"


def _values(row: str) -> str:
    return f"{row}.id, {row}.title, {row}.text, {_authors(row)}"


_SQLITE_UP = [
    f"CREATE VIEW item_fts_content AS SELECT id, title, text, {_authors('item')} AS authors FROM item",
    "CREATE VIRTUAL TABLE item_fts USING fts5(title, text, authors, content='item_fts_content', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    # bm25 column weights: a title match counts ten times a body match, authors twice.
    "INSERT INTO item_fts(item_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0, 2.0)')",
    "CREATE TRIGGER item_fts_insert AFTER INSERT ON item BEGIN "
    f"INSERT INTO item_fts(rowid, title, text, authors) VALUES ({_values('new')}); END",
    "CREATE TRIGGER item_fts_delete AFTER DELETE ON item BEGIN "
    f"INSERT INTO item_fts(item_fts, rowid, title, text, authors) VALUES ('delete', {_values('old')}); END",
    "CREATE TRIGGER item_fts_update AFTER UPDATE OF title, text, authors ON item BEGIN "
    f"INSERT INTO item_fts(item_fts, rowid, title, text, authors) VALUES ('delete', {_values('old')}); "
    f"INSERT INTO item_fts(rowid, title, text, authors) VALUES ({_values('new')}); END",
    # Not FTS5's 'rebuild', which fails on a view: the rows stored before this revision.
    "INSERT INTO item_fts(rowid, title, text, authors) SELECT id, title, text, authors FROM item_fts_content",
    # One segment: the few huge ones a bulk insert leaves would be merged into by every later commit.
    "INSERT INTO item_fts(item_fts) VALUES ('optimize')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER item_fts_update",
    "DROP TRIGGER item_fts_delete",
    "DROP TRIGGER item_fts_insert",
    "DROP TABLE item_fts",
    "DROP VIEW item_fts_content",
]

_PG_UNACCENT = (
    "ALTER TEXT SEARCH CONFIGURATION ingest_fts ALTER MAPPING "
    "FOR word, hword, hword_part, numword, numhword, hword_numpart WITH unaccent, simple"
)
_PG_UP = [
    # Words are runs of letters and digits, as for FTS5 and `ingest.search`: without this the
    # PostgreSQL parser keeps "example.com", "3.14" or "a@b.org" as single lexemes.
    """CREATE FUNCTION ingest_fts_words(value text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT regexp_replace(value, '[^[:alnum:]]+', ' ', 'g') $$""",
    """CREATE FUNCTION ingest_item_tsvector(title text, body text, authors json) RETURNS tsvector
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
         SELECT setweight(to_tsvector('ingest_fts', ingest_fts_words(coalesce(title, ''))), 'A')
             || setweight(to_tsvector('ingest_fts', ingest_fts_words(body)), 'B')
             || setweight(to_tsvector('ingest_fts', ingest_fts_words(
                  coalesce((SELECT string_agg(a, ' ') FROM json_array_elements_text(authors) AS a), ''))), 'C')
       $$""",
    "ALTER TABLE item ADD COLUMN fulltext tsvector "
    "GENERATED ALWAYS AS (ingest_item_tsvector(title, text, authors)) STORED",
    "CREATE INDEX ix_item_fulltext ON item USING gin (fulltext)",
]
_PG_DOWN = [
    "DROP INDEX ix_item_fulltext",
    "ALTER TABLE item DROP COLUMN fulltext",
    "DROP FUNCTION ingest_item_tsvector(text, text, json)",
    "DROP FUNCTION ingest_fts_words(text)",
    "DROP TEXT SEARCH CONFIGURATION ingest_fts",
]


def _with_unaccent() -> bool:
    """Create the unaccent extension if we may; a failure (not installed, no rights) must not abort the migration."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DBAPIError:
        return False
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        statements = _SQLITE_UP
    else:
        op.execute("CREATE TEXT SEARCH CONFIGURATION ingest_fts (COPY = simple)")
        statements = ([_PG_UNACCENT] if _with_unaccent() else []) + _PG_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    # The unaccent extension stays: other schemas may use it, and it costs nothing idle.
    for statement in _SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else _PG_DOWN:
        op.execute(statement)

"""Compile a parsed search (`ingest.search.Query`) for SQLite FTS5 or PostgreSQL tsvector.

Migration 0002 creates the index on both: `item_fts` on SQLite, the `item.fulltext`
column (title weight A, text B, authors C) on PostgreSQL.  Both split words at anything that
is not a letter or digit and fold case and diacritics, so the same rows match on either.

Snippets are a second query over the page of results: computed in the main query, SQLite
would build one for every matching row before sorting.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection, Select

from ingest.search import Query, Term
from ingest.storage.tables import ItemRow

MARK_START, MARK_END = "[[", "]]"  # as in watchlist snippets
RANKED_MATCHES = 10_000
FEW_FILTERED = 100_000  # SQLite: up to this many items passing the other filters, match against their ids
_FTS = sa.table("item_fts", sa.column("rowid"), sa.column("rank"), sa.column("item_fts"))
_FTS5_COLUMNS = {"any": "", "title": "title : ", "author": "authors : "}
_PG_WEIGHTS = {"title": "{a}", "author": "{c}"}
_PG_CONFIG = sa.literal_column("'ingest_fts'::regconfig")
_PG_VECTOR = sa.literal_column("item.fulltext")
_PG_HEADLINE = f'StartSel="{MARK_START}", StopSel="{MARK_END}", MinWords=15, MaxWords=35'


def search(conn: Connection, ids: Select, query: Query) -> Select:
    """Matching item ids, most relevant first, newer first among equals; the caller adds offset and limit.

    `ids` is `select(ItemRow.id).where(...)` with the caller's other filters (no joins).  On
    SQLite this counts how many items pass them, up to `FEW_FILTERED`, to pick a plan.  Relevance is ranked
    among the newest `RANKED_MATCHES` matches only: ranking costs a few microseconds per
    row, too much for a common word matching half a million items.
    """
    if conn.dialect.name != "sqlite":
        # ts_rank reads the whole tsvector: only for the rows the LIMIT let through.
        cut = ids.where(_pg_filter(query)).order_by(ItemRow.id.desc()).limit(RANKED_MATCHES)
        rank = sa.func.ts_rank(_PG_VECTOR, _pg_positive(query))
        newest = sa.select(ItemRow.id, rank.label("rank"), ItemRow.sort_time).where(ItemRow.id.in_(cut)).subquery()
        return sa.select(newest.c.id).order_by(newest.c.rank.desc(), newest.c.sort_time.desc(), newest.c.id.desc())
    # FTS5 walks its matches backwards by rowid for free; its rank (bm25, lower is better) is computed
    # only for the rows the LIMIT lets through.
    matches = sa.select(_FTS.c.rowid.label("id"), (-_FTS.c.rank).label("rank")).where(
        _FTS.c.item_fts.match(fts5_query(query)))
    filters = ids.whereclause
    if filters is not None and _at_most(conn, ids, FEW_FILTERED):
        # Few items pass the filters: test each match against their ids (the unary + keeps FTS5 from
        # probing its index once per id, which costs milliseconds for a common word).
        matches = matches.where(sa.literal_column("+item_fts.rowid").in_(ids))
    elif filters is not None:
        # Most items pass: check each match's row, stopping at the limit.
        matches = matches.join(ItemRow, ItemRow.id == _FTS.c.rowid).where(filters)
    newest = matches.order_by(_FTS.c.rowid.desc()).limit(RANKED_MATCHES).subquery()
    return sa.select(newest.c.id).join(ItemRow, ItemRow.id == newest.c.id).order_by(
        newest.c.rank.desc(), ItemRow.sort_time.desc(), newest.c.id.desc())


def _at_most(conn: Connection, ids: Select, n: int) -> bool:
    return conn.execute(sa.select(sa.func.count()).select_from(ids.limit(n + 1).subquery())).scalar() <= n


def snippets(conn: Connection, query: Query, ids: Sequence[int]) -> dict[int, str]:
    """A short excerpt of each item's text around the matches, marked [[...]]; by item id."""
    if not ids:
        return {}
    if conn.dialect.name == "sqlite":
        stmt = sa.select(_FTS.c.rowid, sa.func.snippet(sa.literal_column("item_fts"), 1, MARK_START, MARK_END,
                                                        "…", 24)).where(
            _FTS.c.item_fts.match(fts5_query(query)), _FTS.c.rowid.in_(ids))
    else:
        item = ItemRow.__table__
        stmt = sa.select(item.c.id, sa.func.ts_headline(_PG_CONFIG, item.c.text, _pg_positive(query), _PG_HEADLINE)
                         ).where(item.c.id.in_(ids))
    return {item_id: snippet for item_id, snippet in conn.execute(stmt)}


# -- SQLite FTS5 ------------------------------------------------------------


def fts5_query(query: Query) -> str:
    """The FTS5 MATCH string; every word is quoted, so no user text is read as FTS5 syntax."""
    groups = [" OR ".join(map(_fts5_term, group)) for group in query.must]
    positive = " AND ".join(f"({g})" if len(group) > 1 else g for g, group in zip(groups, query.must))
    if not query.must_not:
        return positive
    return f"({positive}) NOT ({' OR '.join(map(_fts5_term, query.must_not))})"


def _fts5_term(term: Term) -> str:
    return f'{_FTS5_COLUMNS[term.field]}"{" ".join(term.words)}"'


# -- PostgreSQL tsvector ----------------------------------------------------


def _tsquery(term: Term) -> ColumnElement:
    return sa.func.phraseto_tsquery(_PG_CONFIG, " ".join(term.words))


def _any_of(terms: Sequence[Term]) -> ColumnElement:
    queries = [_tsquery(t) for t in terms]
    combined = queries[0]
    for q in queries[1:]:
        combined = sa.func.tsquery_or(combined, q)
    return combined


def _pg_positive(query: Query) -> ColumnElement:
    """Every group, fields ignored: what ranks and highlights."""
    combined = _any_of(query.must[0])
    for group in query.must[1:]:
        combined = sa.func.tsquery_and(combined, _any_of(group))
    return combined


def _pg_filter(query: Query) -> ColumnElement[bool]:
    """The index finds rows by `_pg_positive` minus unfielded exclusions; field terms are then rechecked.

    A field term matches on `ts_filter(vector, weight)`, the vector cut down to that field's
    lexemes, which no index serves: hence the broader indexed condition first.
    """
    indexed = _pg_positive(query)
    for term in query.must_not:
        if term.field == "any":
            indexed = sa.func.tsquery_and(indexed, sa.func.tsquery_not(_tsquery(term)))
    conditions = [_PG_VECTOR.op("@@")(indexed)]
    for group in query.must:
        if any(t.field != "any" for t in group):
            conditions.append(sa.or_(*map(_pg_matches, group)))
    conditions += [sa.not_(_pg_matches(t)) for t in query.must_not if t.field != "any"]
    return sa.and_(*conditions)


def _pg_matches(term: Term) -> ColumnElement[bool]:
    vector = _PG_VECTOR
    if term.field != "any":
        vector = sa.func.ts_filter(vector, sa.literal_column(f"'{_PG_WEIGHTS[term.field]}'::\"char\"[]"))
    return vector.op("@@")(_tsquery(term))

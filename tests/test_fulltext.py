"""Full-text search on both backends: the same rows for the same query, ranked and with marked snippets."""

import uuid
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import make_url, select, text

from ingest.search import parse
from ingest.storage import fulltext, migrate
from ingest.storage.store import Store
from ingest.storage.tables import ItemRow

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

ARTICLES = {
    "csto": ("Саммит ОДКБ в Москве", "Организация Договора о коллективной безопасности провела встречу.",
             ["Иван Петров"]),
    "armenia": ("Հայաստան և ՀԱՊԿ", "Երևանը սառեցրել է մասնակցությունը ՀԱՊԿ-ում։", ["Արամ Սարգսյան"]),
    "cafe": ("Paris café culture", "The café on the corner serves coffee to students.", []),
    "treaty": ("Treaty text", "The collective security treaty was signed in Tashkent.", []),
    "effort": ("Security debate", "Security is a collective effort, the minister said.", []),
    "peace_title": ("Peace talks resume", "Delegations met again on Monday.", ["Anna Smith"]),
    "peace_body": ("Monday briefing", "The spokesman mentioned peace only in passing.", ["Lee Park"]),
    "smith_body": ("Blacksmiths", "A smith forged the gate.", ["Ola Nordmann"]),
    "dotted": ("Release notes", "Version 3.14 of example.com ships; write to help@example.com.", []),
}


def _add(store: Store, key: str, age_hours: int = 0, source: str = "s") -> int:
    title, body, authors = ARTICLES[key]
    when = NOW - timedelta(hours=age_hours)
    item = ItemRow(source=source, url=f"https://example.com/{key}", title=title, fetched_at=when, sort_time=when,
                   text=body, authors=authors, blocks=[{"kind": "paragraph", "text": body}])
    with store.writing() as w:
        return w.add(item, [("url", f"example.com/{key}")], [])


@pytest.fixture
def ids(store) -> dict[str, int]:
    # The body-only peace article is the newest, so ranking, not recency, must put the title match first.
    return {key: _add(store, key, age_hours=0 if key == "peace_body" else 5 + n) for n, key in enumerate(ARTICLES)}


def found(store: Store, query: str, *where) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.execute(fulltext.search(conn, select(ItemRow.id).where(*where), parse(query))).scalars())


def named(ids: dict[str, int], *keys: str) -> set[int]:
    return {ids[k] for k in keys}


@pytest.mark.parametrize("query, expected", [
    ("ОДКБ", {"csto"}),
    ("одкб", {"csto"}),
    ('"Организация Договора о коллективной безопасности"', {"csto"}),
    ('"коллективной организация"', set()),
    ("Հայաստան", {"armenia"}),
    ("հապկ", {"armenia"}),
    ("ՀԱՊԿ Երևանը", {"armenia"}),
    ("cafe", {"cafe"}),
    ("CAFÉ coffee", {"cafe"}),
    ("collective security", {"treaty", "effort"}),
    ('"collective security"', {"treaty"}),
    ("security -treaty", {"effort"}),
    ('security -"collective security"', {"effort"}),
    ("treaty OR effort", {"treaty", "effort"}),
    ("security treaty OR effort", {"treaty", "effort"}),
    ("tashkent treaty OR effort", {"treaty"}),
    ("peace", {"peace_title", "peace_body"}),
    ("title:peace", {"peace_title"}),
    ('title:"peace talks"', {"peace_title"}),
    ("peace -title:peace", {"peace_body"}),
    ("title:security OR title:treaty", {"treaty", "effort"}),
    ("author:smith", {"peace_title"}),
    ("smith", {"peace_title", "smith_body"}),
    ("author:петров", {"csto"}),
    ("author:Սարգսյան", {"armenia"}),
    ("nowhere", set()),
    ("example.com", {"dotted"}),  # PostgreSQL's parser alone would keep "example.com" one lexeme
    ("3.14 help", {"dotted"}),
    ('"14 of example"', {"dotted"}),
])
def test_the_same_rows_are_found_on_both_backends(store, ids, query, expected):
    assert set(found(store, query)) == named(ids, *expected)


def test_title_match_ranks_above_a_newer_body_only_match(store, ids):
    assert found(store, "peace") == [ids["peace_title"], ids["peace_body"]]


@pytest.mark.parametrize("few_filtered", [fulltext.FEW_FILTERED, 0])  # SQLite: both plans
def test_search_combines_with_other_filters(store, ids, monkeypatch, few_filtered):
    monkeypatch.setattr(fulltext, "FEW_FILTERED", few_filtered)
    # treaty is 8 hours old, effort 9 (see `ids`)
    newest_only = found(store, "collective security", ItemRow.sort_time >= NOW - timedelta(hours=8, minutes=30))
    assert newest_only == [ids["treaty"]]
    assert found(store, "collective security", ItemRow.source == "elsewhere") == []


def test_snippets_mark_the_matches(store, ids):
    query = parse("collective security")
    with store.engine.connect() as conn:
        got = fulltext.snippets(conn, query, [ids["treaty"], ids["effort"]])
    assert set(got) == {ids["treaty"], ids["effort"]}
    assert "[[collective]] [[security]]" in got[ids["treaty"]]
    assert "[[Security]]" in got[ids["effort"]]
    with store.engine.connect() as conn:
        cafe = fulltext.snippets(conn, parse("cafe"), [ids["cafe"]])[ids["cafe"]]
    assert "[[café]]" in cafe  # the stored text, not its folded form
    assert fulltext.snippets(store.engine.connect(), query, []) == {}


def test_index_follows_updates_and_deletes(store, ids):
    with store.engine.begin() as conn:
        conn.execute(text("update item set title = 'Ceasefire holds' where id = :id"), {"id": ids["peace_title"]})
        conn.execute(text("delete from item where id = :id"), {"id": ids["effort"]})
    assert found(store, "ceasefire") == [ids["peace_title"]]
    assert found(store, "title:peace") == []
    assert found(store, "collective security") == [ids["treaty"]]


def _alembic(store: Store, action, revision: str) -> None:
    with store.engine.begin() as conn:
        action(migrate._alembic_config(conn), revision)


def test_rows_stored_before_the_migration_become_searchable(db_url):
    store = Store(db_url)
    _alembic(store, command.upgrade, "0001")
    before = _add(store, "csto")
    migrate.upgrade(store.engine)
    after = _add(store, "cafe")
    assert found(store, "ОДКБ") == [before]
    assert found(store, "cafe") == [after]
    _alembic(store, command.downgrade, "0001")
    downgraded = _add(store, "armenia")  # no trigger or generated column left behind to trip on
    migrate.upgrade(store.engine)
    assert found(store, "Հայաստան") == [downgraded]
    assert found(store, "author:петров") == [before]
    store.close()


def test_relevance_is_ranked_among_the_newest_matches_only(store, ids, monkeypatch):
    monkeypatch.setattr(fulltext, "RANKED_MATCHES", 1)
    assert found(store, "peace") == [ids["peace_body"]]  # stored last; the better title match is past the cut


def test_postgresql_without_unaccent_falls_back_to_simple(postgres_server):
    """A role that may not create extensions: the migration still runs, only diacritics stop folding."""
    import psycopg

    name = f"ingest_plain_{uuid.uuid4().hex[:12]}"  # a database and a role of that name, neither shared
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
    superuser = make_url(postgres_server).set(database=name)
    with psycopg.connect(superuser.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'GRANT USAGE, CREATE ON SCHEMA public TO "{name}"')
    with closing(Store(superuser.set(username=name, password=None).render_as_string(hide_password=False))) as store:
        store.prepare()
        ids = {key: _add(store, key) for key in ("cafe", "csto")}
        with store.engine.connect() as conn:
            assert conn.execute(text("select count(*) from pg_extension where extname = 'unaccent'")).scalar() == 0
        assert found(store, "café") == [ids["cafe"]]
        assert found(store, "cafe") == []
        assert found(store, "одкб") == [ids["csto"]]

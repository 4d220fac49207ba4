"""Storage on both backends: atomic items, fingerprint uniqueness, queries, schema checks."""

from dataclasses import asdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, text

from ingest.config import Settings
from ingest.storage import migrate, session
from ingest.storage.store import Conflict, ItemQuery, SchemaError, Store, key_value
from ingest.storage.tables import HitRow, ItemRow, SourceRow, SourceState

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _item(n: int, source: str = "s", published: datetime | None = None, text_: str = "body") -> ItemRow:
    return ItemRow(source=source, url=f"https://example.com/{n}", title=f"Title {n}", published=published,
                   fetched_at=NOW, sort_time=published or NOW, text=text_,
                   blocks=[{"kind": "paragraph", "text": text_}])


def _hit(watchlist: str = "csto") -> HitRow:
    return HitRow(watchlist=watchlist, version="v1", term="CSTO", field="body", block=0, start=0, end=4,
                  text="CSTO", snippet="[[CSTO]]")


def add(store: Store, *args, **kwargs) -> int:
    """One item in its own write transaction, as a poll's lone new item goes in."""
    with store.writing() as w:
        return w.add(*args, **kwargs)


def test_prepare_creates_schema_at_head(store):
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    store.prepare()  # idempotent


def test_add_stores_item_fingerprints_and_hits_together(store):
    item_id = add(store, _item(1), [("url", "example.com/1"), ("guid", "s\x1fg1")], [_hit()])
    got = store.get(item_id)
    assert got.item.title == "Title 1"
    assert {(f.kind, f.value) for f in got.fingerprints} == {("url", "example.com/1"), ("guid", "s\x1fg1")}
    assert got.watchlists == ["csto"]
    assert store.known([("url", "example.com/1"), ("url", "other")]) == {("url", "example.com/1"): item_id}


def test_known_answers_only_the_pairs_asked_for(store):
    """The lookup searches kinds and values as two lists: a stored pair made of one of each is not an answer."""
    one = add(store, _item(1), [("url", "a"), ("guid", "b")], [])
    two = add(store, _item(2), [("guid", "a"), ("content", "c")], [])
    assert store.known([("url", "a"), ("content", "b"), ("guid", "c")]) == {("url", "a"): one}
    assert store.known([("guid", "a"), ("guid", "b")]) == {("guid", "a"): two, ("guid", "b"): one}


def test_known_searches_the_fingerprint_index_on_sqlite(tmp_path):
    """A scan per lookup would make every stored item cost more as the database grows."""
    s = Store(f"sqlite:///{tmp_path}/i.db")
    s.prepare()
    statements = []
    event.listen(s.engine, "before_cursor_execute", lambda conn, cur, sql, params, *_: statements.append((sql, params)))
    s.known([("url", "a"), ("guid", "b")])
    [(sql, params)] = [st for st in statements if "FROM fingerprint" in st[0]]
    with s.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
    s.close()
    assert "USING INDEX" in plan and "SCAN fingerprint" not in plan, plan


def test_colliding_fingerprint_rolls_back_the_whole_item(store):
    add(store, _item(1), [("url", "example.com/1")], [])
    with pytest.raises(Conflict):
        add(store, _item(2), [("content", "abc"), ("url", "example.com/1")], [_hit()])
    assert store.count_items() == 1
    assert store.known([("content", "abc")]) == {}
    with store.engine.connect() as conn:
        assert conn.execute(text("select count(*) from hit")).scalar() == 0


def test_long_fingerprint_values_are_hashed_but_still_found(store):
    long_url = "example.com/" + "x" * 2000
    item_id = add(store, _item(1), [("url", long_url)], [])
    assert key_value(long_url).startswith("sha256:")
    assert store.known([("url", long_url)]) == {("url", long_url): item_id}


def test_query_orders_newest_first_and_filters(store):
    old = add(store, _item(1, "a", NOW - timedelta(days=3), "the CSTO met"), [("url", "1")], [_hit()])
    new = add(store, _item(2, "b", NOW - timedelta(hours=1), "nothing here"), [("url", "2")], [])
    assert [s.item.id for s in store.query(ItemQuery())] == [new, old]
    assert [s.item.id for s in store.query(ItemQuery(watchlist="csto"))] == [old]
    assert [s.item.id for s in store.query(ItemQuery(sources=("b",)))] == [new]
    assert [s.item.id for s in store.query(ItemQuery(since=NOW - timedelta(days=1)))] == [new]
    assert [s.item.id for s in store.query(ItemQuery(until=NOW - timedelta(days=1)))] == [old]
    assert [s.item.id for s in store.query(ItemQuery(search="csto MET"))] == [old]
    assert [s.item.id for s in store.query(ItemQuery(limit=1, offset=1))] == [old]


def test_datetimes_come_back_timezone_aware_utc(store):
    item_id = add(store, _item(1, published=datetime(2022, 6, 10, 9, 30, tzinfo=timezone(timedelta(hours=4)))),
                  [("url", "1")], [])
    assert store.get(item_id).item.published == datetime(2022, 6, 10, 5, 30, tzinfo=timezone.utc)


def test_source_state_round_trip(store):
    store.save_source_state(SourceState(name="s", config_url="https://e/feed", url="https://e/feed", etag='"x"', next_poll=NOW))
    row = store.source_state("s")
    assert (row.etag, row.next_poll) == ('"x"', NOW)
    row.failures = 2
    store.save_source_state(row)
    assert store.source_state("s").failures == 2


def test_source_state_mirrors_the_source_row():
    """What a poll reads and saves has SourceRow's columns and defaults: a column added to one goes in the other."""
    row = SourceRow(name="s", config_url="u", url="u")
    assert asdict(SourceState(name="s", config_url="u", url="u")) == \
        {c: getattr(row, c) for c in SourceRow.__table__.columns.keys()}


def test_source_state_replaced_whole_and_scrubbed(store):
    """A source whose config URL changed starts over: every column of the new state is written, text scrubbed."""
    store.save_source_state(SourceState(name="s", config_url="https://e/old", url="https://e/moved", etag='"x"',
                                        failures=3, state="backoff", extracted=7, last_polled=NOW, next_poll=NOW))
    store.save_source_state(SourceState(name="t", config_url="https://e/t", url="https://e/t"))
    store.save_source_state(SourceState(name="s", config_url="https://e/new", url="https://e/new",
                                        last_error="bad\x00 byte"))
    row = store.source_state("s")
    assert (row.config_url, row.url, row.etag, row.failures, row.state, row.extracted) == \
        ("https://e/new", "https://e/new", None, 0, "ok", 0)
    assert (row.last_polled, row.next_poll, row.last_error) == (None, None, "bad byte")
    assert [r.name for r in store.source_states()] == ["s", "t"]
    assert store.source_state("missing") is None


def test_schema_behind_is_refused_with_a_message(db_url):
    s = Store(db_url)
    s.prepare()
    with s.engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = 'old'"))
    with pytest.raises(SchemaError, match="ingest db upgrade"):
        s.prepare()
    s.close()


def test_text_postgresql_refuses_is_cleaned_on_both_backends(store):
    row = _item(1, text_="before\x00after \ud800lone")
    row.title = "Title\x00"
    row.blocks = [{"kind": "paragraph", "text": "a\x00b"}]
    item_id = add(store, row, [("url", "nul\x00url")], [])
    assert store.known([("url", "nul\x00url")]) == {("url", "nul\x00url"): item_id}
    got = store.get(item_id).item
    assert (got.title, got.text, got.blocks[0]["text"]) == ("Title", "beforeafter ?lone", "ab")
    store.add_sightings([{"item_id": item_id, "source": "s\x00", "url": "u\x00", "by": "url", "seen_at": NOW}])
    assert [(g.source, g.url) for g in store.get(item_id).sightings] == [("s", "u")]


def test_rows_the_stores_sessions_write_are_scrubbed_and_no_others(store):
    """The scrubbing flush hook belongs to the store's own sessions, not to every SQLModel session in the process."""
    import sqlmodel

    store.saved.save(None, "mine", {"q": "a\x00b"}, NOW)  # an ORM row, through the store
    assert store.saved.searches(None)[0].params == {"q": "ab"}
    assert event.contains(session.Session, "before_flush", session._scrub_rows)
    assert not event.contains(sqlmodel.Session, "before_flush", session._scrub_rows)


def test_candidates_sharing_the_most_bands_come_first(store):
    """More items than the candidate limit share one band (boilerplate): the near-duplicate sharing 32 bands still
    counts."""
    limit = Settings.near_duplicate_candidates

    bands = [f"{b:02d}:k" for b in range(32)]
    for n in range(limit + 10):  # share only band 00
        item = _item(n)
        item.signature = f"sig{n}"
        add(store, item, [("url", f"example.com/{n}")], [], bands=[bands[0], f"01:other{n}"])
    twin = _item(999)
    twin.signature = "twin"
    twin_id = add(store, twin, [("url", "example.com/999")], [], bands=bands)
    with store.writing() as w:
        found, fewer = w.candidates(bands, limit), w.candidates(bands, 3)  # `[fetch] near_duplicate_candidates`
    assert len(found) == limit and len(fewer) == 3
    assert found[0][0] == twin_id and found[0][2] == "twin" and fewer[0][0] == twin_id


def test_scrub_cleans_nested_blocks_and_leaves_clean_or_lookalike_text_as_it_is():
    """The fast path (one repr of a list) must never let a NUL or a lone surrogate through, nor change clean text
    that merely looks like an escape."""
    blocks = [{"kind": "p", "text": "clean"}, {"kind": "p", "text": "nul\x00here"},
              {"kind": "quote", "text": "lone \udc80 surrogate", "credit": ["a\x00"]}]
    assert session.scrub(blocks) == [{"kind": "p", "text": "clean"}, {"kind": "p", "text": "nulhere"},
                                     {"kind": "quote", "text": "lone ? surrogate", "credit": ["a"]}]
    lookalike = [{"kind": "p", "text": r"a literal \x00 and \ud800 in prose, 日本語"}]
    assert session.scrub(lookalike) == lookalike
    clean = [{"kind": "p", "text": "nothing to remove"}]
    assert session.scrub(clean) is clean
    assert session.scrub({"body": b"\x00gzip", "title": "t\x00"}) == {"body": b"\x00gzip", "title": "t"}

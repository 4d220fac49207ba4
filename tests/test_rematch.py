"""Backfill: watchlists run again over stored items (historical hits, no alerts), and only when they changed."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import Session, select

from ingest.article import Article, Block
from ingest.backfill import rematch, rematch_changed
from ingest.cli import main
from ingest.storage.records import hit_row, item_row
from ingest.storage.store import Store
from ingest.storage.tables import AlertRow, HitRow
from ingest.watchlists import Watchlist, compile_watchlists
from tests.helpers.items import CSTO, T0, add_item


def wl(**rule) -> Watchlist:
    return Watchlist.from_config({"name": "csto", **rule}, "test")


def hits(store: Store) -> dict[int, list[tuple[str, str, bool]]]:
    """(term, version, historical) by item."""
    out: dict[int, list[tuple[str, str, bool]]] = {}
    with Session(store.engine) as s:
        for h in s.exec(select(HitRow).order_by(HitRow.item_id, HitRow.id)):
            out.setdefault(h.item_id, []).append((h.term, h.version, h.historical))
    return out


def test_changed_terms_find_old_items_as_historical_and_stale_hits_go(store):
    csto = add_item(store, "The CSTO met.", url="https://e.org/1")
    euro = add_item(store, "Eurovision results are in.", url="https://e.org/2")
    both = add_item(store, "CSTO at Eurovision.", url="https://e.org/3")
    plain = add_item(store, "Weather: rain.", url="https://e.org/4")
    (result,) = rematch(store, [CSTO])  # items with current hits are skipped; the others are matched again
    assert (result.checked, result.flagged) == (2, 0)
    assert hits(store)[csto] == [("CSTO", CSTO.version, False)]

    wider = wl(terms=["CSTO", "Eurovision"])
    (result,) = rematch(store, [wider], batch=2)  # batches smaller than the table
    assert (result.checked, result.flagged, result.dropped) == (4, 3, 0)
    found = hits(store)
    assert found[csto] == [("CSTO", wider.version, False)]  # flagged at ingestion: stays live
    assert found[euro] == [("Eurovision", wider.version, True)]  # found by the backfill
    assert {h[2] for h in found[both]} == {False} and plain not in found

    narrower = wl(terms=["Eurovision"])
    (result,) = rematch(store, [narrower])
    assert (result.checked, result.flagged, result.dropped) == (4, 2, 1)
    found = hits(store)
    assert csto not in found  # its CSTO hit came from an older definition
    assert all(v == narrower.version for item in found.values() for _, v, _ in item)
    with Session(store.engine) as s:  # only the two written at ingestion (csto, both); a rematch adds none
        assert sorted(a.item_id for a in s.exec(select(AlertRow))) == [csto, both]

    assert rematch(store, [narrower])[0].checked == 2  # only the items without a current hit


def test_daemon_start_reruns_only_changed_definitions(store):
    add_item(store, "Old CSTO news and Article 2.", url="https://e.org/1", watchlists=(), alerting=False)
    article = Watchlist.from_config({"name": "article-2", "terms": ["Article 2"]}, "test")
    first = rematch_changed(store, [CSTO, article])
    assert sorted(r.watchlist for r in first) == ["article-2", "csto"]  # never evaluated before
    assert all(r.flagged == 1 for r in first)
    assert rematch_changed(store, [CSTO, article]) == []  # unchanged: not re-run
    changed = wl(terms=["CSTO", "news"])
    assert [r.watchlist for r in rematch_changed(store, [changed, article])] == ["csto"]
    assert rematch_changed(store, [changed, article]) == []
    assert {v for _, v, _ in hits(store)[1] if v != article.version} == {changed.version}


def test_cli_rematch_and_watchlists(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///ingest.db"\n\n[[watchlists]]\nname = "csto"\n'
                      'terms = ["CSTO"]\nnot = ["Eurovision"]\n', encoding="utf-8")
    runner = CliRunner()

    def run(*args: str):  # noqa: ANN202
        return runner.invoke(main, ["--config", str(config), *args])

    listed = run("watchlists")
    assert listed.exit_code == 0
    assert listed.output == f'csto  version {CSTO_NOT.version}  any: "CSTO" (exact case); not: "Eurovision"\n'
    tested = run("watchlists", "test", "csto", "First paragraph.\n\nThe CSTO met in Yerevan.")
    assert tested.exit_code == 0
    assert tested.output.splitlines() == ["csto: 1 hit", "  paragraph 2, 'CSTO': The [[CSTO]] met in Yerevan."]
    text = tmp_path / "t.txt"
    text.write_text("CSTO at Eurovision", encoding="utf-8")
    assert run("watchlists", "test", "csto", "--file", str(text)).output == "csto: no match\n"
    unknown = run("watchlists", "test", "nato", "x")
    assert unknown.exit_code == 2 and "no watchlist named 'nato'" in unknown.output
    assert run("rematch", "--watchlist", "nato").exit_code == 2
    done = run("rematch")
    assert done.exit_code == 0 and "csto: 0 items re-evaluated, 0 flagged, 0 unflagged" in done.output


CSTO_NOT = wl(terms=["CSTO"], **{"not": ["Eurovision"]})


def test_a_revision_alerts_only_for_terms_new_since_the_rematch(store):
    item_id = add_item(store, "Old CSTO news.", url="https://e.org/1", watchlists=(), alerting=False)
    rematch(store, [CSTO])
    wider = wl(terms=["CSTO", "Eurovision"])

    def revise(text: str) -> None:
        article = Article(title="Title https://e.org/1", url="https://e.org/1", blocks=[Block("paragraph", text)])
        found = compile_watchlists([wider]).match(article)
        row = item_row(article, source="a", guid=None, url="https://e.org/1", final_url=None, origin="page",
                       fetched_at=T0)
        store.update(item_id, row, [("url", "https://e.org/1")], [hit_row(h) for h in found],
                     alerts=sorted({h.watchlist for h in found}))

    revise("Old CSTO news, corrected.")
    with Session(store.engine) as s:
        assert s.exec(select(AlertRow)).all() == []  # CSTO was found by the rematch: still historical
    revise("Old CSTO news, now with Eurovision.")
    with Session(store.engine) as s:
        assert [a.item_id for a in s.exec(select(AlertRow))] == [item_id]  # a term new in this revision
    assert {(t, h) for t, _, h in hits(store)[item_id]} == {("CSTO", True), ("Eurovision", False)}

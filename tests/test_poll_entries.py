"""poll/entries.py without subprocesses: the pre-fetch rules (`decide.before_fetch`) from data, screening
against a real SQLite store, and pages fetched from a loopback server."""

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text

from ingest.config import Source
from ingest.feeds import FeedEntry
from ingest.poll.decide import Fetch, Skip, before_fetch, entry_hash, entry_keys
from ingest.poll.entries import screen
from ingest.poll.result import PollResult
from tests.helpers.polling import polling
from tests.helpers.site import RSS, rss_of

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
WORDS = " ".join(f"word{i}" for i in range(80))


def _entry(guid="g1", url="https://example.org/a/1", title="Story", content=None) -> FeedEntry:
    return FeedEntry(guid=guid, url=url, title=title, published=None, updated=None, authors=(), summary=None,
                     content=content)


@dataclass(frozen=True)
class _Owner:
    source: str
    story_id: int = 1
    url: str = "https://example.org/a/1"
    canonical_url: str | None = None
    entry_hash: str | None = None


def _decide(entry, owner=None, known_kinds=("guid", "url"), source="s"):
    keys = entry_keys(source, entry)
    known = {k: 7 for k in keys if k[0] in known_kinds} if owner else {}
    return before_fetch(entry, keys, known, source=source, owners={7: owner} if owner else {})


def test_an_unknown_entry_is_fetched():
    assert _decide(_entry()) == Fetch(_entry(), "new")


def test_a_known_unchanged_entry_is_skipped_without_a_sighting():
    e = _entry()
    assert _decide(e, _Owner("s", entry_hash=entry_hash(e))) == Skip(7, "guid", sighting=False)


def test_a_known_entry_changed_in_the_feed_is_fetched_again():
    e = _entry(title="Story (corrected)")
    assert _decide(e, _Owner("s", entry_hash=entry_hash(_entry()))) == Fetch(e, "changed")


def test_a_reused_guid_on_an_unknown_link_is_dropped():
    e = _entry(url="https://example.org/a/2")
    intent = _decide(e, _Owner("s"), known_kinds=("guid",))
    assert intent == Fetch(_entry(guid=None, url="https://example.org/a/2"), "guid_reused")


def test_a_rotated_guid_is_noted_and_the_link_still_identifies_the_entry():
    e = _entry(guid="new-guid")
    intent = _decide(e, _Owner("s", entry_hash=entry_hash(e)), known_kinds=("url",))
    assert intent == Skip(7, "url", sighting=False, guid_rotated=True)


def test_another_sources_item_is_a_sighting():
    e = _entry(guid=None)
    assert _decide(e, _Owner("other"), known_kinds=("url",)) == Skip(7, "url", sighting=True)


def test_a_link_another_source_only_named_canonical_is_fetched():
    e = _entry(guid=None)
    copy = _Owner("other", url="https://copies.example.net/x", canonical_url="https://example.org/a/1")
    assert _decide(e, copy, known_kinds=("url",)) == Fetch(e, "claimed")


def _feed_entry(n: int, title: str = "Story") -> FeedEntry:
    return _entry(guid=f"g{n}", url=f"https://example.org/a/{n}", title=f"{title} {n}",
                  content=f"<p>{title} {n}: {WORDS}</p>")


def test_screen_skips_what_a_poll_stored_and_records_other_sources_sightings(tmp_path):
    with polling(tmp_path, f"sqlite:///{tmp_path / 'i.db'}") as (srv, store, pipeline):
        entries = [_feed_entry(1), _feed_entry(2)]
        ctx = pipeline.drafter.context(_src("s"))
        drafts = [pipeline.drafter.collect(ctx, e, pipeline.workers.draft(e, ctx)) for e in entries]
        result = PollResult("s")
        pipeline.committer.commit("s", drafts, result)
        assert result.new == 2
        again = screen([*entries, _feed_entry(3)], store, "s", (), NOW)
        assert (again.duplicates, [e.guid for e in again.fetch], again.sightings) == (2, ["g3"], [])
        changed = screen([_feed_entry(1, "Corrected")], store, "s", (), NOW)
        assert [e.title for e in changed.fetch] == ["Corrected 1"]
        elsewhere = screen([_entry(guid=None, url="https://example.org/a/2")], store, "other", (), NOW)
        assert elsewhere.duplicates == 1 and not elsewhere.fetch
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT source, item_id FROM sighting")).all() == \
                [("other", elsewhere.sightings[0]["item_id"])]


def _src(name: str) -> Source:
    return Source(name=name, url="https://example.org/feed")


def _page(title: str) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{WORDS}</p><p>{WORDS}</p></article></body></html>")


def test_drafter_fetches_pages_and_falls_back_to_the_feed(tmp_path):
    with polling(tmp_path, f"sqlite:///{tmp_path / 'i.db'}") as (srv, store, pipeline):
        srv.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
        srv.route("/a/1.html", _page("From the page"), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/a/2.pdf", b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
        srv.route("/private/3.html", _page("Secret"), headers={"Content-Type": "text/html"})
        entries = [_entry(guid=f"g{n}", url=srv.url(path), title=f"Feed title {n}", content=f"<p>{WORDS}</p>")
                   for n, path in ((1, "/a/1.html"), (2, "/a/2.pdf"), (3, "/private/3.html"))]
        drafter = pipeline.drafter
        page, pdf, private = drafter.draft_all(drafter.context(_src("s")), entries)
        assert (page.origin, page.article.title, page.error) == ("page", "From the page", None)
        assert page.page is not None and page.fingerprints is not None
        assert pdf.origin == "feed" and "not HTML (application/pdf)" in pdf.error
        assert private.origin == "feed" and "robots.txt disallows" in private.error
        assert srv.hits["/private/3.html"] == 0


def test_a_copy_of_another_sources_item_is_fetched_once_not_at_every_poll(tmp_path, db_url):
    """A syndicated copy (same text, its own link) is a duplicate with a sighting; the next polls, which see the
    same entry in its feed, must not fetch its page again (it used to be refetched at every poll)."""
    with polling(tmp_path, db_url) as (srv, store, pipeline):
        srv.route("/a/1.html", _page("The original"), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/copy/1.html", _page("The original"), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/a.xml", rss_of([("a1", srv.url("/a/1.html"), "The original")]), headers=RSS)
        for poll in range(3):
            # The copy's feed changes at every poll (a new build date): each poll reads its entries.
            srv.route("/b.xml", rss_of([("b1", srv.url("/copy/1.html"), "A copy")], build=str(poll)), headers=RSS)
            pipeline.poll(Source(name="a", url=srv.url("/a.xml")))
            copy = pipeline.poll(Source(name="b", url=srv.url("/b.xml")))
            assert (copy.new, copy.duplicates, copy.failed) == (0, 1, 0)
        assert srv.hits["/a/1.html"] == 1 and srv.hits["/copy/1.html"] == 1
        assert store.count_items() == 1
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT source, by FROM sighting")).all() == [("b", "content")]


def test_a_sighted_link_is_skipped_before_fetching():
    assert _decide(_entry(guid=None)) == Fetch(_entry(guid=None), "new")
    e = _entry(guid=None)
    assert before_fetch(e, entry_keys("s", e), {}, source="s", owners={}, sighted=True) == \
        Skip(None, "sighting", sighting=False)

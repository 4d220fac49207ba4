"""The decider is pure: keys plus what storage knows give the decision."""

from dataclasses import dataclass

from ingest.article import Article, Block
from ingest.feeds import FeedEntry
from ingest.fingerprint import fingerprints
from ingest.poll.decide import Duplicate, New, Revision, decide, entry_keys, item_keys


def _entry(guid=None, url=None) -> FeedEntry:
    return FeedEntry(guid=guid, url=url, title="t", published=None, updated=None, authors=(), summary=None,
                     content=None)


def test_entry_keys_scope_guid_to_source_and_normalize_url():
    a = entry_keys("feed-a", _entry("42", "https://www.Example.com/a/1.html?utm_source=rss#x"))
    b = entry_keys("feed-b", _entry("42", "http://example.com/a/1.html"))
    assert a[0] != b[0]  # same GUID, different feeds: different keys
    assert a[1] == b[1] and a[1][0] == "url"  # same article under two URL shapes


def test_entry_without_guid_or_url_has_no_keys():
    assert entry_keys("s", _entry()) == []


@dataclass(frozen=True)
class _Owner:
    source: str
    story_id: int
    url: str = "https://example.com/a"
    canonical_url: str | None = None


_MINE = {i: _Owner("s", i) for i in (1, 2, 3)}


def test_new_when_nothing_known():
    assert decide([("url", "x"), ("guid", "s\x1fg")], {}, source="s", owners={}) == New()


def test_duplicate_prefers_guid_then_url_then_content():
    keys = [("content", "c"), ("url", "u"), ("guid", "g")]
    assert decide(keys, {("content", "c"): 3, ("url", "u"): 2}, source="s", owners=_MINE) == \
        Duplicate(item_id=2, by="url", value="u")
    assert decide(keys, {("content", "c"): 3, ("guid", "g"): 1}, source="s", owners=_MINE) == \
        Duplicate(item_id=1, by="guid", value="g")
    assert decide(keys, {("content", "c"): 3}, source="s", owners=_MINE) == Duplicate(item_id=3, by="content", value="c")


def test_a_new_body_under_the_items_own_url_is_a_revision():
    keys = [("url", "u"), ("content", "new")]
    assert decide(keys, {("url", "u"): 1}, source="s", owners=_MINE) == Revision(item_id=1, by="url")


def test_another_sources_copy_never_revises_an_item_whatever_it_shares():
    """World's page names science's URL (og:url): a new body makes a new item of science's story."""
    science = {7: _Owner("science", 5)}
    keys = [("guid", "world\x1fw-9"), ("url", "https://example.com/world/copy"), ("url", "https://example.com/sci"),
            ("content", "copy-body")]
    known = {("url", "https://example.com/sci"): 7}
    assert decide(keys, known, source="world", owners=science) == New(story_id=5)
    # The same body: a duplicate (a sighting), still not a revision.
    known[("content", "copy-body")] = 7
    assert decide(keys, known, source="world", owners=science) == Duplicate(item_id=7, by="content", value="copy-body")
    # Without a body to compare (before the page is fetched), a URL match is a duplicate for now.
    assert decide(keys[:3], known, source="world", owners=science) == \
        Duplicate(item_id=7, by="url", value="https://example.com/sci")


def test_pruned_items_tombstone_is_a_duplicate_for_every_source():
    keys = [("url", "u"), ("content", "c")]
    assert decide(keys, {("url", "u"): None}, source="s", owners={}) == Duplicate(item_id=None, by="url", value="u")


def test_item_keys_cover_guid_urls_and_content():
    article = Article(title="T", url="https://example.com/a/1.html", canonical_url="https://example.com/a/1",
                      blocks=[Block("paragraph", "Some body text of the article.")])
    fps = fingerprints(article, source="s", guid="g", entry_url="https://example.com/a/1.html?ref=rss",
                       final_url=None)
    keys = item_keys(fps)
    kinds = [k for k, _ in keys]
    assert kinds.count("guid") == 1 and kinds.count("content") == 1 and "url" in kinds
    # The GUID key of the stored item equals the one computed from the feed entry before fetching.
    assert entry_keys("s", _entry("g"))[0] in keys


def test_a_url_is_claimed_only_when_it_is_the_items_canonical_and_not_its_own_link():
    from ingest.poll.decide import claimed_only

    copy = _Owner("world", 1, url="http://example.com/world/copy", canonical_url="https://www.example.com/sci")
    assert claimed_only(("url", "https://example.com/sci"), copy)
    assert not claimed_only(("url", "https://example.com/world/copy"), copy)
    assert not claimed_only(("url", "https://example.com/sci"), _Owner("science", 1, url="https://example.com/sci",
                                                                       canonical_url="https://example.com/sci"))

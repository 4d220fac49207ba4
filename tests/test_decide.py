"""The decider is pure: keys plus what storage knows give the decision."""

from ingest.article import Article, Block
from ingest.decide import Duplicate, New, decide, entry_keys, item_keys
from ingest.feeds import FeedEntry
from ingest.fingerprint import fingerprints


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


def test_new_when_nothing_known():
    assert decide([("url", "x"), ("guid", "s\x1fg")], {}) == New()


def test_duplicate_prefers_guid_then_url_then_content():
    keys = [("content", "c"), ("url", "u"), ("guid", "g")]
    assert decide(keys, {("content", "c"): 3, ("url", "u"): 2}) == Duplicate(item_id=2, by="url", value="u")
    assert decide(keys, {("content", "c"): 3, ("guid", "g"): 1}) == Duplicate(item_id=1, by="guid", value="g")
    assert decide(keys, {("content", "c"): 3}) == Duplicate(item_id=3, by="content", value="c")


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

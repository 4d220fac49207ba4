"""Every document of the shared feed corpus through parse_feed: a Feed or a FeedError, nothing else.

    /work/venv/bin/python -m tests.test_feed_corpus     # the summary only
    /work/venv/bin/pytest -s tests/test_feed_corpus.py  # the test, printing the same summary
"""

from __future__ import annotations

from tests.helpers.feed_corpus import manifest, summarize


def test_every_corpus_document_is_a_feed_or_a_feed_error(shared):
    root = shared / "corpus" / "feeds"
    rows = manifest(root)
    summary = summarize(root)  # any exception but FeedError fails here
    print("\n" + summary.report())
    assert summary.documents == len(rows) == 2404
    assert summary.seconds < 60
    assert summary.with_entries >= 400
    # What feedparser read cleanly as a feed we accept, except where we refuse entity declarations.
    clean = {r["path"] for r in rows if r["fp_bozo"] == "0" and r["fp_version"] not in ("", "(none)")}
    assert {p for p in clean & summary.rejected_paths if "entity" not in p} == set()
    # JSON Feed, which feedparser 6 cannot read, we can (lemon24's unknown.json declares version 1234).
    json_feeds = {r["path"] for r in rows if r["sniffed"] == "jsonfeed"}
    assert json_feeds & summary.rejected_paths == {"lemon24-reader/tests/data/unknown.json"}
    assert summary.formats["json10"] + summary.formats["json11"] == len(json_feeds) - 1


if __name__ == "__main__":
    print(summarize().report())

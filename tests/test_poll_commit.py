"""poll/commit.py without subprocesses: drafts decided and stored through one Writer on a real database
(both backends), outcomes counted into the PollResult; the pure rules it applies from data."""

from dataclasses import dataclass, replace

from ingest.config import Source
from ingest.feeds import FeedEntry
from ingest.poll.decide import Duplicate, New, Revision, reclaimed, records_entry_hash
from ingest.poll.result import PollResult
from tests.helpers.polling import polling

WORDS = " ".join(f"word{i}" for i in range(80))
OTHER = " ".join(f"other{i}" for i in range(80))


def _entry(n: int, body: str = WORDS, guid: str | None = "g", url: str | None = None) -> FeedEntry:
    return FeedEntry(guid=f"{guid}{n}" if guid else None, url=url or f"https://example.org/a/{n}", title=f"Story {n}",
                     published=None, updated=None, authors=(), summary=None, content=f"<p>{n} {body}</p>")


def _commit(pipeline, source: str, entries) -> PollResult:
    ctx = pipeline.drafter.context(Source(name=source, url="https://example.org/feed"))
    drafts = [pipeline.drafter.collect(ctx, e, pipeline.workers.draft(e, ctx)) for e in entries]
    result = PollResult(source)
    pipeline.committer.commit(source, drafts, result)
    return result


def _counts(r: PollResult) -> tuple[int, int, int, int]:
    return r.new, r.duplicates, r.updated, r.failed


def test_new_duplicate_revision_and_failure_are_counted(tmp_path, db_url):
    with polling(tmp_path, db_url, fetch="store_batch = 2") as (srv, store, pipeline):
        assert _counts(_commit(pipeline, "s", [_entry(1), _entry(2), _entry(3)])) == (3, 0, 0, 0)
        assert _counts(_commit(pipeline, "s", [_entry(1)])) == (0, 1, 0, 0)
        assert _counts(_commit(pipeline, "s", [_entry(2, body=OTHER)])) == (0, 0, 1, 0)  # same GUID, new body
        empty = FeedEntry(guid="x", url=None, title=None, published=None, updated=None, authors=(), summary=None,
                          content=None)
        failed = _commit(pipeline, "s", [empty])
        assert _counts(failed) == (0, 0, 0, 1) and "neither title nor content" in failed.entry_error
        assert store.count_items() == 3


def test_a_batch_with_a_duplicate_of_its_own_entry_stores_one_item(tmp_path, db_url):
    with polling(tmp_path, db_url) as (srv, store, pipeline):
        twice = [_entry(1), _entry(1, url="https://example.org/a/1?utm_source=x")]
        assert _counts(_commit(pipeline, "s", twice)) == (1, 1, 0, 0)


def test_another_sources_copy_of_the_body_is_a_duplicate_with_a_sighting(tmp_path):
    with polling(tmp_path, f"sqlite:///{tmp_path / 'i.db'}") as (srv, store, pipeline):
        _commit(pipeline, "s", [_entry(1)])
        copy = _entry(1, guid=None, url="https://copies.example.net/x")
        assert _counts(_commit(pipeline, "other", [copy])) == (0, 1, 0, 0)


def test_commit_logs_each_outcome_once(tmp_path, capsys):
    with polling(tmp_path, f"sqlite:///{tmp_path / 'i.db'}") as (srv, store, pipeline):
        _commit(pipeline, "s", [_entry(1)])
        _commit(pipeline, "s", [_entry(1)])
    err = capsys.readouterr().err
    assert err.count("item_stored") == 1 and err.count("item_duplicate") == 1


@dataclass(frozen=True)
class _Owner:
    source: str
    url: str
    canonical_url: str | None = None
    story_id: int | None = 1
    entry_hash: str | None = None


def test_reclaimed_moves_only_links_a_copy_named_canonical():
    own = ("url", "https://example.org/a/1")
    keys = [own, ("url", "https://example.org/a/1-final"), ("content", "c")]
    copy = _Owner("other", url="https://copies.example.net/x", canonical_url="https://example.org/a/1")
    known = {own: 5, ("content", "c"): 6}
    owners = {5: copy, 6: _Owner("other", url="https://example.org/a/9")}
    assert reclaimed(keys, known, owners, ["https://example.org/a/1", None]) == [own]
    assert reclaimed(keys, known, {5: replace(copy, canonical_url=None), 6: owners[6]},
                     ["https://example.org/a/1"]) == []  # the copy's own link: it stays


def test_records_entry_hash_for_the_same_entry_only():
    assert records_entry_hash(Duplicate(3, "guid", "g")) and records_entry_hash(Duplicate(3, "url", "u"))
    assert not records_entry_hash(Duplicate(3, "content", "c"))
    assert not records_entry_hash(Duplicate(None, "guid", "g"))  # pruned: a tombstone
    assert not records_entry_hash(New()) and not records_entry_hash(Revision(3, "guid"))

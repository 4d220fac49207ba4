"""poll/source.py and jobs.py without subprocesses: the source's state, host blocks, the schedule and health,
on a real SQLite store; the pure rules from data."""

from datetime import datetime, timedelta, timezone

import pytest

from ingest import jobs
from ingest.article import Article, Block
from ingest.config import Source
from ingest.feeds import FeedEntry, FeedError
from ingest.fetch import FetchError
from ingest.poll.draft import Draft
from ingest.poll.source import Health, SourceStates, failure_outcome, host_of, kept_state
from ingest.schedule import Outcome
from ingest.storage.store import Store
from ingest.storage.tables import SourceState

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
SOURCE = Source(name="news", url="https://feeds.example.org/rss", every=600)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'ingest.db'}")
    s.prepare()
    yield s
    s.close()


def _state(**kw) -> SourceState:
    return SourceState(**{"name": "news", "config_url": SOURCE.url, "url": SOURCE.url, **kw})


def test_kept_state_is_dropped_when_the_config_changed_the_url():
    moved = _state(url="https://new.example.org/rss", next_poll=NOW)
    assert kept_state(moved, SOURCE) is moved  # a followed redirect keeps the state
    assert kept_state(SourceState(name="news", config_url="https://old.example.org/rss", url="x"), SOURCE) is None
    assert kept_state(None, SOURCE) is None


def test_load_starts_over_after_a_config_url_change(store):
    store.save_source_state(SourceState(name="news", config_url="https://old.example.org/rss",
                                        url="https://old.example.org/rss", etag='"e"', failures=3, state="backoff"))
    state = SourceStates(store).load(SOURCE)
    assert (state.url, state.etag, state.failures, state.state) == (SOURCE.url, None, 0, "ok")
    store.save_source_state(_state(etag='"kept"'))
    assert SourceStates(store).load(SOURCE).etag == '"kept"'


@pytest.mark.parametrize("exc, kind", [
    (FeedError("not a feed"), "invalid"),
    (FetchError("http", SOURCE.url, "429", status=429, retry_after=120), "rate_limited"),
    (FetchError("http", SOURCE.url, "429", status=429), "transient"),
    (FetchError("http", SOURCE.url, "gone", status=410), "gone"),
    (FetchError("http", SOURCE.url, "missing", status=404), "not_found"),
    (FetchError("timeout", SOURCE.url, "slow"), "transient"),
    (FetchError("http", SOURCE.url, "oops", status=502), "transient"),
    (FetchError("private_address", SOURCE.url, "10.0.0.1"), "invalid"),
])
def test_failure_outcome(exc, kind):
    assert failure_outcome(exc).kind == kind


def test_rate_limit_blocks_the_host_for_every_source_and_survives_a_restart(store):
    states = SourceStates(store)
    state = states.load(SOURCE)
    next_poll = states.reschedule(state, SOURCE, Outcome("rate_limited", error="429", retry_after=3600), NOW)
    assert next_poll >= NOW + timedelta(seconds=3600)
    assert states.host_blocked_until("https://feeds.example.org/other", NOW) == next_poll
    # Another worker (a fresh SourceStates) reads the block from the database.
    assert SourceStates(store).host_blocked_until(SOURCE.url, NOW) == next_poll
    saved = store.source_state("news")
    assert (saved.last_error, saved.next_poll, saved.failures) == ("429", next_poll, state.failures)


def test_wait_for_host_moves_only_the_next_poll(store):
    state = _state(failures=2, state="backoff")
    until = NOW + timedelta(hours=1)
    assert SourceStates(store).wait_for_host(state, until) == until
    saved = store.source_state("news")
    assert (saved.next_poll, saved.failures, saved.state) == (until, 2, "backoff")


def test_success_after_failures_resets_and_saves_the_plan(store):
    states = SourceStates(store)
    state = _state(failures=3, state="backoff", last_error="timeout")
    next_poll = states.reschedule(state, SOURCE, Outcome("ok"), NOW)
    saved = store.source_state("news")
    assert (saved.state, saved.failures, saved.last_error, saved.last_success) == ("ok", 0, None, NOW)
    assert saved.next_poll == next_poll and next_poll > NOW


def test_permanent_redirect_moves_the_source_and_forgets_validators(store):
    state = _state(etag='"old"')
    new = "https://feeds.example.org/new-rss"
    for _ in range(3):  # schedule.plan follows a move once it is seen repeatedly
        SourceStates(store).reschedule(state, SOURCE, Outcome("ok", moved_to=new), NOW)
    saved = store.source_state("news")
    assert saved.url == new and saved.etag is None and saved.config_url == SOURCE.url
    assert jobs.poll_url(SOURCE, saved) == new


def _draft(article: Article | None, origin="page", error=None, empty=False) -> Draft:
    entry = FeedEntry(guid="g", url="https://example.org/a", title="t", published=None, updated=None, authors=(),
                      summary=None, content=None)
    return Draft(entry, article, origin, None, error=error, empty_page=empty)


def test_health_counts_and_adds_every_field_to_the_state():
    h = Health()
    h.count(_draft(Article(title="", blocks=(Block("paragraph", "x"),))))
    h.count(_draft(Article(title="T", published=NOW), origin="feed", error="page failed", empty=True))
    state = _state(extracted=10, empty_bodies=1, missing_dates=2, missing_titles=3, feed_fallbacks=4)
    h.add_to(state)
    assert (state.extracted, state.empty_bodies, state.missing_dates, state.missing_titles,
            state.feed_fallbacks) == (12, 2, 3, 4, 5)


def test_degraded_extraction_needs_a_sudden_rise_over_three_pages():
    empty = Health(extracted=4, empty_bodies=3)
    assert empty.degraded(_state(extracted=100, empty_bodies=5)) == (0.75, 0.05)
    assert empty.degraded(_state(extracted=100, empty_bodies=60)) is None  # usual for this source
    assert Health(extracted=2, empty_bodies=2).degraded(_state()) is None  # too few to tell


def test_host_of():
    assert host_of("https://User:pw@Feeds.Example.org:8443/x") == "feeds.example.org"


def test_jobs_due_and_first_poll_apply_the_config_url_rule():
    later, earlier = NOW + timedelta(minutes=5), NOW - timedelta(minutes=5)
    stale = SourceState(name="news", config_url="https://old.example.org/rss", url="x", state="gone", next_poll=later)
    assert jobs.is_due(SOURCE, None, NOW) and jobs.is_due(SOURCE, stale, NOW)
    assert jobs.first_poll(SOURCE, stale, NOW) == NOW and jobs.planned(SOURCE, stale) is None
    assert jobs.poll_url(SOURCE, stale) == SOURCE.url
    assert not jobs.is_due(SOURCE, _state(next_poll=later), NOW)
    assert jobs.is_due(SOURCE, _state(next_poll=NOW + timedelta(seconds=4)), NOW, tick=10)  # nearest tick
    assert jobs.first_poll(SOURCE, _state(next_poll=later), NOW) == later
    assert jobs.first_poll(SOURCE, _state(next_poll=earlier), NOW) == NOW
    assert jobs.planned(SOURCE, _state(next_poll=earlier)) == earlier
    gone = _state(state="gone")
    assert not jobs.is_due(SOURCE, gone, NOW) and jobs.first_poll(SOURCE, gone, NOW) is None

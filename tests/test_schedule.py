"""The scheduler's plan is pure: outcomes in, next poll and state out."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from ingest.schedule import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    MOVED_AFTER,
    NETWORK_WINDOW,
    Outcome,
    auto_interval,
    cache_hint,
    network_down,
    plan,
)

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)
EVERY = 900.0


def _plan(outcome, failures=0, state="ok", url="https://e/feed", moved_to=None, moved_count=0, every=EVERY):
    return plan(state=state, failures=failures, url=url, moved_to=moved_to, moved_count=moved_count,
                outcome=outcome, every=every, now=NOW, rng=random.Random(1))


def _delay(p) -> float:
    return (p.next_poll - NOW).total_seconds()


def test_success_keeps_interval_with_jitter():
    p = _plan(Outcome("ok"))
    assert p.state == "ok" and p.failures == 0
    assert 0.9 * EVERY <= _delay(p) <= 1.1 * EVERY


def test_success_resets_backoff():
    p = _plan(Outcome("not_modified"), failures=5, state="backoff")
    assert (p.state, p.failures) == ("ok", 0)


def test_transient_failures_back_off_exponentially_and_cap():
    delays = []
    failures = 0
    for _ in range(12):
        p = _plan(Outcome("transient", error="timeout"), failures=failures, state="backoff" if failures else "ok")
        failures = p.failures
        delays.append(_delay(p))
    assert p.state == "backoff" and failures == 12
    assert delays[1] > delays[0] * 1.5 and delays[2] > delays[1] * 1.5
    assert max(delays) <= MAX_BACKOFF * 1.1 and delays[-1] >= MAX_BACKOFF * 0.9


def test_not_found_backs_off_but_is_never_disabled():
    p = _plan(Outcome("not_found"), failures=30, state="backoff")
    assert p.state == "backoff" and p.next_poll is not None


def test_gone_stops_polling():
    p = _plan(Outcome("gone", error="410"))
    assert p.state == "gone" and p.next_poll is None


def test_retry_after_delays_the_host_without_counting_a_failure():
    p = _plan(Outcome("rate_limited", retry_after=7200))
    assert p.failures == 0 and p.state == "ok"
    assert _delay(p) == 7200 and p.host_blocked_until == NOW + timedelta(seconds=7200)
    capped = _plan(Outcome("rate_limited", retry_after=10 * MAX_RETRY_AFTER))
    assert _delay(capped) == MAX_RETRY_AFTER


def test_cache_hints_lengthen_but_never_shorten_the_interval():
    assert _delay(_plan(Outcome("ok", hint=3600))) >= 3600 * 0.9
    assert _delay(_plan(Outcome("ok", hint=10))) >= EVERY * 0.9


def test_repeated_permanent_redirect_moves_the_source():
    p = _plan(Outcome("ok", moved_to="https://new/feed"))
    for _ in range(MOVED_AFTER - 1):
        assert p.url == "https://e/feed"
        p = _plan(Outcome("ok", moved_to="https://new/feed"), url=p.url, moved_to=p.moved_to, moved_count=p.moved_count)
    assert p.url == "https://new/feed" and p.moved_count == 0


def test_redirect_streak_resets_when_not_seen():
    p = _plan(Outcome("ok", moved_to="https://new/feed"))
    p = _plan(Outcome("ok"), moved_to=p.moved_to, moved_count=p.moved_count)
    assert (p.moved_to, p.moved_count) == (None, 0)


@pytest.mark.parametrize("headers, ttl, expected", [
    ({"Cache-Control": "public, max-age=600"}, None, 600),
    ({"cache-control": "no-cache"}, None, None),
    ({"Expires": "Mon, 01 Jan 2024 01:00:00 GMT"}, None, 3600),
    ({"Expires": "garbage"}, None, None),
    ({}, 60, 3600),
    ({"Cache-Control": "max-age=60"}, 120, 7200),
])
def test_cache_hint(headers, ttl, expected):
    assert cache_hint(headers, ttl, NOW) == expected


def test_auto_interval_is_bounded():
    hourly = [NOW + timedelta(hours=i) for i in range(10)]
    assert auto_interval(hourly) == 1800
    assert auto_interval([NOW + timedelta(seconds=i) for i in range(10)]) == 300
    assert auto_interval([NOW + timedelta(days=7 * i) for i in range(4)]) == 86400
    assert 300 <= auto_interval([]) <= 86400


def _polls(*kinds, age=60.0):
    return [None if k == "never" else (NOW - timedelta(seconds=age), k) for k in kinds]


@pytest.mark.parametrize("kinds, down", [
    (("connection", "timeout", "connection"), True),  # three hosts failing together: it is us
    (("timeout", "timeout", "timeout", "timeout"), True),
    (("connection",), True),
    (("connection", "connection"), True),
    (("timeout",), False),  # one slow server is not a network outage
    (("connection", "timeout"), False),
    (("connection", "connection", None), False),  # one source answered
    (("connection", "connection", "http"), False),  # an HTTP error means the network works
    (("connection", "connection", "never"), False),  # unknown until every source has been tried
    ((), False),
])
def test_network_down_needs_every_source_failing_below_http(kinds, down):
    assert network_down(_polls(*kinds), NOW) is down


def test_network_down_ignores_stale_failures():
    assert network_down(_polls("connection", "connection", "connection", age=2 * NETWORK_WINDOW), NOW) is False


def test_a_poll_started_late_plans_the_next_from_when_it_was_due():
    """A scheduler's tick starts polls a little late; counting from the start would add that to every interval."""
    planned = NOW - timedelta(seconds=8)
    p = plan(state="ok", failures=0, url="u", moved_to=None, moved_count=0, outcome=Outcome("ok"), every=EVERY,
             now=NOW, planned=planned, rng=random.Random(1))
    assert 0.9 * EVERY <= (p.next_poll - planned).total_seconds() <= 1.1 * EVERY
    assert p.next_poll == _plan(Outcome("ok")).next_poll - timedelta(seconds=8)  # same jitter, 8 s earlier
    # More than an interval late (a stopped daemon, a manual fetch): the rhythm starts over from now.
    late = plan(state="ok", failures=0, url="u", moved_to=None, moved_count=0, outcome=Outcome("ok"), every=EVERY,
                now=NOW, planned=NOW - timedelta(seconds=EVERY + 1), rng=random.Random(1))
    assert _delay(late) >= 0.9 * EVERY

"""A published date the source cannot mean is kept as what it said, but the fetch time sorts, filters and ages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ingest.config import Source
from ingest.storage.store import ItemQuery
from tests.helpers.items import stored_guids
from tests.helpers.paths import FEEDS


def test_implausible_dates_are_provenance_not_sort_time_and_retention_keeps_fresh_items(poller):  # noqa: F811
    srv, store, pipeline = poller
    doc = json.loads((FEEDS / "azatutyun.json").read_text(encoding="utf-8"))
    doc["items"][0]["date_published"] = "9999-12-30T00:00:00Z"  # far future
    doc["items"][1]["date_published"] = "1970-01-01T00:00:00Z"  # a CMS's zero date
    srv.route("/feed.json", json.dumps(doc), headers={"Content-Type": "application/feed+json"})
    srv.route("/feed.rss", '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Old'
              '</title><link>http://example.com/zero</link><guid isPermaLink="false">zero</guid><description>A body.</description>'
              '<pubDate>Mon, 01 Jan 0001 +0500</pubDate></item></channel></rss>',
              headers={"Content-Type": "application/rss+xml"})
    before = datetime.now(timezone.utc)
    assert pipeline.poll(Source(name="json", url=srv.url("/feed.json"))).new == 4
    assert pipeline.poll(Source(name="rss", url=srv.url("/feed.rss"))).new == 1
    items = {s.item.guid: s.item for s in store.query(ItemQuery(limit=10))}
    for guid, said in (("31892678", "9999-12-30T00:00:00+00:00"), ("31890001", "1970-01-01T00:00:00+00:00")):
        item = items[guid]
        assert item.published is None and item.meta["implausible_published"] == said
        assert item.sort_time == item.fetched_at >= before
    assert items["zero"].published is None  # not year 0500
    assert items["31889002"].published == datetime(2022, 6, 8, 11, tzinfo=timezone.utc)
    newest = store.query(ItemQuery(limit=10))
    assert newest[0].item.sort_time <= datetime.now(timezone.utc)  # no item dated 9999 on top forever
    since = {s.item.guid for s in store.query(ItemQuery(since=before, limit=10))}
    assert {"31892678", "31890001", "zero"} <= since and "31889002" not in since
    # Retention by 180 days, right after the fetch: an item fetched inside the window is never deleted.
    assert store.prune(datetime.now(timezone.utc) - timedelta(days=180), keep_flagged=False) == 0
    assert len(stored_guids(store, "json")) == 4

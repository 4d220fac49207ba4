"""A feed that parses slowly costs a worker process some time, never the poll (nor the daemon)."""

from __future__ import annotations

import time

from ingest import config as config_mod
from ingest.fetch import Fetcher
from ingest.poll import pipeline as pipeline_mod
from ingest.poll.pipeline import Pipeline
from ingest.poll.workers import WorkerPool
from ingest.storage.store import Store
from tests.helpers.servers import LocalServer

# Tag soup inside an RSS item: feedparser's lenient path takes seconds per hundred kilobytes.
SLOW_FEED = ("<rss version='2.0'><channel><title>t</title><item><title>x</title><description>"
             + "<b><i><u>" * 60_000 + "</description></item></channel></rss>").encode()


def test_slow_parse_is_abandoned_and_the_source_marked_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline_mod, "PARSE_SECONDS", 1.0)
    with LocalServer() as srv:
        srv.route("/slow.xml", SLOW_FEED, headers={"Content-Type": "application/rss+xml"})
        path = tmp_path / "config.toml"
        path.write_text(f'[fetch]\nallow_private_networks = true\n\n[[sources]]\nname = "slow"\n'
                        f'url = "{srv.url("/slow.xml")}"\n')
        cfg = config_mod.load(path)
        store = Store(cfg.database_url)
        store.prepare()
        with Fetcher(cfg.settings.fetch) as fetcher, WorkerPool(processes=2) as pool:
            started = time.monotonic()
            result = Pipeline(cfg, store, fetcher, pool).poll(cfg.sources[0])
            took = time.monotonic() - started
            pool._discard()  # do not wait for the abandoned parse when the pool closes
    assert "parsing took longer than 1 s" in result.error
    assert took < 15  # the worker's spawn (~2 s on a busy machine) plus the bound, not the whole parse
    assert store.source_state("slow").failures == 1

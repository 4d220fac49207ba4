"""A loopback server, a fresh store and a pipeline over one config: what a test polls feeds through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ingest import config
from ingest.fetch import Fetcher
from ingest.poll.pipeline import Pipeline
from ingest.storage.store import Store
from tests.helpers.servers import LocalServer


@contextmanager
def polling(tmp_path, db_url: str, fetch: str = "", watchlists: str = "") -> Iterator[tuple]:
    """(loopback server, store, pipeline) for a config of `[fetch]` lines and watchlist tables."""
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n[fetch]\nallow_private_networks = true\ntimeout = 10\n'
                    f"{fetch}\n{watchlists}")
    cfg = config.load(path)
    store = Store(cfg.database_url)
    store.prepare()
    try:
        with LocalServer() as srv, Fetcher(cfg.settings.fetch) as fetcher:
            yield srv, store, Pipeline(cfg, store, fetcher)
    finally:
        store.close()

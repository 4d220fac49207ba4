"""robots.txt for article pages, one fetch per host per day, parsed by Protego (Scrapy's parser).

Only pages are checked: a feed URL is something the user asked for by name. A missing
robots.txt (4xx) allows everything, per RFC 9309. An unreachable one (timeout, 5xx)
also allows, unlike RFC 9309's "assume disallowed": the page would otherwise be
stored from the feed's text for good, which costs the analyst more than one polite
request costs the site. Either way the answer is cached, an unreachable one briefly.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from protego import Protego

from ingest.fetch import Fetcher, FetchError
from ingest.logs import log

TTL = 24 * 3600.0
TTL_UNREACHABLE = 3600.0


class Robots:
    def __init__(self, fetcher: Fetcher, user_agent: str):
        self.fetcher = fetcher
        self.agent = user_agent.split("/")[0]  # robots.txt groups name the product token, not the version
        self._cache: dict[str, tuple[float, Protego | None]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:  # one fetch per host even when many page threads ask at once
            expires, rules = self._cache.get(origin, (0.0, None))
            if expires < time.monotonic():
                rules, ttl = self._load(origin)
                self._cache[origin] = (time.monotonic() + ttl, rules)
        return rules is None or rules.can_fetch(url, self.agent)

    def _load(self, origin: str) -> tuple[Protego | None, float]:
        try:
            response = self.fetcher.get(f"{origin}/robots.txt", accept="text/plain")
        except FetchError as exc:
            if exc.kind == "cancelled":
                raise
            missing = exc.kind == "http" and exc.status is not None and 400 <= exc.status < 500
            if not missing:
                log.info("robots_unreachable", origin=origin, error=str(exc))
            return None, TTL if missing else TTL_UNREACHABLE
        return Protego.parse(response.content.decode("utf-8", "replace")), TTL

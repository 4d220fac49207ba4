"""`parse_sitemap` on a gzip sitemap of 10^6 URLs, read to its 50,000-element bound: with news dates and lastmod on
each URL, and with locations only.

    .venv/bin/python bench/sitemap.py
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

from ingest.sources.sitemaps import parse_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def news_url(batch: int, i: int) -> str:
    day = f"2024-05-{1 + i % 28:02d}"
    return (f"<url><loc>/{batch}/{i}</loc><lastmod>{day}T10:00:00+04:00</lastmod><news:news><news:publication>"
            f"<news:language>hy</news:language></news:publication><news:publication_date>{day}T{i % 24:02d}:00:00Z"
            f"</news:publication_date><news:title>T {i}</news:title></news:news></url>")


def plain_url(batch: int, i: int) -> str:
    return f"<url><loc>/{batch}/{i}</loc></url>"


def gzip_sitemap(url: Callable[[int, int], str], batches: int = 100, per_batch: int = 10_000) -> bytes:
    """10^6 URLs by default, compressed as they are made (the document itself is never held whole)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    parts = [packer.compress(f"<urlset {NS}>".encode())]
    parts += [packer.compress("".join(url(b, i) for i in range(per_batch)).encode()) for b in range(batches)]
    return b"".join(parts) + packer.compress(b"</urlset>") + packer.flush()


def main() -> None:
    for name, data in (("news+lastmod", gzip_sitemap(news_url)), ("loc only", gzip_sitemap(plain_url))):
        runs = []
        for _ in range(3):
            began = time.perf_counter()
            feed = parse_sitemap(data, "http://127.0.0.1/s.xml.gz", max_entries=500)
            runs.append(time.perf_counter() - began)
        print(f"{name}: {len(data)} gzip bytes, {len(feed.entries)} entries kept, "
              f"min {min(runs):.2f} s of {[round(x, 2) for x in runs]}")


if __name__ == "__main__":
    main()

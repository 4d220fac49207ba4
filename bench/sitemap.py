"""parse_sitemap on a gzip sitemap of 10^6 URLs (news dates and lastmod on each; and loc only), read to its 50,000 bound.

    .venv/bin/python bench/sitemap.py
"""
import sys, time, zlib
from ingest.sources.sitemaps import parse_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
def url(b, i):
    return (f"<url><loc>/{b}/{i}</loc><lastmod>2024-05-{1 + i % 28:02d}T10:00:00+04:00</lastmod><news:news><news:publication>"
            f"<news:language>hy</news:language></news:publication><news:publication_date>2024-05-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
            f"</news:publication_date><news:title>T {i}</news:title></news:news></url>")
packer = zlib.compressobj(1, zlib.DEFLATED, 31)
parts = [packer.compress(f"<urlset {NS}>".encode())]
for b in range(100):
    parts.append(packer.compress("".join(url(b, i) for i in range(10_000)).encode()))
body = b"".join(parts) + packer.compress(b"</urlset>") + packer.flush()
plain = zlib.compressobj(1, zlib.DEFLATED, 31)
pp = [plain.compress(b"<urlset>")] + [plain.compress("".join(f"<url><loc>/{b}/{i}</loc></url>" for i in range(10_000)).encode()) for b in range(100)]
plain_body = b"".join(pp) + plain.compress(b"</urlset>") + plain.flush()
for name, data in (("news+lastmod", body), ("loc only", plain_body)):
    best = []
    for _ in range(3):
        t = time.perf_counter(); feed = parse_sitemap(data, "http://127.0.0.1/s.xml.gz", max_entries=500); best.append(time.perf_counter() - t)
    print(f"{name}: {len(data)} gzip bytes, {len(feed.entries)} entries kept, min {min(best):.2f} s of {[round(x, 2) for x in best]}")

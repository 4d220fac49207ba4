"""Near-duplicate candidate lookup in SQLite: 10,000 stored articles against 1,000,000.

Usage: /work/venv/bin/python bench/near_duplicates.py [--small 10000] [--large 1000000] [--lookups 1000]

For each size, a fresh database in a temp dir holds every article's band keys in a
``(band TEXT, item_id INTEGER)`` table indexed on band, as the pipeline will. It is
bulk-loaded and then indexed (a million indexed inserts take minutes longer); the cost of
adding one more article with the index present is timed separately. Then the candidate
query for a new article is timed: half the lookups are reprints of a stored article (a
third of the signature changed), half are unrelated. The target is that the p50 at the
large size stays within 2x of the small size: each lookup is BANDS index probes whatever
the table size, only the B-tree gets one level deeper and stops fitting in CPU caches.
Signatures are random (hashing a real text costs ~0.7 ms, so a million would take ten
minutes); band keys depend only on signature values, so random values give realistic keys.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import struct
import tempfile
import time
from pathlib import Path

from ingest.fingerprint import BANDS, SIGNATURE_SIZE, Signature, band_keys

BATCH = 10_000


def random_signature(rng: random.Random) -> Signature:
    return Signature(struct.unpack(f">{SIGNATURE_SIZE}I", rng.randbytes(4 * SIGNATURE_SIZE)))


def reprint_of(sig: Signature, rng: random.Random) -> Signature:
    """The same article with a third of the signature positions changed (Jaccard ~0.67)."""
    values = list(sig.values)
    for i in rng.sample(range(SIGNATURE_SIZE), SIGNATURE_SIZE // 3):
        values[i] = rng.getrandbits(32)
    return Signature(tuple(values))


def band_rows(first_id: int, count: int, rng: random.Random, kept: list[Signature]) -> list[tuple[str, int]]:
    """Band keys of ``count`` new articles; every 100th signature is kept to look up later."""
    rows = []
    for item_id in range(first_id, first_id + count):
        sig = random_signature(rng)
        if item_id % 100 == 0:
            kept.append(sig)
        rows.extend((key, item_id) for key in band_keys(sig))
    return rows


def build(path: Path, size: int, rng: random.Random) -> tuple[sqlite3.Connection, list[Signature]]:
    """Bulk-load ``size`` articles, then index (much faster than a million indexed inserts)."""
    db = sqlite3.connect(path)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-1000000; PRAGMA mmap_size=8000000000;"
        "CREATE TABLE bands (band TEXT NOT NULL, item_id INTEGER NOT NULL);"
    )
    kept: list[Signature] = []
    for first_id in range(0, size, BATCH):
        rows = band_rows(first_id, min(BATCH, size - first_id), rng, kept)
        db.executemany("INSERT INTO bands (band, item_id) VALUES (?, ?)", rows)
    db.execute("CREATE INDEX bands_band ON bands (band)")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # so the file size below is the whole database
    return db, kept


def time_inserts(db: sqlite3.Connection, first_id: int, rng: random.Random) -> float:
    """Milliseconds per article to add more articles' band keys, one commit each, index present."""
    count = 1000
    start = time.perf_counter()
    for item_id in range(first_id, first_id + count):
        db.executemany("INSERT INTO bands (band, item_id) VALUES (?, ?)", band_rows(item_id, 1, rng, []))
        db.commit()
    return (time.perf_counter() - start) * 1000 / count


CANDIDATES = f"SELECT DISTINCT item_id FROM bands WHERE band IN ({','.join('?' * BANDS)})"


def time_lookups(db: sqlite3.Connection, queries: list[Signature]) -> tuple[list[float], int]:
    """Milliseconds per candidate query, and how many queries found at least one candidate."""
    timings, hits = [], 0
    for sig in queries:
        keys = band_keys(sig)
        start = time.perf_counter()
        found = db.execute(CANDIDATES, keys).fetchall()
        timings.append((time.perf_counter() - start) * 1000)
        hits += bool(found)
    return timings, hits


def measure(db: sqlite3.Connection, kept: list[Signature], lookups: int, rng: random.Random) -> tuple[float, float]:
    queries = [reprint_of(rng.choice(kept), rng) if i % 2 else random_signature(rng) for i in range(lookups)]
    plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + CANDIDATES, band_keys(queries[0])))
    assert "USING INDEX bands_band" in plan or "USING COVERING INDEX bands_band" in plan, plan
    time_lookups(db, queries[:100])  # warm the page cache
    timings, hits = time_lookups(db, queries)
    p50, p95 = statistics.median(timings), statistics.quantiles(timings, n=20)[18]
    print(f"  lookups: p50 {p50:.3f} ms, p95 {p95:.3f} ms; {hits}/{lookups} found candidates (expected ~{lookups // 2})")
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(11)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (args.small, args.large):
            path = Path(tmp) / f"bands-{size}.db"
            start = time.perf_counter()
            db, kept = build(path, size, rng)
            print(f"{size:,} articles ({size * BANDS:,} band rows, {path.stat().st_size / 1e6:,.0f} MB): "
                  f"built in {time.perf_counter() - start:.1f} s")
            results[size] = measure(db, kept, args.lookups, rng)
            print(f"  adding an article with the index present: {time_inserts(db, size, rng):.3f} ms")
            db.close()
            path.unlink()
    (small_p50, small_p95), (large_p50, large_p95) = results[args.small], results[args.large]
    print(f"ratio {args.large:,} / {args.small:,}: p50 {large_p50 / small_p50:.2f}x, p95 {large_p95 / small_p95:.2f}x "
          f"(target: p50 within 2x)")


if __name__ == "__main__":
    main()

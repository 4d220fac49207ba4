"""What a user would write instead of ingest, run by bench/pipeline.py on the same farm (issue 22).

Usage: python bench/peer_pipeline.py FEEDS.json DB [--threads 8] [--processes N]

The obvious stack, each piece the usual library for its job: httpx for feeds and pages,
feedparser for feeds, trafilatura (its default settings) for article text, datasketch's MinHash
LSH for near-duplicates, SQLite with an FTS5 table for search, and one Python `re` alternation of
every watchlist term for flagging.  It gets the same pools as ingest: `threads` fetching pages and
a process pool of `processes` (default one per core) for the CPU work (extraction, MinHash,
matching); the LSH index and the database live in the main process.  Feeds are fetched and parsed
by the same threads.  It prints one JSON line: items stored, near-duplicates found, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait

import feedparser
import httpx
import trafilatura
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
THRESHOLD = 0.5
_PATTERN: re.Pattern | None = None


def _init(terms: list[str]) -> None:
    global _PATTERN
    _PATTERN = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b", re.IGNORECASE)


def work(html: str, url: str) -> tuple[str, str, MinHash, list[str]]:
    """In a worker process: extract the text, its MinHash over 5-word shingles, and the terms it contains."""
    text = trafilatura.extract(html, url=url) or ""
    title = (trafilatura.extract_metadata(html).title or "") if text else ""
    words = text.lower().split()
    shingles = {" ".join(words[i:i + 5]) for i in range(max(len(words) - 4, 1))}
    m = MinHash(num_perm=NUM_PERM)
    m.update_batch([s.encode() for s in shingles])
    hits = sorted({h.group(0).lower() for h in _PATTERN.finditer(text)})
    return title, text, m, hits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("feeds")
    ap.add_argument("db")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    ap.add_argument("--terms", default="[]", help="JSON list of watchlist terms")
    args = ap.parse_args()
    started = time.monotonic()
    db = sqlite3.connect(args.db)
    db.executescript("""
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, text TEXT,
                                         published TEXT, duplicate_of INTEGER, hits TEXT);
        CREATE VIRTUAL TABLE IF NOT EXISTS item_fts USING fts5(title, text);
    """)
    client = httpx.Client(timeout=30, follow_redirects=True,
                          limits=httpx.Limits(max_connections=4 * args.threads))
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)

    def entries_of(url: str) -> list:
        return feedparser.parse(client.get(url).content).entries

    def page(entry) -> tuple:  # noqa: ANN001
        r = client.get(entry.link)
        return entry, r.text

    urls = json.load(open(args.feeds))
    stored = dupes = 0
    with ThreadPoolExecutor(args.threads) as threads, \
            ProcessPoolExecutor(args.processes, initializer=_init, initargs=(json.loads(args.terms),)) as procs:
        entries = [e for es in threads.map(entries_of, urls) for e in es]
        pending = set()
        for fetched in threads.map(page, entries):
            entry, html = fetched
            future = procs.submit(work, html, entry.link)
            future.entry = entry
            pending.add(future)
            if len(pending) >= 4 * args.processes:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                s, d = _store(db, lsh, done)
                stored, dupes = stored + s, dupes + d
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            s, d = _store(db, lsh, done)
            stored, dupes = stored + s, dupes + d
    db.close()
    print(json.dumps({"items": stored, "near_duplicates": dupes, "seconds": time.monotonic() - started}))


def _store(db: sqlite3.Connection, lsh: MinHashLSH, done) -> tuple[int, int]:  # noqa: ANN001
    """Main process: the LSH query and insert, then the row and its full-text entry, one transaction per batch."""
    stored = dupes = 0
    with db:
        for future in done:
            title, text, m, hits = future.result()
            entry = future.entry
            near = lsh.query(m)
            cur = db.execute("INSERT OR IGNORE INTO item (url, title, text, published, duplicate_of, hits) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (entry.link, title or entry.get("title"), text, entry.get("published"),
                              int(near[0]) if near else None, json.dumps(hits)))
            if cur.rowcount:
                db.execute("INSERT INTO item_fts (rowid, title, text) VALUES (?, ?, ?)",
                           (cur.lastrowid, title or entry.get("title"), text))
                lsh.insert(str(cur.lastrowid), m)
                stored += 1
                dupes += bool(near)
    return stored, dupes


if __name__ == "__main__":
    sys.exit(main())

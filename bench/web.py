"""The web app's response times on a 200,000-item store: inbox, item page, API list, and 20 concurrent clients.

Usage: .venv/bin/python bench/web.py [--items 200000] [--runs 200] [--clients 20] [--db sqlite:///path.db --no-fill]

Fills a fresh SQLite file (real schema: `Store.prepare()`, Alembic) with bulk INSERTs: short
synthetic articles (three paragraphs of a 5,000-word made-up vocabulary) from 20 sources over a
year; a quarter of them join the story of the item before (so inbox rows have several outlets),
5% are flagged by one of two watchlists (hit rows with snippets), and 10% of the flagged ones are
marked reviewed. Then `ingest serve` runs in its own process on 127.0.0.1 and this process times
requests to it (wall time on loopback: server time plus well under a millisecond): first one client
at a time (`--runs` each), then `--clients` threads at once, each with its own connection, mixing
the three. Targets (issue 16): inbox and item p95 < 100 ms, API list p95 < 50 ms, 20 concurrent
clients p95 < 300 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from ingest.storage.store import Store
from ingest.storage.tables import FingerprintRow, HitRow, ItemRow, TriageRow

END = datetime.now(timezone.utc).replace(microsecond=0)
SPAN = timedelta(days=365)
SOURCES = [f"source{n:02d}" for n in range(20)]
WATCHLISTS = {"csto": "CSTO", "article-2": "Article 2"}
BATCH = 5_000
FLAGGED, REVIEWED, SAME_STORY = 0.05, 0.10, 0.25


def _words(rng: random.Random) -> list[str]:
    return ["".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
            for _ in range(5_000)]


def fill(store: Store, total: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    words = _words(rng)
    began = time.perf_counter()
    story_of_previous = 0
    for start in range(0, total, BATCH):
        count = min(BATCH, total - start)
        with store.engine.begin() as conn:
            first_id = conn.execute(select(ItemRow.id).order_by(ItemRow.id.desc()).limit(1)).scalar() or 0
            items, keys, hits, triage = [], [], [], []
            for k in range(count):
                item_id, n = first_id + 1 + k, start + k
                when = END - SPAN + SPAN * ((n + rng.random()) / total)
                story = story_of_previous if story_of_previous and rng.random() < SAME_STORY else item_id
                story_of_previous = story
                paragraphs = [" ".join(rng.choices(words, k=rng.randint(30, 60))).capitalize() + "." for _ in range(3)]
                flagged = rng.random() < FLAGGED
                watchlist = rng.choice(list(WATCHLISTS))
                if flagged:
                    paragraphs[1] = f"{paragraphs[1][:-1]} {WATCHLISTS[watchlist]} {paragraphs[1][-1]}"
                source = rng.choice(SOURCES)
                url = f"https://{source}.example/{n}"
                row = ItemRow(id=item_id, source=source, guid=url, url=url, title=" ".join(paragraphs[0].split()[:8]),
                              published=when, fetched_at=when, sort_time=when, language="en", site_name=source.title(),
                              blocks=[{"kind": "paragraph", "text": p} for p in paragraphs], text="\n\n".join(paragraphs),
                              meta={"sources": {"title": "og", "published": "json-ld"}}, story_id=story)
                items.append({c.name: getattr(row, c.name) for c in ItemRow.__table__.columns})
                keys.append({"kind": "url", "value": url, "item_id": item_id})
                if flagged:
                    text = paragraphs[1]
                    at = text.index(WATCHLISTS[watchlist])
                    hits.append({"item_id": item_id, "watchlist": watchlist, "version": "v1", "term": WATCHLISTS[watchlist],
                                 "field": "body", "block": 1, "start": at, "end": at + len(WATCHLISTS[watchlist]),
                                 "text": WATCHLISTS[watchlist],
                                 "snippet": f"…{text[max(0, at - 60):at]}[[{WATCHLISTS[watchlist]}]]{text[at + len(WATCHLISTS[watchlist]):at + 60]}…"})
                    if rng.random() < REVIEWED:
                        triage.append({"item_id": item_id, "reviewed": True, "starred": False, "dismissed": False,
                                       "labels": [], "note": "", "updated_by": None, "updated_at": END})
            conn.execute(insert(ItemRow), items)
            conn.execute(insert(FingerprintRow), keys)
            if hits:
                conn.execute(insert(HitRow), hits)
            if triage:
                conn.execute(insert(TriageRow), triage)
        done = start + count
        if done % 50_000 == 0 or done == total:
            print(f"  {done:>9,} items, {done / (time.perf_counter() - began):,.0f}/s", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db_url: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    """`ingest serve` in its own process (so the timing client does not share its interpreter)."""
    config = workdir / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n\n'
                      + "".join(f'[[sources]]\nname = "{s}"\nurl = "https://{s}.example/feed"\n\n' for s in SOURCES)
                      + "".join(f'[[watchlists]]\nname = "{n}"\nterms = ["{t}"]\n\n' for n, t in WATCHLISTS.items()))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "serve", "--listen",
                             f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(base + "/static/style.css", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"ingest serve did not start: {proc.stderr.read()}")


def timed(client: httpx.Client, path: str) -> float:
    began = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def paths(store: Store, rng: random.Random) -> dict[str, list[str]]:
    with store.engine.connect() as conn:
        flagged = list(conn.execute(select(HitRow.item_id).distinct()).scalars())
    items = [f"/items/{i}" for i in rng.sample(flagged, min(200, len(flagged)))]
    return {
        "inbox (unreviewed stories)": ["/"],
        "inbox, one watchlist": ["/?watchlist=csto"],
        "inbox, next page": [],  # filled from the first page's cursor
        "item page": items,
        "API list (latest 50)": ["/api/v1/items"],
        "API stories": ["/api/v1/stories"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=30)
    parser.add_argument("--db", help="an SQLite URL to use (filled unless --no-fill)")
    parser.add_argument("--no-fill", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    db_url = args.db or f"sqlite:///{workdir / 'web.db'}"
    store = Store(db_url)
    store.prepare()
    if not args.no_fill:
        print(f"filling {args.items:,} items into {db_url}", flush=True)
        fill(store, args.items)
    rng = random.Random(2)
    targets = paths(store, rng)
    proc, base = serve(db_url, workdir)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            cursor = client.get("/api/v1/stories").json()["next"]
            targets["inbox, next page"] = [f"/?cursor={cursor}"]
            for path_list in targets.values():  # warm: statement caches, the OS page cache
                for path in path_list[:5]:
                    timed(client, path)
            print(f"\n{'request':<30} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   (one client, {args.runs} runs each;"
                  f" load {os.getloadavg()[0]:.1f})")
            for name, path_list in targets.items():
                times = [timed(client, path_list[n % len(path_list)]) for n in range(args.runs)]
                print(f"{name:<30} {statistics.median(times):8.1f} {p95(times):8.1f} {max(times):8.1f}", flush=True)
        mixed = [p for name, ps in targets.items() if name in ("inbox (unreviewed stories)", "item page",
                                                                "API list (latest 50)") for p in ps[:40]]
        results: list[float] = []
        lock = threading.Lock()

        def client_run(n: int) -> None:
            local = random.Random(n)
            with httpx.Client(base_url=base, timeout=60) as c:
                got = [timed(c, local.choice(mixed)) for _ in range(args.per_client)]
            with lock:
                results.extend(got)

        threads = [threading.Thread(target=client_run, args=(n,)) for n in range(args.clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
        print(f"{f'{args.clients} concurrent clients, mixed':<30} {statistics.median(results):8.1f} {p95(results):8.1f}"
              f" {max(results):8.1f}   ({len(results)} requests, {len(results) / wall:.0f}/s)")
    finally:
        proc.terminate()
        proc.wait(30)
        store.close()


if __name__ == "__main__":
    main()

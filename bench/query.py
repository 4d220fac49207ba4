"""Query latency and ingest rate on a large database: is `ingest query` still fast at a million items?

Usage: /work/venv/bin/python bench/query.py [--items 1000000] [--db URL] [--runs 50] [--adds 300]
       /work/venv/bin/python bench/query.py --db URL --no-fill   (again on a database filled before)

Fills a fresh SQLite file in a temp dir (or the empty database at --db) with synthetic
articles of 300-1,500 words in English, Russian, Armenian and French (Zipf-distributed
made-up vocabularies), 20 sources over two years, 1% flagged by the "csto" watchlist and
carrying the phrase "Организация Договора о коллективной безопасности".  The fill bypasses
`Store.add` (executemany, 5,000 items a transaction); the ingest rate is then measured
through `Store.add`, one transaction per item as the pipeline does, on the empty database
and again at N items.

Each query is run the way `Store.query` should: the ids of one page first (sorting only ids
and sort keys), then that page's rows, hits and snippets.  Targets: p95 < 100 ms for each
query at 1M items, ingest at N >= 80% of ingest on the empty database.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from pathlib import Path

from sqlalchemy import Connection, Select, func, insert, select

from ingest.search import parse
from ingest.storage import fulltext
from ingest.storage.store import Store
from ingest.storage.tables import FingerprintRow, HitRow, ItemRow

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=730)
SOURCES = [f"source{n:02d}" for n in range(20)]
LANGUAGES = {  # name: (share of items, consonants, vowels)
    "en": (0.4, "bcdfghklmnprstvwz", "aeiouy"),
    "ru": (0.3, "бвгдзклмнпрстфхцчшщ", "аеиоуыэюя"),
    "hy": (0.15, "բգդզթժլխծկհձղճմյնշչպջռսվտրցփքֆ", "աեէըիոօու"),
    "fr": (0.15, "bcdfglmnprstvç", "aeiouéèêàâôû"),
}
VOCABULARY = 20_000  # made-up words per language
PHRASE = "Организация Договора о коллективной безопасности"
FLAGGED = 0.01
BATCH = 5_000
WARMUP = 20  # Store.add calls not timed: the first ones pay for compiling statements
ROUNDS = 5  # the ingest rate is the median of this many rounds: other work on the machine adds noise


def _vocabulary(consonants: str, vowels: str, rng: random.Random) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        words["".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))] = None
    return list(words)


class Corpus:
    """Synthetic articles; word ranks follow Zipf's law, so the query words' frequencies are known."""

    def __init__(self, seed: int = 1):
        rng = random.Random(seed)
        self.words = {lang: _vocabulary(c, v, rng) for lang, (_, c, v) in LANGUAGES.items()}
        self.cum_weights = list(accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))

    def item(self, n: int, when: datetime, rng: random.Random) -> tuple[dict, list[tuple[str, str]], bool]:
        """Column values of item n, its fingerprint keys, whether it is flagged."""
        lang = rng.choices(list(LANGUAGES), [share for share, _, _ in LANGUAGES.values()])[0]
        words = rng.choices(self.words[lang], cum_weights=self.cum_weights, k=rng.randint(300, 1500))
        flagged = rng.random() < FLAGGED
        if flagged:
            words[len(words) // 2:len(words) // 2] = PHRASE.split()
        paragraphs = [" ".join(words[i:i + 80]) for i in range(0, len(words), 80)]
        url = f"https://{rng.choice(SOURCES)}.example/{n}"
        row = ItemRow(source=url.split("/")[2].split(".")[0], guid=url, url=url, title=" ".join(words[:8]).capitalize(),
                      published=when, fetched_at=when, sort_time=when, authors=[" ".join(words[8:10]).title()],
                      language=lang, text="\n\n".join(paragraphs),
                      blocks=[{"kind": "paragraph", "text": p} for p in paragraphs])
        values = {c.name: getattr(row, c.name) for c in ItemRow.__table__.columns if c.name != "id"}
        return values, [("url", url), ("content", f"{lang}:{n}:{words[0]}")], flagged


_corpus: Corpus | None = None


def _batch(args: tuple[int, int, int]) -> list[tuple[dict, list[tuple[str, str]], bool]]:
    start, count, total = args
    global _corpus
    _corpus = _corpus or Corpus()
    rng = random.Random(start)
    return [_corpus.item(n, END - SPAN + SPAN * ((n + rng.random()) / total), rng) for n in range(start, start + count)]


def fill(store: Store, total: int) -> float:
    """Insert `total` items in big transactions; returns items/s."""
    began = time.perf_counter()
    jobs = [(start, min(BATCH, total - start), total) for start in range(0, total, BATCH)]
    workers = max(1, (multiprocessing.cpu_count() or 2) - 1)  # generation runs beside the inserting process
    with multiprocessing.Pool(workers) as pool:
        for done, batch in enumerate(pool.imap(_batch, jobs), 1):
            with store.engine.begin() as conn:
                first_id = conn.execute(select(ItemRow.id).order_by(ItemRow.id.desc()).limit(1)).scalar() or 0
                conn.execute(insert(ItemRow), [values for values, _, _ in batch])
                ids = range(first_id + 1, first_id + 1 + len(batch))
                conn.execute(insert(FingerprintRow), [{"kind": k, "value": v, "item_id": i}
                                                      for i, (_, keys, _) in zip(ids, batch) for k, v in keys])
                hits = [_hit_values(i) for i, (_, _, flagged) in zip(ids, batch) if flagged]
                if hits:
                    conn.execute(insert(HitRow), hits)
            if done % 20 == 0 or done == len(jobs):
                print(f"  {done * BATCH:>9,} items, {done * BATCH / (time.perf_counter() - began):,.0f}/s", flush=True)
    return total / (time.perf_counter() - began)


def _hit_values(item_id: int) -> dict:
    return {"item_id": item_id, "watchlist": "csto", "version": "v1", "term": "ОДКБ", "field": "body", "block": 0,
            "start": 0, "end": 4, "text": "ОДКБ", "snippet": f"[[{PHRASE}]]"}


def ingest_rates(empty: Store, full: Store, corpus: Corpus, count: int) -> tuple[float, float]:
    """Items/s through `Store.add`, one transaction each like the pipeline, on each database.

    Rounds alternate between the two so that other work on the machine slows both alike;
    each figure is the median of its rounds.
    """
    first = full.count_items()  # items (and their texts) not stored by an earlier run on the same database
    rng = random.Random(first)
    per_round = max(1, count // ROUNDS)
    items = iter([corpus.item(10**9 + first + n, END, rng) for n in range(2 * (WARMUP + per_round * ROUNDS))])
    rates: dict[Store, list[float]] = {empty: [], full: []}
    for store in rates:  # untimed: the first calls compile statements and warm caches
        _add_all(store, [next(items) for _ in range(WARMUP)])
    for _ in range(ROUNDS):
        for store, got in rates.items():
            began = time.perf_counter()
            _add_all(store, [next(items) for _ in range(per_round)])
            got.append(per_round / (time.perf_counter() - began))
    return statistics.median(rates[empty]), statistics.median(rates[full])


def _add_all(store: Store, items: list[tuple[dict, list[tuple[str, str]], bool]]) -> None:
    for values, keys, flagged in items:
        hits = [HitRow(**_hit_values(0))] if flagged else []
        with store.writing() as w:  # one transaction per item, as a poll's lone new item
            w.add(ItemRow(**values), keys, hits)


def merge_index(store: Store) -> float:
    """Merge the FTS5 index into one segment; returns seconds.

    The bulk fill leaves a few huge level-0 segments that every later small commit would
    merge into; an index grown item by item (or optimized by maintenance) does not look like that.
    """
    began = time.perf_counter()
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO item_fts(item_fts) VALUES ('optimize')")
    return time.perf_counter() - began


def _ordered(conn: Connection, ids: Select, search: str | None) -> Select:
    if search:
        return fulltext.search(conn, ids, parse(search))
    return ids.order_by(ItemRow.sort_time.desc(), ItemRow.id.desc())


def _page(conn: Connection, ids: Select, search: str | None) -> int:
    """One page the way `Store.query` should fetch it: ids first, then rows, hits and snippets."""
    page = list(conn.execute(_ordered(conn, ids, search).limit(50)).scalars())
    rows = conn.execute(select(ItemRow).where(ItemRow.id.in_(page))).all()
    conn.execute(select(HitRow).where(HitRow.item_id.in_(page))).all()
    if search:
        fulltext.snippets(conn, parse(search), page)
    return len(rows)


def _count(conn: Connection, ids: Select, search: str | None) -> int:
    """All matches, not only the newest `fulltext.RANKED_MATCHES` that get ranked."""
    ranked, fulltext.RANKED_MATCHES = fulltext.RANKED_MATCHES, 10**12
    try:
        stmt = _ordered(conn, ids, search).order_by(None)
        return conn.execute(select(func.count()).select_from(stmt.subquery())).scalar()
    finally:
        fulltext.RANKED_MATCHES = ranked


def queries(corpus: Corpus) -> dict[str, tuple[Select, str | None]]:
    """name: (the filtered ids, the search string)"""
    en = corpus.words["en"]
    two_words = f"{en[299]} {en[799]}"  # Zipf ranks 300 and 800: each in a few % of English items
    common = f"{en[9]} {en[19]}"  # ranks 10 and 20: each in most English items
    phrase = '"коллективной безопасности"'
    ids = select(ItemRow.id)
    recent_in_one_source = ids.where(ItemRow.source == SOURCES[3], ItemRow.sort_time >= END - timedelta(days=30))
    return {
        "latest 50": (ids, None),
        "watchlist csto": (ids.where(ItemRow.id.in_(select(HitRow.item_id).where(HitRow.watchlist == "csto"))), None),
        f"words '{two_words}'": (ids, two_words),
        f"phrase {phrase}": (ids, phrase),
        f"source+since+words '{two_words}'": (recent_in_one_source, two_words),
        f"common words '{common}'": (ids, common),
        f"source+since+common words '{common}'": (recent_in_one_source, common),
    }


def time_ms(run: Callable[[], object], runs: int) -> tuple[float, float]:
    for _ in range(2):
        run()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--db", help="an empty database URL to fill (default: a SQLite file in a temp dir)")
    parser.add_argument("--empty-db", help="another empty database URL, for the ingest rate at zero items "
                                           "(default: a SQLite file in a temp dir)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--adds", type=int, default=300, help="items stored through Store.add on each database")
    parser.add_argument("--no-fill", action="store_true",
                        help="use --db as it is (filled by an earlier run): ingest rates and queries only")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="ingest-bench-")
    store = Store(args.db or f"sqlite:///{Path(tmp.name) / 'bench.db'}")
    empty = Store(args.empty_db or f"sqlite:///{Path(tmp.name) / 'empty.db'}")
    for s in (store, empty):
        s.prepare()
    corpus = Corpus()
    if args.no_fill:
        args.items = store.count_items()
    else:
        print(f"filling {args.items:,} items ...")
        print(f"fill: {fill(store, args.items):,.0f} items/s; FTS5 'optimize' after it: {merge_index(store):.1f} s")
    empty_rate, full_rate = ingest_rates(empty, store, corpus, args.adds)
    print(f"ingest through Store.add: empty database {empty_rate:,.0f} items/s, at {args.items:,} items "
          f"{full_rate:,.0f} items/s ({full_rate / empty_rate:.0%} of empty; target >= 80%)")
    dialect = store.engine.dialect.name
    print(f"\n{'query (' + dialect + f', {args.items:,} items)':<58} {'matches':>9} {'p50 ms':>8} {'p95 ms':>8}")
    with store.engine.connect() as conn:
        for name, (ids, search) in queries(corpus).items():
            matches = _count(conn, ids, search)
            p50, p95 = time_ms(lambda ids=ids, search=search: _page(conn, ids, search), args.runs)
            print(f"{name:<58} {matches:>9,} {p50:8.1f} {p95:8.1f}", flush=True)
    for s in (store, empty):
        s.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()

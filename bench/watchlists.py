"""Watchlist matching cost per article: 10 terms against 10,000 terms over the shared corpus.

Usage: /work/venv/bin/python bench/watchlists.py [--repeat 5]

The target is that 10,000 terms cost at most 3x what 10 terms cost, since all terms share
one Aho-Corasick automaton.  Articles come from `ingest.extract.extract` when it imports,
otherwise from a crude lxml `text_content()` split into paragraphs.
"""

from __future__ import annotations

import argparse
import gzip
import random
import time
from pathlib import Path

from ingest.article import Article, Block
from ingest.watchlists import Watchlist, compile_watchlists

CORPUS = Path("/work/shared/corpus/articles/html")
REAL_TERMS = ["government", "President", "NATO", "European Union", "New York", "police", "climate change",
              "Facebook", "Google", "United States"]
FIRST = ["Anna", "Boris", "Carlos", "Daniela", "Elena", "Farid", "Grace", "Hiroshi", "Ivan", "Julia", "Karen",
         "Liam", "Maria", "Nikolai", "Olga", "Pedro", "Quentin", "Rosa", "Sergei", "Tamar", "Ursula", "Viktor",
         "Wei", "Xavier", "Yusuf", "Zara", "David", "John", "Michael", "Sarah"]
LAST = ["Petrosyan", "Ivanov", "García", "Müller", "Smith", "Kowalski", "Nguyen", "Haddad", "O'Brien", "Tanaka",
        "Rossi", "Johnson", "Novak", "Dubois", "Jensen", "Silva", "Hakobyan", "Sokolov", "Brown", "Lee"]
ORGS = ["Ministry of", "Council for", "Institute of", "Committee on", "Agency for", "Bank of"]
TOPICS = ["Energy", "Defence", "Foreign Affairs", "Digital Trade", "Public Health", "Water Resources",
          "Nuclear Safety", "Cyber Security", "Transport", "Agriculture", "Climate", "Migration"]


def synthetic_terms(n: int, seed: int = 7) -> list[str]:
    """Realistic watchlist terms: the 10 real ones, then people, organisations and acronyms."""
    rng = random.Random(seed)
    terms = dict.fromkeys(REAL_TERMS)
    while len(terms) < n:
        kind = rng.random()
        if kind < 0.6:
            terms[f"{rng.choice(FIRST)} {rng.choice('ABCDEFGHJKLMNPRSTVW')}. {rng.choice(LAST)}"] = None
            terms[f"{rng.choice(FIRST)} {rng.choice(LAST)}"] = None
        elif kind < 0.9:
            terms[f"{rng.choice(ORGS)} {rng.choice(TOPICS)} of {rng.choice(LAST)}stan"] = None
        else:
            terms["".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWXYZ") for _ in range(rng.randint(3, 5)))] = None
    return list(terms)[:n]


def load_articles() -> tuple[list[Article], str]:
    pages = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in sorted(CORPUS.glob("*.html.gz"))]
    try:
        from ingest.extract import extract

        return [extract(html) for html in pages], "ingest.extract.extract"
    except Exception as exc:  # the extractor is someone else's work in progress: fall back, say so
        import lxml.html

        print(f"(extractor unavailable: {exc!r}; using lxml text_content)")
        articles = []
        for html in pages:
            doc = lxml.html.fromstring(html)
            for bad in doc.xpath("//script|//style"):
                bad.drop_tree()
            paras = [p.strip() for p in doc.text_content().split("\n") if len(p.strip()) > 40]
            articles.append(Article(title=doc.findtext(".//title"), blocks=[Block("paragraph", p) for p in paras]))
        return articles, "lxml text_content"


def per_article_ms(terms: list[str], articles: list[Article], repeat: int) -> tuple[float, float, int]:
    """(compile ms, best ms/article, hits): terms spread over 10 watchlists like a real config."""
    lists = [Watchlist.from_config({"name": f"w{k}", "terms": terms[k::10]}, "bench") for k in range(10)]
    t0 = time.perf_counter()
    matcher = compile_watchlists(lists)
    compile_ms = (time.perf_counter() - t0) * 1000
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        hits = sum(len(matcher.match(a)) for a in articles)
        best = min(best, (time.perf_counter() - t0) * 1000 / len(articles))
    return compile_ms, best, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over the corpus; the best is reported")
    args = parser.parse_args()
    articles, how = load_articles()
    chars = sum(len(a.title or "") + sum(len(b.text) for b in a.blocks) for a in articles)
    print(f"{len(articles)} articles via {how}, {chars / len(articles):,.0f} characters each on average")
    results = {}
    for n in (10, 10_000):
        compile_ms, ms, hits = per_article_ms(synthetic_terms(n), articles, args.repeat)
        results[n] = ms
        print(f"{n:>6} terms: compile {compile_ms:8.1f} ms, match {ms:6.3f} ms/article, {hits} hits over the corpus")
    ratio = results[10_000] / results[10]
    print(f"ratio 10,000 / 10 terms: {ratio:.2f}x (target <= 3x): {'ok' if ratio <= 3 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()

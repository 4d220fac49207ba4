"""Body-extraction benchmark: ours against trafilatura (and readability-lxml) on the shared corpora.

Run:  .venv/bin/python bench/extraction.py [--shared DIR] [--corpus articles,articles-wcxb,articles-daniel]
      [--repeat N]
The shared folder defaults to <repo>/../shared, or $INGEST_SHARED.  Scoring comes from
shared/bench/extraction_eval.py so the figures match the official scorer.  One table: per corpus and
extractor F1, P, R, empty outputs, failures, pages/s and the slowest page; then, per corpus, our speed
against trafilatura(fast) measured in the same run, and the time to extract one synthetic 10 MB page
(an article followed by a footer of 5*10^5 links: a large dropped subtree).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.extract import extract  # noqa: E402


def extract_body(html: str, url: str | None) -> str:
    """Adapter for extraction_eval.py --extractor bench/extraction.py:extract_body."""
    return extract(html, url).text


def _scorer(shared: Path):
    spec = importlib.util.spec_from_file_location("extraction_eval", shared / "bench" / "extraction_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _competitors() -> dict:
    found = {"ours": extract_body}
    try:
        import trafilatura

        found["trafilatura fast"] = lambda html, url: trafilatura.extract(html, url=url, fast=True)
        found["trafilatura"] = lambda html, url: trafilatura.extract(html, url=url)
    except ImportError:
        pass
    try:
        from readability import Document

        def readability_body(html: str, url: str | None) -> str:
            from lxml import html as lhtml
            summary = Document(html, url=url).summary(html_partial=True)
            return lhtml.fromstring(summary).text_content() if summary.strip() else ""

        found["readability-lxml"] = readability_body
    except ImportError:
        pass
    return found


def big_page(megabytes: int = 10) -> str:
    """An article, then a footer of links making the page `megabytes` large."""
    prose = "<p>" + "The committee met on Tuesday to discuss the proposal, which has been debated. " * 3 + "</p>"
    link = "<a href='/x'>link</a>"
    return f"<html><body><article>{prose * 5}</article><footer>{link * (megabytes * 10**6 // len(link))}</footer></body></html>"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.environ.get("INGEST_SHARED", str(REPO.parent / "shared")))
    ap.add_argument("--corpus", default="articles,articles-wcxb,articles-daniel",
                    help="comma-separated corpus folders under <shared>/corpus")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per extractor; the median is kept")
    args = ap.parse_args()
    shared = Path(args.shared)
    ev = _scorer(shared)
    extract("<p>" + "The language model loads once per process, here rather than on a timed page. " * 4 + "</p>")
    print(f"{'corpus':16s} {'extractor':18s} {'F1':>6s} {'P':>6s} {'R':>6s} {'empty':>5s} {'fail':>4s} "
          f"{'pages/s':>8s} {'max ms':>7s}")
    ratios = []
    for name in args.corpus.split(","):
        corpus = ev.Corpus(str(shared / "corpus" / name))
        ids = sorted(corpus.truth)
        pages = corpus.load_html(ids)
        urls = {i: corpus.truth[i].get("url") for i in ids}
        results = {}
        for label, fn in _competitors().items():
            preds, failures, runs = ev.run_extractor(fn, ids, pages, urls, warmup=1, repeat=args.repeat, timeout=0)
            rows = [ev.page_scores(corpus.truth[i].get("articleBody", ""), preds[i]) for i in ids]
            figures = ev.aggregate(rows) | ev.speed_summary(runs)
            figures["empty"] = sum(1 for i in ids if not ev.tokens(preds[i]))
            figures["failures"] = len(failures)
            results[label] = figures
            print(f"{name:16s} {label:18s} {figures['f1']:6.3f} {figures['precision']:6.3f} {figures['recall']:6.3f} "
                  f"{figures['empty']:5d} {figures['failures']:4d} {figures['pages_per_s']:8.1f} "
                  f"{figures['max_ms']:7.0f}")
        if "trafilatura fast" in results:
            ours, base = results["ours"], results["trafilatura fast"]
            ratios.append(f"{name}: F1 {ours['f1'] - results['trafilatura']['f1']:+.3f} vs trafilatura, "
                          f"speed x{ours['pages_per_s'] / base['pages_per_s']:.2f} vs trafilatura fast "
                          f"({len(ids)} pages)")
    for line in ratios:
        print(line)
    html = big_page()
    extract(html)
    started, cpu = time.perf_counter(), time.process_time()
    extract(html)
    print(f"10 MB page (footer of links): {time.process_time() - cpu:.2f} s CPU, "
          f"{time.perf_counter() - started:.2f} s wall")


if __name__ == "__main__":
    main()

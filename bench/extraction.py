"""Body-extraction benchmark: ours against trafilatura (and readability-lxml) on the shared corpus.

Run:  /work/venv/bin/python bench/extraction.py [--shared DIR] [--repeat N]
The shared folder defaults to <repo>/../shared, or $INGEST_SHARED.  Scoring comes from
shared/bench/extraction_eval.py so the figures match the official scorer.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.environ.get("INGEST_SHARED", str(REPO.parent / "shared")))
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per extractor; the median is kept")
    args = ap.parse_args()
    shared = Path(args.shared)
    ev = _scorer(shared)
    corpus = ev.Corpus(str(shared / "corpus" / "articles"))
    ids = sorted(corpus.truth)
    pages = corpus.load_html(ids)
    urls = {i: corpus.truth[i].get("url") for i in ids}
    results = {}
    for name, fn in _competitors().items():
        preds, failures, runs = ev.run_extractor(fn, ids, pages, urls, warmup=1, repeat=args.repeat, timeout=0)
        rows = [ev.page_scores(corpus.truth[i].get("articleBody", ""), preds[i]) for i in ids]
        figures = ev.aggregate(rows) | ev.speed_summary(runs)
        figures["empty"] = sum(1 for i in ids if not ev.tokens(preds[i]))
        figures["failures"] = len(failures)
        results[name] = figures
        print(f"{name:18s} F1 {figures['f1']:.3f}  P {figures['precision']:.3f}  R {figures['recall']:.3f}  "
              f"{figures['pages_per_s']:7.1f} pages/s  max {figures['max_ms']:.0f} ms  "
              f"empty {figures['empty']}  failures {figures['failures']}")
    base = results.get("trafilatura fast")
    if base:
        ours = results["ours"]
        print(f"ours / trafilatura fast: F1 x{ours['f1'] / base['f1']:.3f}, "
              f"speed x{ours['pages_per_s'] / base['pages_per_s']:.2f}  ({len(ids)} pages, single process)")


if __name__ == "__main__":
    main()

"""The whole shared article corpus: nothing raises, no body is empty, quality stays above a floor."""

import gzip
import importlib.util
import json

import pytest

from ingest.extract import extract
from tests.helpers.paths import SHARED

CORPUS = SHARED / "corpus" / "articles"

pytestmark = pytest.mark.skipif(not (CORPUS / "ground-truth.json").exists(), reason="shared corpus not present")


def _scorer():
    spec = importlib.util.spec_from_file_location("extraction_eval", SHARED / "bench" / "extraction_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_corpus_page_extracts_a_body_and_the_corpus_scores_above_the_floor():
    truth = json.loads((CORPUS / "ground-truth.json").read_text(encoding="utf-8"))
    scorer = _scorer()
    rows, empty = [], []
    for pid, entry in sorted(truth.items()):
        html = gzip.decompress((CORPUS / "html" / f"{pid}.html.gz").read_bytes()).decode("utf-8", "replace")
        article = extract(html, entry["url"])
        if not scorer.tokens(article.text):
            empty.append(pid)
        rows.append(scorer.page_scores(entry["articleBody"], article.text))
    assert empty == []
    figures = scorer.aggregate(rows)
    assert figures["f1"] >= 0.97 and figures["precision"] >= 0.96 and figures["recall"] >= 0.97, figures

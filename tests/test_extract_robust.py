"""Extraction never raises and stays linear on hostile pages (fuzzed mutations, huge dropped subtrees)."""

import time
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.extract import extract

PAGES = Path(__file__).parent / "fixtures" / "pages"
FUZZ_PAGES = sorted((PAGES / "fuzz").glob("*.html")) + [PAGES / "seed.html", PAGES / "rules.html"]
PROSE = ("The committee met on Tuesday to discuss the proposal, which has been debated for months, "
         "and its members said they would vote on it next week after hearing from residents.")
_TAGS = ["<div>", "</div>", "<p>", "</p>", "<figure>", "</figure>", "<figcaption>", "</figcaption>", "<table>",
         "<tr><td>", "</table>", "<footer>", "<nav>", "<button>", "<h1>", "</h1>", "<time datetime='x'>",
         "<div class='caption'>", "<span hidden>", "<br>", "<!--", "-->", "<script>", "</script>", "&amp;",
         "<html lang='zz'>", "<meta property='og:title' content=''>", "\x00", "\ufeff", "<a href='http://['>"]


def _pages() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in FUZZ_PAGES]


@st.composite
def mutated_pages(draw) -> str:
    """A bundled page cut, spliced and salted with stray tags at random places."""
    html = draw(st.sampled_from(_pages()))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(html)))
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "truncate"]))
        if op == "insert":
            html = html[:at] + draw(st.sampled_from(_TAGS) | st.text(max_size=20)) + html[at:]
        elif op == "delete":
            html = html[:at] + html[at + draw(st.integers(1, 400)):]
        elif op == "duplicate":
            html = html[:at] + html[at:at + draw(st.integers(1, 2000))] * 2 + html[at + 2000:]
        else:
            html = html[:at]
    return html


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_pages())
def test_extract_never_raises_on_mutated_pages(html):
    article = extract(html, "https://example.org/a/1")
    assert isinstance(article.text, str)


def test_lead_figure_whose_caption_was_hidden_does_not_raise():
    for caption in ("<figcaption hidden>The chamber</figcaption>",
                    "<div class='caption' style='display:none'>The chamber</div>"):
        html = ("<html><body><h1>Council Votes</h1><figure><img src='/lead.jpg'>" + caption + "</figure>"
                "<div class='story-body'>" + f"<p>{PROSE}</p>" * 3 + "</div></body></html>")
        article = extract(html, "https://example.org/a/1")
        assert article.blocks[0].text == PROSE and article.lead_image is None


def _page(n: int, tag: str) -> str:
    return ("<html><body><h1>Council Votes</h1><article>" + f"<p>{PROSE}</p>" * 5 + "</article>"
            f"<{tag}>" + "<a href='/x'>link</a>" * n + f"</{tag.split()[0]}></body></html>")


def _cpu_seconds(work) -> float:
    """Best of three in CPU time: the machine's other load does not count."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("tag", ["footer", "nav", "div class='site-footer'"])
def test_a_large_dropped_subtree_costs_about_what_parsing_it_costs(tag):
    """Linear, against a baseline measured in the same run: parsing the same page with lxml.

    Extraction costs about 2x parsing here; the quadratic drop it guards against (a dict holding a proxy per
    element while the footer is dropped whole) took about 4 s at this size, 140-300x parsing, so the bound is
    loose enough for a loaded machine. Comparing two page sizes instead failed once on CI (8.9x for 4x the
    size, 10 ms against 96 ms).
    """
    html = _page(30_000, tag)
    extract(f"<p>{PROSE}</p>" * 3)  # load the language model outside the timing
    article = extract(html)
    assert article.text.count("committee") == 5 and "link" not in article.text
    parsing, extracting = _cpu_seconds(lambda: lxml.html.fromstring(html)), _cpu_seconds(lambda: extract(html))
    assert extracting < 20 * parsing, (parsing, extracting)

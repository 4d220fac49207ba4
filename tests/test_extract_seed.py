"""The seed page golden test: the lead's end-to-end test relies on this exact rendering."""

from datetime import datetime, timezone
from pathlib import Path

from ingest.extract import extract
from tests.helpers.paths import SEED_TEXT

PAGES = Path(__file__).parent / "fixtures" / "pages"
URL = "https://www.azatutyun.am/a/31892678.html"


def _seed():
    return extract((PAGES / "seed.html").read_text(encoding="utf-8"), URL)


def test_seed_page_renders_exactly_as_the_seed_article():
    assert _seed().render_text() == SEED_TEXT.read_text(encoding="utf-8")


def test_seed_page_keeps_sidebar_comments_newsletter_and_navigation_out():
    text = _seed().render_text()
    for junk in ("CSTO Summit Ends", "Article 20", "Subscribe", "Join the conversation", "Share on",
                 "Most Popular", "cookies", "Politics"):
        assert junk not in text


def test_seed_page_blocks_and_lead_image():
    article = _seed()
    kinds = [b.kind for b in article.blocks]
    assert kinds[0] == "caption" and kinds.count("caption") == 2 and kinds[7] == "caption"
    assert article.lead_image.caption == article.blocks[0].text
    assert article.lead_image.url == "https://gdb.rferl.org/01000000-0aff-0242-2ca3-08da4ac8f8a4_w1200_r1.jpg"


def test_seed_page_metadata_and_sources():
    article = _seed()
    assert article.title == "Armenia Backs Alliance With Russia, Other Ex-Soviet States"
    assert article.published == datetime(2022, 6, 10, 12, 36, 20, tzinfo=timezone.utc)
    assert article.updated == datetime(2022, 6, 10, 14, 2, 51, tzinfo=timezone.utc)
    assert article.canonical_url == URL
    assert article.language == "en"
    assert article.authors == ["RFE/RL's Armenian Service"]
    assert article.site_name == "Azatutyun"
    assert article.section == "Politics"
    assert article.tags == ["Armenia", "CSTO", "Russia", "Azerbaijan"]
    assert article.sources == {"title": "json-ld", "published": "json-ld", "updated": "json-ld",
                               "authors": "json-ld", "language": "html", "canonical": "link",
                               "image": "json-ld", "site_name": "json-ld", "section": "json-ld",
                               "tags": "json-ld"}

"""Extraction unit tests: block kinds, metadata priority, encodings, normalization, site rules."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest.extract import SiteRules, decode_html, extract
from ingest.extract.metadata import split_authors, strip_title
from ingest.extract.text import normalize

PAGES = Path(__file__).parent / "fixtures" / "pages"
PROSE = ("The committee met on Tuesday to discuss the proposal, which has been debated for months, "
         "and its members said they would vote on it next week after hearing from residents.")


def page(body: str, head: str = "", lang: str = "en") -> str:
    return f"<!DOCTYPE html><html lang='{lang}'><head>{head}</head><body>{body}</body></html>"


def article_page(inner: str, head: str = "") -> str:
    paragraphs = "".join(f"<p>{PROSE} Paragraph {i}.</p>" for i in range(4))
    return page(f"<nav><a href='/'>Home</a><a href='/w'>World</a></nav>"
                f"<article><div class='article-body'>{paragraphs}{inner}</div></article>"
                f"<footer><p>All rights reserved. Contact us.</p></footer>", head)


def kinds(html: str) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in extract(html).blocks]


def test_block_kinds_in_page_order():
    html = article_page(
        "<h2>What happens next</h2><blockquote><p>We will not give up on this town.</p></blockquote>"
        "<ul><li>First point of the plan</li><li>Second point of the plan</li></ul>"
        "<figure><img src='a.jpg'><figcaption>Residents at the meeting "
        "<span class='credit'>Jane Roe/Agency</span></figcaption></figure>"
        "<table><tr><th>Year</th><th>Votes</th></tr><tr><td>2020</td><td>1,204</td></tr></table>")
    got = kinds(html)
    assert got[:4] == [("paragraph", f"{PROSE} Paragraph {i}.") for i in range(4)]
    assert got[4:] == [("heading", "What happens next"), ("quote", "We will not give up on this town."),
                       ("list_item", "First point of the plan"), ("list_item", "Second point of the plan"),
                       ("caption", "Residents at the meeting"), ("table_row", "Year | Votes"),
                       ("table_row", "2020 | 1,204")]
    caption = extract(html).blocks[8]
    assert caption.credit == "Jane Roe/Agency"
    assert "Residents" not in extract(html).text  # captions are not body text


def test_boilerplate_is_left_out():
    html = article_page(
        "<div class='share-buttons'><a href='#'>Share on Facebook</a></div>"
        "<div class='newsletter-signup'><p>Get our best stories in your inbox every morning, free.</p></div>"
        "<div id='comments'><p>I disagree with every single word of this article and the author.</p></div>"
        "<div class='related-articles'><ul><li><a href='/1'>Another story about the town council</a></li></ul></div>"
        "<p>Advertisement</p><p>Filed under: Politics, Town</p><p>Follow us on Facebook and Twitter.</p>"
        "<p>© 2024 Example News. All rights reserved.</p><p>https://example.org/a/1</p>")
    text = extract(html).text
    for junk in ("Share", "inbox", "disagree", "Another story", "Advertisement", "Home", "rights reserved",
                 "Filed under", "Facebook", "https"):
        assert junk not in text
    assert text.count("Paragraph") == 4


def test_lead_caption_is_first_block_and_lead_image_caption():
    html = page("<h1>Council Votes</h1><figure><img src='/lead.jpg'><figcaption>The council chamber"
                "<span class='photo-credit'>AP</span></figcaption></figure>"
                "<div class='story-body'>" + "".join(f"<p>{PROSE}</p>" for _ in range(3)) + "</div>")
    article = extract(html, "https://example.org/news/1")
    assert article.blocks[0].kind == "caption" and article.blocks[0].text == "The council chamber"
    assert article.lead_image.caption == "The council chamber" and article.lead_image.credit == "AP"
    assert article.lead_image.url == "https://example.org/lead.jpg"
    assert article.sources["image"] == "figure"


def test_body_image_fallback_is_an_absolute_http_url():
    """Like og:image: a javascript: or data: source is not an image URL; the next image is taken instead."""
    html = page("<h1>Council Votes</h1><div class='story-body'><img src='javascript:alert(1)'>"
                "<img src='data:image/gif;base64,R0lG'><img data-src=' /lead.jpg '>"
                + "".join(f"<p>{PROSE}</p>" for _ in range(3)) + "</div>")
    assert extract(html, "https://example.org/news/1").lead_image.url == "https://example.org/lead.jpg"
    assert extract(html.replace(" /lead.jpg ", "javascript:void(0)"), "https://example.org/news/1").lead_image is None


def test_a_malformed_link_costs_that_link_not_the_page():
    """urljoin raises on `http://[`: the canonical URL and the image are dropped, the article kept."""
    html = page("<h1>Council Votes</h1><div class='story-body'><img src='http://[broken/a.jpg'>"
                + "".join(f"<p>{PROSE}</p>" for _ in range(3)) + "</div>",
                head="<link rel='canonical' href='http://[broken/'><meta property='og:image' content='http://[x'>")
    article = extract(html, "https://example.org/news/1")
    assert (article.canonical_url, article.lead_image) == (None, None)
    assert len(article.blocks) == 3 and article.title == "Council Votes"


META_HEAD = """
<title>Headline From Title Tag | Daily Example</title>
<meta property="og:title" content="Headline From OpenGraph">
<meta property="og:site_name" content="Daily Example">
<meta property="article:published_time" content="2021-05-01T10:00:00+02:00">
<meta name="author" content="Meta Author">
<meta property="og:locale" content="fr_FR">
<meta property="og:url" content="/og-url">
<link rel="canonical" href="/canonical-url">
"""
JSON_LD = """<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
{"@type": "WebSite", "name": "Daily Example"},
{"@type": "NewsArticle", "headline": "Headline From JSON-LD", "datePublished": "2021-05-01T06:00:00Z",
 "author": [{"@type": "Person", "name": "Ann Lee"}, {"@type": "Person", "name": "Bo Chen"}]}]}</script>"""


def test_metadata_priority_json_ld_over_og_over_meta():
    with_ld = extract(article_page("", META_HEAD + JSON_LD), "https://example.org/a/1")
    assert with_ld.title == "Headline From JSON-LD"
    assert with_ld.published == datetime(2021, 5, 1, 6, tzinfo=timezone.utc)
    assert with_ld.authors == ["Ann Lee", "Bo Chen"]
    assert with_ld.sources["title"] == with_ld.sources["published"] == with_ld.sources["authors"] == "json-ld"
    plain = extract(article_page("", META_HEAD), "https://example.org/a/1")
    assert plain.title == "Headline From OpenGraph" and plain.sources["title"] == "og"
    assert plain.published == datetime(2021, 5, 1, 8, tzinfo=timezone.utc) and plain.sources["published"] == "og"
    assert plain.authors == ["Meta Author"] and plain.sources["authors"] == "meta"
    assert plain.canonical_url == "https://example.org/canonical-url" and plain.sources["canonical"] == "link"
    assert plain.language == "en" and plain.sources["language"] == "html"
    assert plain.site_name == "Daily Example"


def test_json_ld_with_trailing_commas_and_any_article_type_is_read():
    head = ('<script type="application/ld+json">{"@type": "ReportageNewsArticle", "headline": "From LD",'
            ' "keywords": ["a", "b", ], "datePublished": "2019-11-18 17:19:53"}</script>')
    article = extract(article_page("", head))
    assert (article.title, article.tags) == ("From LD", ["a", "b"])
    assert article.published == datetime(2019, 11, 18, 17, 19, 53, tzinfo=timezone.utc)


def test_metadata_fallbacks_time_byline_title_tag_og_url():
    head = ("<title>Bridge Reopens After Repairs - Town Crier</title><meta property='og:url' content='/x'>"
            "<meta http-equiv='content-language' content='de-DE'>")
    body = ("<p class='byline'>By Mary Major and John Minor</p><time datetime='2020-02-03T04:05:06Z'>Feb 3</time>"
            + "".join(f"<p>{PROSE}</p>" for _ in range(3)))
    article = extract(f"<html><head>{head}</head><body>{body}</body></html>", "https://t.example/n/1")
    assert article.title == "Bridge Reopens After Repairs" and article.sources["title"] == "title"
    assert article.published == datetime(2020, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    assert article.sources["published"] == "time"
    assert article.authors == ["Mary Major", "John Minor"] and article.sources["authors"] == "byline"
    assert article.canonical_url == "https://t.example/x" and article.sources["canonical"] == "og"
    assert article.language == "de" and article.sources["language"] == "meta"
    assert "Mary Major" not in article.text


@pytest.mark.parametrize("title, site, expected", [
    ("Armenia Backs Alliance | Azatutyun", None, "Armenia Backs Alliance"),
    ("Storm Hits Coast - The Daily Example", "The Daily Example", "Storm Hits Coast"),
    ("Daily Example: News | Daily Example", "Daily Example", "Daily Example: News"),
    ("Jean-Paul Sartre - a life in letters", None, "Jean-Paul Sartre - a life in letters"),
    ("No Separator Here", "Site", "No Separator Here"),
    ("Why I quit - and what happened next", None, "Why I quit - and what happened next"),
    ("Azatutyun :: Armenia Backs Alliance", "Azatutyun", "Armenia Backs Alliance"),
])
def test_title_suffix_stripping(title, site, expected):
    assert strip_title(title, site) == expected


@pytest.mark.parametrize("byline, names", [
    ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
    ("BY ANN LEE, BO CHEN & CY DAY", ["ANN LEE", "BO CHEN", "CY DAY"]),
    ("Jane Doe | Updated 5 minutes ago", ["Jane Doe"]),
    ("https://example.org/author/jane", []),
    ("Sarah E. Needleman", ["Sarah E. Needleman"]),
    ("Analysis by Chris Roe, CNN Editor-at-large", ["Chris Roe"]),
    ("Ilana Doe, MS, RDN", ["Ilana Doe"]),
    ("Juan Pérez y Ana Gómez", ["Juan Pérez", "Ana Gómez"]),
    ("Ludwig van Beethoven", ["Ludwig van Beethoven"]),
    ("publisher of The Space Review", []),
])
def test_authors_splitting(byline, names):
    assert split_authors(byline) == names


def test_text_normalization():
    raw = "Caf\u0065\u0301\u00a0au\u00adto\u200bmat  \n\t lait&amp;"
    assert normalize(raw) == "Café automat lait&"
    html = article_page("<p>Soft\u00adhy\u00adphen and&nbsp;no-break, caf&eacute; &#8220;quoted&#8221;</p>")
    assert extract(html).blocks[-1].text == "Softhyphen and no-break, café “quoted”"


CYRILLIC = "Президент заявил, что переговоры продолжатся на следующей неделе в Москве."


@pytest.mark.parametrize("codec", ["cp1251", "koi8-r"])
def test_legacy_cyrillic_served_as_utf8_is_sniffed(codec):
    body = f"<html><head><title>Новости</title></head><body><p>{CYRILLIC * 3}</p></body></html>".encode(codec)
    assert CYRILLIC in decode_html(body, "text/html; charset=utf-8")


def test_declared_charsets_bom_and_lies():
    text = f"<html><body><p>{CYRILLIC}</p></body></html>"
    assert decode_html(b"\xef\xbb\xbf" + text.encode("utf-8"), "text/html; charset=windows-1252") == text
    meta = f"<html><head><meta charset='windows-1251'></head><body><p>{CYRILLIC}</p></body></html>"
    assert CYRILLIC in decode_html(meta.encode("cp1251"))
    equiv = "<meta http-equiv='Content-Type' content='text/html; charset=koi8-r'><p>" + CYRILLIC + "</p>"
    assert CYRILLIC in decode_html(equiv.encode("koi8-r"), "text/html")
    assert decode_html("<p>café</p>".encode("utf-8"), "text/html; charset=iso-8859-1") == "<p>café</p>"
    assert decode_html("<p>café</p>".encode("cp1252"), "text/html; charset=iso-8859-1") == "<p>café</p>"


def test_site_rules_fix_what_generic_extraction_gets_wrong():
    html = (PAGES / "rules.html").read_text(encoding="utf-8")
    assert "Nachbarschaft" in extract(html).text  # the generic scorer picks the teaser list
    rules = SiteRules(body="div.x1", remove=("div.x9",), caption="p.x2", date="span.x3")
    article = extract(html, rules=rules)
    assert article.text == "Der eigentliche Artikel ist kurz.\n\nEr hat nur zwei Sätze.\n\n4. März 2021"
    assert [b.kind for b in article.blocks] == ["paragraph", "caption", "paragraph", "paragraph"]
    assert article.published is None  # the rule's element has no datetime attribute and no ISO text


def test_site_rules_date_and_from_config():
    rules = SiteRules.from_config({"body": "div.x1", "remove": ["div.x9", "span.x3"], "date": "time"}, "sites.de")
    assert rules.remove == ("div.x9", "span.x3")
    html = page("<time datetime='2021-03-04T05:06:07+01:00'>4 March</time><div class='x1'><p>Text.</p></div>")
    article = extract(html, rules=rules)
    assert article.published == datetime(2021, 3, 4, 4, 6, 7, tzinfo=timezone.utc)
    assert article.sources["published"] == "rule"
    with pytest.raises(ValueError, match=r"^sites\.de: unknown key 'bodyy'"):
        SiteRules.from_config({"bodyy": "div"}, "sites.de")
    with pytest.raises(ValueError, match=r"^sites\.de: key 'caption' must be a CSS selector string"):
        SiteRules.from_config({"caption": 3}, "sites.de")
    with pytest.raises(ValueError, match=r"^sites\.de: bad CSS selector"):
        SiteRules.from_config({"body": "div[["}, "sites.de")


@pytest.mark.parametrize("html", ["", "   ", "<html></html>", "<?xml version='1.0' encoding='utf-8'?><p>x</p>",
                                  "\x00<p>broken <b>markup</p>"])
def test_degenerate_pages_do_not_raise(html):
    extract(html)


def test_text_input_ignores_its_own_charset_declarations():
    html = ("<?xml version='1.0' encoding='iso-8859-1'?><html><head><meta charset='windows-1251'>"
            f"</head><body><p>{CYRILLIC} café</p></body></html>")
    assert extract(html).text == f"{CYRILLIC} café"


def test_characters_xml_forbids_are_removed_and_cut_nothing_after_them():
    """Control characters, a lone surrogate and U+FFFE/U+FFFF in the text: lxml cuts the page at a surrogate and
    refuses the others in a tail it is given back (a dropped element's tail joins its neighbour's)."""
    html = page(f"<div class='story'><p>{PROSE}</p><p>Before\x01 the\x1f vote\ud800 the\ufffe council\uffff met.</p>"
                "<div class='share'>Share</div>\x0b After\x00 it, they left." + f"<p>{PROSE} End.</p></div>")
    article = extract(html)
    assert [b.text for b in article.blocks[1:3]] == ["Before the vote the council met.", "After it, they left."]
    assert article.text.endswith("End.") and "Share" not in article.text


def test_body_split_across_sibling_wrappers_and_linked_subheadings_are_kept():
    html = page("<div class='story'><div class='lead-para'><p>(Wire) The opening paragraph sits in its own"
                " wrapper, apart from the rest of the story, as some publishers do.</p></div>"
                + "".join(f"<div class='para'>{PROSE} Part {i}.</div>" for i in range(5))
                + "<div class='body-rest'>" + "".join(f"<p>{PROSE} More {i}.</p>" for i in range(5))
                + "<h3><a href='/product'>The Product Worth Buying</a></h3>"
                + f"<p>{PROSE} Last.</p></div></div>"
                + "<div class='teasers'><ul><li><a href='/x'>Unrelated headline one</a></li>"
                  "<li><a href='/y'>Unrelated headline two</a></li></ul></div>")
    text = extract(html).text
    assert text.startswith("(Wire) The opening paragraph")
    assert "The Product Worth Buying" in text and text.endswith("Last.")
    assert "Unrelated" not in text

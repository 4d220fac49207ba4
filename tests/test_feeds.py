"""parse_feed on each format, on hostile XML, and on things that are not feeds."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from ingest.feeds import FeedError, parse_feed
from ingest.poll.draft import Context, draft
from ingest.watchlists import compile_watchlists

FEED_URL = "https://news.example.org/section/feed.xml"

RSS20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example News</title><link>https://news.example.org/</link><ttl>45</ttl>
  <item>
    <title>Older story</title><link>/a/1.html</link><guid isPermaLink="false">id-1</guid>
    <pubDate>Fri, 10 Jun 2022 14:00:00 +0200</pubDate><dc:creator>Ann Author</dc:creator>
    <description>Short &lt;b&gt;teaser&lt;/b&gt;</description>
    <content:encoded><![CDATA[<p>The full story, with <a href="/a/2.html">a relative link</a>.</p>]]></content:encoded>
  </item>
  <item>
    <title>Newer story</title><link>https://news.example.org/a/2.html</link>
    <guid>https://news.example.org/a/2.html</guid>
    <pubDate>Sat, 11 Jun 2022 09:30:00 GMT</pubDate>
  </item>
</channel>
</rss>"""

RSS10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/rss"><title>RDF site</title><link>https://example.org/</link></channel>
  <item rdf:about="https://example.org/n/1">
    <title>RDF item</title><link>https://example.org/n/1</link><dc:date>2021-03-04T05:06:07-05:00</dc:date>
    <description>An RSS 1.0 item</description>
  </item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.com/posts/">
  <title>Atom blog</title><link href="https://blog.example.com/"/><id>urn:blog</id>
  <updated>2023-01-02T03:04:05Z</updated>
  <entry>
    <title type="html">Caf&#xe9; &amp;amp; more</title>
    <link rel="alternate" href="2023/first"/><id>urn:entry:1</id>
    <published>2023-01-01T23:00:00+01:00</published><updated>2023-01-02T03:04:05Z</updated>
    <author><name>First Writer</name></author><author><name>Second Writer</name></author>
    <summary type="text">Plain &lt;not a tag&gt; summary</summary>
    <content type="html">&lt;p&gt;Atom body&lt;/p&gt;</content>
  </entry>
</feed>"""


def test_rss20():
    feed = parse_feed(RSS20, FEED_URL, "application/rss+xml; charset=utf-8")
    assert (feed.format, feed.title, feed.link, feed.ttl_minutes) == \
        ("rss20", "Example News", "https://news.example.org/", 45)
    newer, older = feed.entries  # newest first
    assert older.guid == "id-1" and older.title == "Older story"
    assert older.url == "https://news.example.org/a/1.html"
    assert older.published == datetime(2022, 6, 10, 12, 0, tzinfo=UTC)
    assert older.authors == ("Ann Author",)
    assert older.summary == "Short <b>teaser</b>"
    assert older.content == '<p>The full story, with <a href="/a/2.html">a relative link</a>.</p>'  # as given
    assert newer.guid == newer.url == "https://news.example.org/a/2.html" and newer.content is None


def test_rss10():
    feed = parse_feed(RSS10, "https://example.org/rss")
    assert feed.format == "rss10" and feed.title == "RDF site"
    [entry] = feed.entries
    assert entry.url == "https://example.org/n/1" and entry.summary == "An RSS 1.0 item"
    assert entry.updated == datetime(2021, 3, 4, 10, 6, 7, tzinfo=UTC)  # feedparser reads dc:date as updated


def test_atom():
    feed = parse_feed(ATOM, "https://blog.example.com/feed.atom", "application/atom+xml")
    assert feed.format == "atom10" and feed.link == "https://blog.example.com/"
    [entry] = feed.entries
    assert entry.url == "https://blog.example.com/posts/2023/first"  # xml:base applied
    assert entry.title == "Café &amp; more"
    assert entry.published == datetime(2023, 1, 1, 22, 0, tzinfo=UTC)
    assert entry.updated == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert entry.authors == ("First Writer", "Second Writer")
    assert entry.summary == "Plain &lt;not a tag&gt; summary"  # text constructs come back as escaped HTML
    assert entry.content == "<p>Atom body</p>"


def test_json_feed_11():
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON news", "home_page_url": "/",
           "authors": [{"name": "Desk"}],
           "items": [{"id": 7, "url": "stories/7", "title": "Seven", "content_text": "One.\n\nTwo & three.",
                      "summary": "A <plain> summary", "date_published": "2024-02-03T04:05:06+03:00",
                      "date_modified": "2024-02-03T10:00:00Z"},
                     {"id": "8", "external_url": "https://elsewhere.example/8", "content_html": "<p>Eight</p>",
                      "authors": [{"name": "Own Author"}]}]}
    feed = parse_feed(json.dumps(doc).encode(), "https://example.org/news/feed.json", "application/feed+json")
    assert (feed.format, feed.title, feed.link) == ("json11", "JSON news", "https://example.org/")
    seven, eight = feed.entries
    assert seven.guid == "7" and seven.url == "https://example.org/news/stories/7"
    assert seven.published == datetime(2024, 2, 3, 1, 5, 6, tzinfo=UTC)
    assert seven.updated == datetime(2024, 2, 3, 10, 0, tzinfo=UTC)
    assert seven.content == "<p>One.</p><p>Two &amp; three.</p>"
    assert seven.summary == "A &lt;plain&gt; summary"
    assert seven.authors == ("Desk",)  # the feed's authors stand in
    assert eight.url == "https://elsewhere.example/8" and eight.authors == ("Own Author",)


def test_json_feed_with_byte_order_mark():
    body = b'\xef\xbb\xbf{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "BOM"}]}'
    assert [e.title for e in parse_feed(body, "https://example.org/feed.json").entries] == ["BOM"]


def test_json_feed_10_with_wrong_types_skips_fields_not_the_feed():
    doc = {"version": "https://jsonfeed.org/version/1", "title": ["not a string"], "author": {"name": "Old Style"},
           "items": [{"id": True, "title": 1000, "url": 1.5, "date_published": "not a date", "content_html": True},
                     "not an item", {"id": "ok", "url": "javascript:alert(1)", "date_published": {}},
                     {"content_text": "no id, url or title: dropped"}]}
    feed = parse_feed(json.dumps(doc).encode(), "https://example.org/feed.json")
    assert feed.format == "json10" and feed.title is None
    [entry] = feed.entries
    assert (entry.guid, entry.url, entry.published, entry.authors) == ("ok", None, None, ("Old Style",))


@pytest.mark.parametrize(("body", "message"), [
    (b'{"title": "no version"}', "JSON Feed 1.x version"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"version": 2}', "JSON Feed 1.x version"),
])
def test_json_that_is_not_a_json_feed(body, message):
    with pytest.raises(FeedError, match=message):
        parse_feed(body, "https://example.org/feed.json", "application/json")


def test_relative_links_resolve_against_the_feed_url():
    body = b"""<rss version="2.0"><channel><link>../</link>
      <item><title>a</title><link>story.html?id=1</link></item>
      <item><title>b</title><link>//cdn.example.net/b</link></item>
      <item><title>c</title><link>javascript:alert(1)</link></item></channel></rss>"""
    feed = parse_feed(body, "https://example.org/news/feed.xml")
    assert feed.link == "https://example.org/"
    assert [e.url for e in feed.entries] == [
        "https://example.org/news/story.html?id=1", "https://cdn.example.net/b", None]


def test_relative_images_in_entry_html_end_up_absolute():
    """feedparser leaves entry HTML alone; the extractor resolves against the entry URL, xml:base wins."""
    rss = b"""<rss version="2.0"><channel><title>t</title><item><title>a</title>
      <link>https://news.example.org/2024/a.html</link>
      <description>&lt;p&gt;&lt;img src="img/a.jpg"&gt;Words of the story.&lt;/p&gt;</description></item></channel></rss>"""
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://cdn.example.com/posts/"><title>x</title>
      <entry><title>e</title><link href="https://blog.example.com/2023/first"/><id>u</id>
      <content type="html">&lt;p&gt;&lt;img src="img/b.jpg"&gt;Words.&lt;/p&gt;</content></entry></feed>"""
    [in_rss] = parse_feed(rss, "https://news.example.org/feed.xml").entries
    [in_atom] = parse_feed(atom, "https://blog.example.com/feed.atom").entries
    assert 'src="img/a.jpg"' in in_rss.summary and 'src="https://cdn.example.com/posts/img/b.jpg"' in in_atom.content
    images = [draft(e, Context("s"), compile_watchlists(())).article.lead_image.url for e in (in_rss, in_atom)]
    assert images == ["https://news.example.org/2024/img/a.jpg", "https://cdn.example.com/posts/img/b.jpg"]


def test_unsanitized_entry_html_yields_only_text():
    """feedparser no longer sanitizes entry HTML: what it would have removed never reaches the article."""
    rss = b"""<rss version="2.0"><channel><title>t</title><item><title>a</title><link>https://news.example.org/a</link>
      <description>&lt;p onclick="steal()"&gt;Words of the story.&lt;script&gt;steal()&lt;/script&gt;&lt;/p&gt;
      &lt;style&gt;p { color: red }&lt;/style&gt;&lt;iframe src="https://ads.example/"&gt;ad&lt;/iframe&gt;
      &lt;object data="x.swf"&gt;&lt;/object&gt;&lt;p&gt;More words.&lt;/p&gt;</description></item></channel></rss>"""
    [entry] = parse_feed(rss, "https://news.example.org/feed.xml").entries
    assert "<script>" in entry.summary  # as the feed gave it
    article = draft(entry, Context("s"), compile_watchlists(())).article
    assert article.text == "Words of the story.\n\nMore words."


def test_dates_become_utc():
    body = b"""<rss version="2.0"><channel>
      <item><title>a</title><pubDate>Tue, 01 Mar 2022 23:30:00 -0800</pubDate></item>
      <item><title>b</title><pubDate>2022-03-02T09:00:00+09:00</pubDate></item>
      <item><title>c</title><pubDate>not a date</pubDate></item></channel></rss>"""
    a, b, c = parse_feed(body, FEED_URL).entries
    assert a.published == datetime(2022, 3, 2, 7, 30, tzinfo=UTC) and a.published.utcoffset().total_seconds() == 0
    assert b.published == datetime(2022, 3, 2, 0, 0, tzinfo=UTC)
    assert c.published is None


# Hostile XML

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
""" + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10)) + b"""]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>"""

QUADRATIC = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "' + b"x" * 10_000 + b'">\n]>\n'
             b'<rss version="2.0"><channel><item><title>t</title><description>' + b"&big;" * 10_000
             + b"</description></item></channel></rss>")


@pytest.mark.parametrize("body", [BILLION_LAUGHS, QUADRATIC,
                                  QUADRATIC.decode().replace('"1.0"', '"1.0" encoding="utf-16"').encode("utf-16")],
                         ids=["billion-laughs", "quadratic", "quadratic-utf16"])
def test_entity_expansion_is_refused_fast(body):
    started = time.monotonic()
    with pytest.raises(FeedError, match="entity declarations refused"):
        parse_feed(body, FEED_URL, "application/rss+xml")
    assert time.monotonic() - started < 5


def test_external_entity_is_refused():
    body = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
      <rss version="2.0"><channel><item><title>&xxe;</title><link>https://e.org/1</link></item></channel></rss>"""
    with pytest.raises(FeedError, match="entity declarations refused"):
        parse_feed(body, FEED_URL)


def test_external_parameter_entity_is_refused_without_a_request(local_server):
    local_server.route("/evil.dtd", '<!ENTITY leak "LEAKED">')
    body = f"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % remote SYSTEM "{local_server.url('/evil.dtd')}">
      %remote;]><rss version="2.0"><channel><item><title>&leak;</title></item></channel></rss>""".encode()
    with pytest.raises(FeedError, match="entity declarations refused"):
        parse_feed(body, FEED_URL)
    assert local_server.hits["/evil.dtd"] == 0


def test_external_dtd_is_not_loaded(local_server):
    local_server.route("/evil.dtd", '<!ENTITY title "LEAKED">')
    for system_id in ("file:///etc/passwd", local_server.url("/evil.dtd")):
        body = f"""<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{system_id}">
          <rss version="2.0"><channel><title>t</title><item><title>only this</title></item></channel></rss>"""
        feed = parse_feed(body.encode(), FEED_URL)
        assert [e.title for e in feed.entries] == ["only this"]
        assert "root:" not in repr(feed) and "LEAKED" not in repr(feed)
    assert local_server.hits["/evil.dtd"] == 0


def test_a_body_naming_a_file_or_url_is_not_opened(tmp_path, local_server):
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS20)
    local_server.route("/feed.xml", RSS20)
    for body in (str(path).encode(), local_server.url("/feed.xml").encode(), b"/etc/passwd"):
        with pytest.raises(FeedError):
            parse_feed(body, FEED_URL)
    assert local_server.hits["/feed.xml"] == 0


# Not feeds, broken feeds

@pytest.mark.parametrize("body", [
    b"<html><body><p>Not a feed at all</p></body></html>",
    b"<!DOCTYPE html>\n<html lang='en'><head><title>x</title></head><body><item>no</item></body></html>",
    b"\xef\xbb\xbf  <!-- generated --><HTML><BODY>shouting</BODY></HTML>",
])
def test_html_is_not_a_feed(body):
    with pytest.raises(FeedError, match="looks like HTML"):
        parse_feed(body, FEED_URL, "text/html")


@pytest.mark.parametrize("body", [b"", b"  \r\n\t"])
def test_empty_body(body):
    with pytest.raises(FeedError, match="empty body"):
        parse_feed(body, FEED_URL)


def test_other_xml_is_not_a_feed():
    with pytest.raises(FeedError, match="root element <catalog>"):
        parse_feed(b"<?xml version='1.0'?><catalog><book>x</book></catalog>", FEED_URL, "application/xml")


def test_truncated_feed_with_no_usable_entries_is_refused():
    with pytest.raises(FeedError, match="malformed XML"):
        parse_feed(b"<rss><channel><item><title>unterminated", FEED_URL)


def test_undeclared_html_entities_are_tolerated_when_entries_survive():
    body = b"""<rss version="2.0"><channel><title>A&nbsp;B</title>
      <item><title>Caf&eacute; &hellip;</title><link>https://e.org/1</link></item></channel></rss>"""
    [entry] = parse_feed(body, FEED_URL).entries
    assert entry.title == "Café …" and entry.url == "https://e.org/1"


def test_http_charset_is_honoured():
    body = "<rss><channel><item><title>Новости дня</title></item></channel></rss>".encode("cp1251")
    [entry] = parse_feed(body, FEED_URL, "text/xml; charset=windows-1251").entries
    assert entry.title == "Новости дня"


def test_a_feed_with_no_entries_is_still_a_feed():
    feed = parse_feed(b"<rss version='2.0'><channel><title>quiet</title></channel></rss>", FEED_URL)
    assert feed.title == "quiet" and feed.entries == ()


# Entry selection

def item(i: int, date: str | None) -> str:
    pub = f"<pubDate>{date}</pubDate>" if date else ""
    return f"<item><title>n{i}</title><link>https://e.org/{i}</link>{pub}</item>"


def test_max_entries_keeps_the_newest():
    days = [5, 17, 2, 28, 11, 9, 23, 1]
    body = "<rss version='2.0'><channel>" + "".join(
        item(d, f"{d:02d} Jan 2022 10:00:00 GMT") for d in days) + item(99, None) + "</channel></rss>"
    feed = parse_feed(body.encode(), FEED_URL, max_entries=3)
    assert [e.title for e in feed.entries] == ["n28", "n23", "n17"]
    assert len(parse_feed(body.encode(), FEED_URL).entries) == 9
    assert parse_feed(body.encode(), FEED_URL).entries[-1].title == "n99"  # undated last


def test_max_entries_without_dates_keeps_document_order():
    body = "<rss version='2.0'><channel>" + "".join(item(i, None) for i in range(10)) + "</channel></rss>"
    assert [e.title for e in parse_feed(body.encode(), FEED_URL, max_entries=4).entries] == ["n0", "n1", "n2", "n3"]


def test_entries_without_link_guid_or_title_are_dropped():
    body = b"""<rss version="2.0"><channel>
      <item><description>only a description</description></item>
      <item><guid isPermaLink="false">g-1</guid></item></channel></rss>"""
    assert [e.guid for e in parse_feed(body, FEED_URL).entries] == ["g-1"]

"""Sources beyond a hand-typed feed URL (issue 19): autodiscovery and config edits, news sitemaps, HTML list pages."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import pytest

from ingest import config as config_mod
from ingest.sources.sitemaps import MAX_BYTES, MAX_URLS, parse_sitemap
from tests.helpers.cli import invoke, sources_config
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss

RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}
NEWS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def home(*links: str, anchors: str = "") -> str:
    tags = "".join(f'<link rel="alternate" type="{t}" href="{h}">' for t, h in (link.split(" ") for link in links))
    return f"<html><head><title>Home</title>{tags}</head><body><p>hello</p>{anchors}</body></html>"


# -- autodiscovery and editing ---------------------------------------------------------------------------------

def test_add_follows_the_one_feed_link_of_a_home_page_and_keeps_the_config_text(tmp_path):
    config = sources_config(tmp_path)
    before = config.read_text()
    with LocalServer() as srv:
        srv.route("/", home("application/rss+xml /news.rss"), headers=HTML)
        srv.route("/news.rss", rss(srv, [("1", "/a/1.html", "One")]), headers=RSS)
        result = invoke(config, "sources", "add", srv.url("/"), "--every", "30m")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"added azatutyun-test-feed (feed {srv.url('/news.rss')}) to {config}\n"
    (source,) = config_mod.load(config).sources
    assert (source.name, source.url, source.every, source.type) == ("azatutyun-test-feed", srv.url("/news.rss"), 1800, "feed")
    text = config.read_text()
    assert text.startswith(before.split("[[watchlists]]")[0]) and "[[watchlists]]  # kept as written" in text


def test_three_feed_links_are_listed_and_one_is_picked(tmp_path):
    config = sources_config(tmp_path)
    with LocalServer() as srv:
        srv.route("/", home("application/rss+xml /rss.xml", "application/atom+xml /atom.xml",
                            "application/feed+json /feed.json"), headers=HTML)
        srv.route("/rss.xml", rss(srv, [("1", "/a/1.html", "One")]), headers=RSS)
        srv.route("/atom.xml", '<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom side</title><entry><id>x</id>'
                               '<title>t</title><link href="/a/2.html"/></entry></feed>', headers=XML)
        srv.route("/feed.json", '{"version": "https://jsonfeed.org/version/1.1", "title": "Json side", "items": '
                                '[{"id": "1", "url": "/a/3.html"}]}', headers={"Content-Type": "application/feed+json"})
        listed = invoke(config, "sources", "add", srv.url("/"))
        picked = invoke(config, "sources", "add", srv.url("/"), "--pick", "2", "--name", "atom-one")
    assert listed.exit_code == 2 and listed.stderr.count("\n") == 1 and "3 feeds found; choose one with --pick N" in listed.stderr
    assert listed.stdout.splitlines() == [f"1. feed {srv.url('/rss.xml')}  Azatutyun test feed",
                                          f"2. feed {srv.url('/atom.xml')}  Atom side",
                                          f"3. feed {srv.url('/feed.json')}  Json side"]
    assert picked.exit_code == 0, picked.output
    assert [(s.name, s.url) for s in config_mod.load(config).sources] == [("atom-one", srv.url("/atom.xml"))]


def test_a_page_without_links_finds_the_common_path_and_a_page_with_nothing_is_one_error(tmp_path):
    config = sources_config(tmp_path)
    with LocalServer() as srv:
        srv.route("/", home(), headers=HTML)
        srv.route("/feed", rss(srv, [("1", "/a/1.html", "One")]), headers=RSS)
        srv.route("/empty", home(), headers=HTML)
        found = invoke(config, "sources", "add", srv.url("/"), "--name", "site")
        srv.route("/feed", "not here", status=404)
        before = config.read_bytes()
        none = invoke(config, "sources", "add", srv.url("/empty"))
    assert found.exit_code == 0, found.output
    assert config_mod.load(config).sources[0].url == srv.url("/feed")
    assert none.exit_code == 1 and none.stderr.count("\n") == 1 and "no feed found" in none.stderr
    assert config.read_bytes() == before


def test_feed_looking_links_and_robots_sitemaps_are_found_last(tmp_path):
    config = sources_config(tmp_path)
    with LocalServer() as srv:
        srv.route("/", home(anchors='<a href="/about">about</a><a href="/syndication/rss/">RSS</a>'), headers=HTML)
        srv.route("/syndication/rss/", rss(srv, [("1", "/a/1.html", "One")]), headers=RSS)
        srv.route("/other", home(), headers=HTML)
        srv.route("/robots.txt", "User-agent: *\nDisallow:\nSitemap: /news-sitemap.xml\n",
                  headers={"Content-Type": "text/plain"})
        srv.route("/news-sitemap.xml", f"<urlset {NEWS}><url><loc>/a/1.html</loc></url></urlset>", headers=XML)
        by_link = invoke(config, "sources", "add", srv.url("/"), "--name", "by-link")
        by_robots = invoke(config, "sources", "add", srv.url("/other"), "--name", "by-robots")
    assert by_link.exit_code == 0 and by_robots.exit_code == 0, by_link.output + by_robots.output
    assert [(s.url, s.type) for s in config_mod.load(config).sources] == [
        (srv.url("/syndication/rss/"), "feed"), (srv.url("/news-sitemap.xml"), "sitemap")]


def test_pause_resume_and_remove(tmp_path, db_url):
    with LocalServer() as srv:
        srv.route("/feed.xml", rss(srv, [("1", "/a/1.html", "One")]), headers=RSS)
        config = sources_config(tmp_path, f'[[sources]]\nname = "a"\nurl = "{srv.url("/feed.xml")}"\n\n'
                                 f'[[sources]]\nname = "b"  # the second\nurl = "{srv.url("/feed.xml")}?b"\n\n', db_url)
        assert invoke(config, "sources", "pause", "a").stdout == f"paused a in {config}\n"
        fetched = invoke(config, "fetch")
        assert fetched.exit_code == 0 and fetched.stdout.splitlines()[-1] == "a: paused, not polled"
        assert srv.hits["/feed.xml"] == 1  # b only
        assert "a: never polled; type feed (paused: not polled)" in invoke(config, "sources").stdout
        assert invoke(config, "fetch", "--source", "a").exit_code == 2
        assert invoke(config, "sources", "resume", "a").exit_code == 0
        assert "paused" not in config.read_text()
        assert "a: 0 new, 1 duplicate" in invoke(config, "fetch", "--source", "a").stdout
        assert invoke(config, "sources", "remove", "a").exit_code == 0
    assert [s.name for s in config_mod.load(config).sources] == ["b"]
    assert 'name = "b"  # the second' in config.read_text()
    unknown = invoke(config, "sources", "pause", "nope")
    assert unknown.exit_code == 2 and "no source named 'nope' (known: b)" in unknown.stderr


def test_an_edit_that_would_not_load_is_refused_and_the_file_left_alone(tmp_path):
    config = sources_config(tmp_path, '[[sources]]\nname = "a"\nurl = "https://a.example/rss"\n\n')
    cfg = config_mod.load(config)
    config.write_text(config.read_text().replace('name = "a"', 'name = "a"\nevery = "often"'))
    before = config.read_bytes()
    result = invoke(config, "sources", "pause", "a")
    assert result.exit_code == 2 and "every: expected a duration" in result.stderr
    with pytest.raises(config_mod.ConfigError):
        from ingest.sources.editing import set_paused
        set_paused(cfg, "a", True)
    assert config.read_bytes() == before


# -- sitemaps ----------------------------------------------------------------------------------------------------

def news_url(srv: LocalServer, path: str, title: str, date: str, lang: str = "hy") -> str:
    return (f"<url><loc>{srv.url(path)}</loc><news:news><news:publication><news:name>X</news:name>"
            f"<news:language>{lang}</news:language></news:publication><news:publication_date>{date}"
            f"</news:publication_date><news:title>{title}</news:title></news:news></url>")


def test_a_sitemap_index_with_gzip_children_and_a_news_sitemap_is_one_item_with_the_rss_copy(tmp_path, db_url):
    with LocalServer() as srv:
        srv.route("/sitemap-index.xml", f'<sitemapindex {NEWS}><sitemap><loc>/news.xml.gz</loc>'
                  '<lastmod>2024-05-02</lastmod></sitemap><sitemap><loc>/old.xml.gz</loc><lastmod>2019-01-01</lastmod>'
                  '</sitemap></sitemapindex>', headers=XML)
        news = f'<urlset {NEWS}>{news_url(srv, "/a/1.html", "Armenia and the CSTO", "2024-05-02T10:00:00+04:00")}' \
               f'{news_url(srv, "/a/2.html", "Second", "2024-05-01")}</urlset>'
        srv.route("/news.xml.gz", gzip.compress(news.encode()), headers={"Content-Type": "application/x-gzip"})
        srv.route("/old.xml.gz", gzip.compress(f'<urlset {NEWS}>{news_url(srv, "/a/0.html", "Old", "2019-01-01", "en")}'
                                               '</urlset>'.encode()), headers={"Content-Type": "application/x-gzip"})
        srv.route("/feed.xml", rss(srv, [("g1", "/a/1.html", "Armenia and the CSTO")]), headers=RSS)
        config = sources_config(tmp_path, f'[[sources]]\nname = "sm"\nurl = "{srv.url("/sitemap-index.xml")}"\ntype = "sitemap"\n\n'
                                 f'[[sources]]\nname = "rss"\nurl = "{srv.url("/feed.xml")}"\n\n', db_url)
        first = invoke(config, "fetch", "--source", "sm")
        second = invoke(config, "fetch", "--source", "rss")
        again = invoke(config, "fetch", "--source", "sm")
    assert first.stdout == "sm: 3 new, 0 duplicate, 0 failed, 1 flagged\n", first.output
    assert second.stdout == "rss: 0 new, 1 duplicate, 0 failed, 0 flagged\n"  # the RSS copy is the sitemap's item
    assert again.stdout == "sm: 0 new, 0 duplicate, 0 failed, 0 flagged (not modified)\n"
    rows = [json.loads(line) for line in invoke(config, "export").stdout.splitlines()]
    assert sorted((r["title"], r["language"]) for r in rows) == [
        ("Armenia and the CSTO", "hy"), ("Old", "en"), ("Second", "hy")]
    assert "sm: ok; type sitemap;" in invoke(config, "sources").stdout


def test_a_50_mb_sitemap_and_a_gzip_bomb_are_one_clear_error(tmp_path):
    def streamed(request, out):  # 50 MB without Content-Length, written as it goes
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n<urlset>")
        chunk = b"<url><loc>http://127.0.0.1/x</loc></url>" * 25_000
        for _ in range(50_000_000 // len(chunk)):
            out.write(chunk)

    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    comment = b"<!--" + b"x" * 1_000_000 + b"-->"  # 1 MB each, dropped by the parser: only the inflate cap stops it
    body = bomb.compress(b"<urlset>") + b"".join(bomb.compress(comment) for _ in range(MAX_BYTES // len(comment) + 2))
    body += bomb.flush()
    with LocalServer() as srv:
        srv.route("/big.xml", handler=streamed)
        srv.route("/bomb.xml.gz", body, headers={"Content-Type": "application/x-gzip"})
        config = sources_config(tmp_path, f'[[sources]]\nname = "big"\nurl = "{srv.url("/big.xml")}"\ntype = "sitemap"\n\n'
                                 f'[[sources]]\nname = "bomb"\nurl = "{srv.url("/bomb.xml.gz")}"\ntype = "sitemap"\n\n')
        started = time.monotonic()
        result = invoke(config, "fetch")
    assert time.monotonic() - started < 30
    assert result.exit_code == 1, result.stdout
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["big"].startswith("FAILED ") and "exceeds the 10000000-byte cap" in lines["big"]
    assert lines["bomb"].startswith("FAILED ") and f"inflates to more than {MAX_BYTES} bytes" in lines["bomb"]


def test_a_sitemap_of_a_million_urls_is_read_to_the_bound_in_bounded_time():
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    parts = [packer.compress(b"<urlset>")]
    for block in range(100):
        parts.append(packer.compress("".join(f"<url><loc>/{block}/{i}</loc></url>" for i in range(10_000)).encode()))
    body = b"".join(parts) + packer.compress(b"</urlset>") + packer.flush()
    started = time.monotonic()
    feed = parse_sitemap(body, "http://127.0.0.1/s.xml.gz", max_entries=100)
    assert time.monotonic() - started < 10
    assert len(feed.entries) == 100
    assert feed.failed == (f"sitemap http://127.0.0.1/s.xml.gz: more than {MAX_URLS} entries; read the first {MAX_URLS}",)


def test_only_the_kept_sitemap_urls_are_resolved_and_dated(monkeypatch):
    """Links and dates of the URLs a poll keeps are read, not all 50,000: the cost of a big sitemap is its parse."""
    from ingest.sources import sitemaps

    calls = {"web_url": 0, "parse_date": 0}

    def counted(name, function):
        def call(*args):
            calls[name] += 1
            return function(*args)
        return call

    monkeypatch.setattr(sitemaps, "web_url", counted("web_url", sitemaps.web_url))
    monkeypatch.setattr(sitemaps, "parse_date", counted("parse_date", sitemaps.parse_date))
    urls = "".join(f"<url><loc>/a/{i}</loc><lastmod>2024-01-01T00:{i % 60:02d}:{i // 60 % 60:02d}Z</lastmod></url>"
                   for i in range(2000))
    newest = ("<url><loc>javascript:alert(1)</loc><news:news><news:publication_date>2024-06-01</news:publication_date>"
              "</news:news></url>"  # newest but not a web link: skipped, the next one is kept instead
              "<url><loc>/late</loc><news:news><news:publication_date>Sat, 01 Jun 2024 00:00:00 +0200"
              "</news:publication_date><news:language>hy-AM</news:language></news:news><lastmod>2020-01-01</lastmod></url>")
    feed = parse_sitemap(f"<urlset {NEWS}>{urls}{newest}</urlset>".encode(), "http://127.0.0.1/s.xml", max_entries=3)
    assert [e.url for e in feed.entries] == ["http://127.0.0.1/late", "http://127.0.0.1/a/1979", "http://127.0.0.1/a/1919"]
    assert feed.entries[0].language == "hy" and str(feed.entries[0].published) == "2024-05-31 22:00:00+00:00"
    assert calls["web_url"] == 4 and calls["parse_date"] <= 2 * 4 + 1  # the RFC 2822 date is also read to order it


def test_html_served_as_a_sitemap_is_not_a_sitemap(tmp_path):
    with LocalServer() as srv:
        srv.route("/s.xml", home(), headers=HTML)
        config = sources_config(tmp_path, f'[[sources]]\nname = "s"\nurl = "{srv.url("/s.xml")}"\ntype = "sitemap"\n\n')
        result = invoke(config, "fetch")
    assert result.exit_code == 1 and result.stdout == "s: FAILED not a sitemap: root element <html> is not <urlset> or <sitemapindex>\n"


# -- HTML list pages ---------------------------------------------------------------------------------------------

LIST_PAGE = """<html><head><title>Latest</title></head><body><nav><a href="/">home</a></nav>
<div class="story"><h2><a href="/a/1.html?utm_source=list">Armenia and the CSTO</a></h2><time datetime="2024-05-02T08:00:00Z">2 May</time></div>
<div class="story"><h2><a href="/a/2.html">Second story</a></h2><time>2024-05-01</time></div>
<div class="story"><h2>An ad without a link</h2></div></body></html>"""
SELECT = 'select = {items = "div.story", link = "h2 a", title = "h2", date = "time"}\n'


def test_a_list_page_becomes_entries_with_a_stable_id(tmp_path, db_url):
    with LocalServer() as srv:
        srv.route("/latest", LIST_PAGE, headers=HTML)
        config = sources_config(tmp_path, f'[[sources]]\nname = "list"\nurl = "{srv.url("/latest")}"\ntype = "html"\n{SELECT}\n', db_url)
        preview = invoke(config, "check-source", "list")
        first = invoke(config, "fetch")
        srv.route("/latest", LIST_PAGE.replace("Second story", "Second story, restyled").replace("<h2>", "<h2 class=x>"),
                  headers=HTML)
        again = invoke(config, "fetch")
    assert preview.exit_code == 0, preview.output
    assert f"== {srv.url('/a/1.html?utm_source=list')}\n-- entry: title 'Armenia and the CSTO'; published 2024-05-02 08:00:00+00:00" \
        in preview.stdout
    assert "entry: title 'Second story'; published 2024-05-01 00:00:00+00:00" in preview.stdout
    assert first.stdout == "list: 2 new, 0 duplicate, 1 failed, 1 flagged\n"
    assert again.stdout == "list: 0 new, 2 duplicate, 1 failed, 0 flagged\n"  # restyled and retitled: the same stories
    assert "item 3: selector link 'h2 a' found no http(s) link in it" in invoke(config, "sources").stdout


def test_a_selector_that_matches_nothing_is_one_clear_error(tmp_path):
    with LocalServer() as srv:
        srv.route("/latest", LIST_PAGE, headers=HTML)
        config = sources_config(tmp_path, f'[[sources]]\nname = "list"\nurl = "{srv.url("/latest")}"\ntype = "html"\n'
                                 'select = {items = "article.story", link = "a", title = "h2"}\n\n')
        fetched = invoke(config, "fetch")
        checked = invoke(config, "check-source", "list")
    assert fetched.exit_code == 1
    assert fetched.stdout == "list: FAILED selector items 'article.story' matched nothing on the page\n"
    assert checked.exit_code == 1 and checked.stderr.count("\n") == 1 and "matched nothing" in checked.stderr


@pytest.mark.parametrize("table, error", [
    ('type = "html"\n', "select (CSS selectors items, link, title, date) is required by type = \"html\""),
    ('type = "sitemap"\n' + SELECT, "select (CSS selectors items, link, title, date) is only for type = \"html\""),
    ('type = "rss"\n', "type must be one of feed, sitemap, html, got 'rss'"),
    ('type = "html"\nselect = {items = "div[", link = "a", title = "h2"}\n', "'items': bad CSS selector 'div['"),
    ('type = "html"\nselect = {items = "div", title = "h2"}\n', "'link' required"),
    ('paused = "yes"\n', "'sources[0].paused' must be of type bool"),
])
def test_bad_source_tables_are_config_errors(tmp_path, table, error):
    config = sources_config(tmp_path, f'[[sources]]\nname = "a"\nurl = "https://a.example/"\n{table}\n')
    with pytest.raises(config_mod.ConfigError, match=None) as caught:
        config_mod.load(config)
    assert error in str(caught.value) and str(config) in str(caught.value)

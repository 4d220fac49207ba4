"""Fake news sites: feeds and article pages to serve from a `LocalServer`."""

from __future__ import annotations

import html
import random

from tests.helpers.servers import LocalServer

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


def rss(srv: LocalServer, items: list[tuple[str, str, str]], build: str = "Fri, 10 Jun 2022 12:00:00 GMT") -> str:
    """An RSS 2.0 document; items are (guid, path on `srv`, title)."""
    entries = "".join(
        f"<item><title>{title}</title><link>{srv.url(path)}</link><guid isPermaLink=\"false\">{guid}</guid>"
        f"<pubDate>Fri, 10 Jun 2022 08:36:20 GMT</pubDate><description>{title} summary.</description></item>"
        for guid, path, title in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Azatutyun test feed</title>'
        f"<link>{srv.url('/')}</link><description>test</description><lastBuildDate>{build}</lastBuildDate>"
        f"{entries}</channel></rss>"
    )


def dated_rss(base: str, items: list[tuple[str, str, str]]) -> str:
    """RSS 2.0 with a distinct date per entry; items are (guid, absolute link, title)."""
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><guid isPermaLink=\"false\">{g}</guid>"
                      f"<pubDate>Fri, 10 Jun 2022 08:{i:02d}:00 GMT</pubDate><description>{t}.</description></item>"
                      for i, (g, link, t) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><link>{base}</link>'
            f"<description>d</description>{entries}</channel></rss>")


def rss_of(entries: list[tuple[str, str, str]], build: str = "1") -> str:
    """Undated RSS 2.0; entries are (guid, absolute link, title)."""
    xml = "".join(f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
                  f"<guid isPermaLink=\"false\">{g}</guid></item>" for g, link, t in entries)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
            f"<description>d</description><lastBuildDate>{build}</lastBuildDate>{xml}</channel></rss>")


def serve_feed(srv: LocalServer, path: str, entries, build: str = "1") -> None:
    srv.route(path, rss_of(entries, build), headers=RSS)


def serve_page(srv: LocalServer, path: str, body: bytes) -> None:
    srv.route(path, body, headers=HTML)


def page(title: str, paragraphs: list[str], canonical: str | None = None, site: str = "Example News",
         nav: tuple[str, ...] = ("World", "Politics", "Business", "Sport")) -> bytes:
    """A realistic news page: navigation, share bar, body, related links, footer."""
    canon = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    menu = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in nav)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | {site}</title>'
        f'<meta property="og:site_name" content="{site}">{canon}</head><body>'
        f'<header><nav class="menu"><ul>{menu}</ul></nav></header>'
        f'<main><article><h1>{html.escape(title)}</h1><div class="share">Share on Facebook Share on Twitter</div>'
        f'<div class="article-body">{body}</div></article>'
        f'<aside class="related"><h3>Related</h3><ul><li><a href="/x">Other story one</a></li>'
        f'<li><a href="/y">Other story two</a></li></ul></aside></main>'
        f'<footer><p>© {site}. All rights reserved.</p><a href="/privacy">Privacy</a></footer></body></html>'
    ).encode()


WORDS = ("harbour council budget river station teacher winter market bridge railway museum festival "
         "minister village tunnel airport factory clinic library stadium orchard ferry tower garden").split()


def unique_page(title: str, seed: int, paragraphs: int = 4) -> str:
    """A small article page whose body no other page shares (so no two are one story)."""
    rng = random.Random(seed)
    body = "".join(f"<p>{' '.join(rng.choice(WORDS) for _ in range(40))} ({seed}.{i}).</p>"
                   for i in range(paragraphs))
    return (f"<!doctype html><html lang=en><head><title>{title}</title></head><body><nav><a href=/>Home</a></nav>"
            f"<article><h1>{title}</h1>{body}</article><footer>© Test</footer></body></html>")

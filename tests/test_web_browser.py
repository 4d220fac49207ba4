"""The web app in a real headless Chromium (Debian's `chromium`, driven by Playwright), as a person uses it.

The store is filled by a real `ingest fetch` from a loopback feed farm; the app runs on loopback in a
thread. In CI (CI=true) a missing Chromium fails these tests instead of skipping them.
Also writes the README's screenshots (1280x800) into docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from ingest import config as config_mod
from ingest.storage.store import Store
from ingest.web.app import WebServer
from tests.helpers.cli import ingest
from tests.helpers.webfarm import TITLES, filled

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

if not (os.path.exists(CHROMIUM) and shutil.which("chromium")):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium): .ci/run installs it",
                    pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)
from playwright import sync_api  # noqa: E402  (in the test extra: an import error fails, never skips)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def app(tmp_path):
    """A filled SQLite store served on loopback (and, for sign-in, on every address) in threads."""
    config = filled(tmp_path)
    cfg = config_mod.load(config)
    store = Store(cfg.database_url)
    store.prepare()
    servers = []

    def serve(host: str = "127.0.0.1") -> str:
        server = WebServer(cfg, store, (host, 0)).start()
        servers.append(server)
        for _ in range(100):
            if server.server.started:
                break
            time.sleep(0.05)
        return f"http://127.0.0.1:{server.port}"

    yield config, serve
    for server in servers:
        server.close()
    store.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    p = context.new_page()
    dialogs: list[str] = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p.dialogs = dialogs
    yield p
    context.close()


def test_read_the_inbox_with_the_keyboard_and_mark_a_story_reviewed(app, page):
    config, serve = app
    base = serve()
    page.goto(base + "/")
    rows = page.locator("li.entry")
    assert rows.count() == 2  # the seed story and the hostile one; the unflagged metro story is not listed
    page.keyboard.press("j")
    assert page.locator("li.entry.current").count() == 1
    first = page.locator("li.entry.current .entry-title a").inner_text()
    page.keyboard.press("j")
    assert page.locator("li.entry.current .entry-title a").inner_text() != first
    page.keyboard.press("k")
    assert page.locator("li.entry.current .entry-title a").inner_text() == first
    # Select the seed story and open it with o.
    while page.locator("li.entry.current .entry-title a").inner_text() != TITLES["seed"]:
        page.keyboard.press("j")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r"/items/\d+$"))
    # The hit is highlighted in the paragraph that holds it, and its watchlist is named.
    mark = page.locator("p", has_text="The Armenian government appealed").locator("mark[data-watchlist=article-2]")
    assert mark.inner_text() == "Article 2"
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert page.locator(".hits").inner_text().count("article-2") >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "item.png"))
    # r marks it reviewed; back in the inbox the story is gone (the inbox shows unreviewed stories).
    page.keyboard.press("r")
    page.wait_for_load_state()
    assert page.locator(".triage .badge.state").inner_text() == "reviewed"
    page.goto(base + "/")
    assert TITLES["seed"] not in page.locator("main").inner_text()
    assert page.locator("li.entry").count() == 1
    page.select_option("select[name=state]", "reviewed")
    page.click("text=Filter")
    assert TITLES["seed"] in page.locator("main").inner_text()
    assert any(i["title"] == TITLES["seed"] for i in _items(config, "--state", "reviewed"))


def test_hostile_titles_stay_text_and_screenshots(app, page):
    _, serve = app
    base = serve()
    page.goto(base + "/")
    hostile = page.locator("li.entry .entry-title a", has_text="<script>")
    assert "onerror" in hostile.inner_text()  # shown as text...
    assert page.evaluate("() => window.pwned") is None  # ...never run
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))
    hostile.click()
    assert page.evaluate("() => window.pwned") is None and page.dialogs == []
    assert "<script>" in page.locator("h1.title").inner_text()
    # Path traversal: 404.
    for path in ("/static/../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml"):
        assert page.goto(base + path).status == 404


def test_sign_in_and_out_when_listening_beyond_loopback(app, page):
    config, serve = app
    ingest(config, "users", "add", "ana", "--password", "correct horse")
    base = serve("0.0.0.0")
    page.goto(base + "/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))
    page.fill("input[name=name]", "ana")
    page.fill("input[name=password]", "not it")
    page.click("button[type=submit]")
    assert "Wrong name or password" in page.locator("main").inner_text()
    page.fill("input[name=name]", "ana")
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert page.locator("li.entry").count() == 2 and "ana" in page.locator("header").inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == "ingest_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/login"))
    assert page.goto(base + "/api/v1/items").status == 401


def test_use_the_rule_tester(app, page):
    _, serve = app
    base = serve()
    page.goto(base + "/")
    page.click("nav >> text=Watchlists")
    assert page.locator("tr#watchlist-csto svg.chart rect").count() == 1
    # Start from a configured rule and change it.
    page.click("tr#watchlist-article-2 >> text=Edit in tester")
    assert 'name = "article-2"' in page.input_value("#rule")
    page.fill("#rule", '[[watchlists]]\nname = "summit"\nterms = ["summit"]\nnot = ["onerror"]\n')
    page.click("text=Test rule")
    # "not onerror": the seed's summit stays, the hostile one (its title has an onerror) goes.
    assert "flags 1 of the 3 newest stored items" in page.locator(".trial-summary").inner_text()
    flagged = page.locator(".trial li.entry")
    assert flagged.count() == 1 and TITLES["seed"] in flagged.inner_text()
    assert flagged.locator("mark[data-watchlist=summit]").first.inner_text().lower() == "summit"
    assert 'not = [\n    "onerror",\n]' in page.locator("#toml").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "watchlists.png"), full_page=True)
    # A broken rule: the message says what is wrong, and the text is still there to fix.
    page.fill("#rule", '[[watchlists]]\nname = "summit"\nterms = ["summit"\n')
    page.click("text=Test rule")
    assert "not valid TOML" in page.locator("#rule-error").inner_text()
    assert 'terms = ["summit"' in page.input_value("#rule")
    assert page.evaluate("() => window.pwned") is None


def test_save_a_search_and_open_it(app, page):
    _, serve = app
    base = serve()
    page.goto(base + "/")
    page.select_option("select[name=watchlist]", "article-2")
    page.click("text=Filter")
    assert page.locator("li.entry").count() == 1
    page.fill("form.save-search input[name=name]", "article 2")
    page.click("text=Save this search")
    page.wait_for_url(base + "/searches")
    row = page.locator("tr.entry", has_text="article 2")
    assert "watchlist: article-2, state: unreviewed" in row.inner_text()
    assert row.locator(".badge.unread").count() == 0  # what is stored now counts as read
    assert row.locator("a", has_text="Atom").get_attribute("href").endswith(".atom")
    row.locator("a", has_text="article 2").click()
    page.wait_for_url(re.compile(r"/\?watchlist=article-2&state=unreviewed$"))
    assert page.locator("li.entry").count() == 1 and TITLES["seed"] in page.locator("li.entry").inner_text()


def test_compare_revisions_and_read_metadata_provenance(tmp_path, page):
    from tests.helpers.cli import write_config
    from tests.helpers.paths import SEED_PAGE
    from tests.helpers.site import rss
    from tests.helpers.webfarm import farm

    with farm() as srv:
        config = write_config(tmp_path, [("azatutyun-test", srv.url("/feed.xml"))])
        ingest(config, "fetch")
        corrected = SEED_PAGE.read_bytes().decode().replace("for help shortly after", "for urgent help soon after")
        srv.route("/a/seed.html", corrected.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/feed.xml", rss(srv, [("seed", "/a/seed.html", "seed, corrected"), ("other", "/a/other.html", "other"),
                                         ("hostile", "/a/hostile.html", "hostile")], build="2"),
                  headers={"Content-Type": "application/rss+xml"})
        ingest(config, "fetch")
    cfg = config_mod.load(config)
    store = Store(cfg.database_url)
    store.prepare()
    server = WebServer(cfg, store, ("127.0.0.1", 0)).start()
    try:
        seed = next(i["id"] for i in _items(config) if i["title"] == TITLES["seed"])
        page.goto(f"http://127.0.0.1:{server.port}/items/{seed}")
        assert page.locator("#metadata td", has_text="title").count() >= 1
        page.click("#revisions")
        page.wait_for_url(re.compile(rf"/items/{seed}/revisions$"))
        assert "for help shortly after" in page.locator("#diff .removed").inner_text()
        assert "for urgent help soon after" in page.locator("#diff .added").inner_text()
        assert page.locator("#diff .added ins").all_inner_texts() == ["urgent", "soon"]
        assert page.locator("#diff .removed del").all_inner_texts() == ["shortly"]
        page.screenshot(path=str(SCREENSHOTS / "revisions.png"))
        page.select_option("select[name=a]", "1")
        page.click("text=Compare")
        assert page.locator("#diff .removed").count() == 0
    finally:
        server.close()
        store.close()


def test_poll_a_source_now_from_the_sources_page(tmp_path, page):
    from tests.helpers.cli import write_config
    from tests.helpers.webfarm import farm

    with farm() as srv:
        config = write_config(tmp_path, [("azatutyun-test", srv.url("/feed.xml"))])
        cfg = config_mod.load(config)
        store = Store(cfg.database_url)
        store.prepare()
        server = WebServer(cfg, store, ("127.0.0.1", 0)).start()
        try:
            page.goto(f"http://127.0.0.1:{server.port}/sources")
            row = page.locator("tr#source-azatutyun-test")
            assert "never polled" in row.inner_text()
            row.locator("button", has_text="Poll now").click()
            page.wait_for_url(re.compile(r"/sources#source-azatutyun-test$"))
            for _ in range(200):  # the poll runs in the background; the page says so until it is done
                if "3 new" in row.inner_text():
                    break
                time.sleep(0.1)
                page.reload()
            assert "azatutyun-test: 3 new" in row.inner_text() and "100% with a body" in row.inner_text()
            assert row.locator("svg.chart rect").count() == 1  # one day with items: today
            assert "3 in 30 days" in row.locator("svg.chart").get_attribute("aria-label")
            assert srv.hits["/feed.xml"] == 1
            page.screenshot(path=str(SCREENSHOTS / "sources.png"))
        finally:
            server.close()
            store.close()
    assert len(_items(config)) == 3


def _items(config, *args):
    return json.loads(ingest(config, "query", "--format", "json", *args).stdout or "[]")

"""The web app and JSON API over a store filled by a real `ingest fetch`, on both backends (no browser here:
tests/test_web_browser.py drives Chromium)."""

from __future__ import annotations

import json
import re
import warnings

import pytest

from ingest import config as config_mod
from ingest.storage.store import Store
from ingest.web.app import WebSettings, create_app
from tests.helpers.cli import ingest, items
from tests.helpers.webfarm import HOSTILE_TITLE, TITLES, filled

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def site(tmp_path, db_url):
    config = filled(tmp_path, db_url)
    cfg = config_mod.load(config)
    store = Store(cfg.database_url)
    store.prepare()
    yield config, cfg, store
    store.close()


def client(cfg, store, host: str = "127.0.0.1") -> TestClient:
    return TestClient(create_app(cfg, store, WebSettings(host=host)), base_url="http://127.0.0.1",
                      follow_redirects=False)


def ids(config) -> dict[str, int]:
    return {i["title"]: i["id"] for i in items(config)}


def test_inbox_item_story_and_api_agree_with_the_cli(site):
    config, cfg, store = site
    c = client(cfg, store)
    by_title = ids(config)
    seed = by_title[TITLES["seed"]]
    inbox = c.get("/")
    assert inbox.status_code == 200
    # Flagged stories only: the seed and the hostile one, not the unflagged metro story.
    assert TITLES["seed"] in inbox.text and TITLES["other"] not in inbox.text
    assert re.search(r'<mark class="hit" title="csto" data-watchlist="csto">CSTO</mark>', inbox.text)
    assert '<span class="badge">article-2</span>' in inbox.text
    # The item view: "Article 2" highlighted in the paragraph the hit names, and the watchlist named.
    record = json.loads(ingest(config, "show", str(seed), "--format", "json").stdout)
    hit = next(h for h in record["hits"] if h["watchlist"] == "article-2")
    page = c.get(f"/items/{seed}").text
    paragraph = re.search(rf'<p id="b{hit["block"]}">(.*?)</p>', page, re.S).group(1)
    assert '<mark class="hit" title="article-2" data-watchlist="article-2">Article 2</mark>' in paragraph
    assert f'href="{record["url"]}"' in page and f'href="/stories/{record["story"]}"' in page
    # Lead image: linked, never loaded.
    assert "<img" not in page
    story = c.get(f"/stories/{record['story']}")
    assert story.status_code == 200 and TITLES["seed"] in story.text
    # The API's records are the CLI's.
    api = c.get(f"/api/v1/items/{seed}").json()
    assert {k: v for k, v in api.items() if k != "triage"} == record
    listed = c.get("/api/v1/items", params={"watchlist": "article-2"}).json()
    assert [i["id"] for i in listed["items"]] == [i["id"] for i in items(config, "--watchlist", "article-2")]
    assert c.get("/api/v1/stories").json()["stories"][0]["outlets"]
    assert {s["name"] for s in c.get("/api/v1/sources").json()["sources"]} == {"azatutyun-test"}
    assert {w["name"] for w in c.get("/api/v1/watchlists").json()["watchlists"]} == {"csto", "article-2"}
    assert "/api/v1/items" in c.get("/api/v1/openapi.json").json()["paths"]
    assert c.get("/watchlists/csto.atom").headers["content-type"].startswith("application/atom+xml")
    assert c.get("/sources").status_code == 200


def test_search_filters_and_cursor_paging(site):
    config, cfg, store = site
    c = client(cfg, store)
    found = c.get("/", params={"q": '"Collective Security"'})
    assert TITLES["seed"] in found.text and "CSTO summit" not in found.text
    assert c.get("/", params={"q": "nothingmatchesthis"}).text.count('class="entry"') == 0
    first = c.get("/api/v1/items", params={"limit": 1}).json()
    second = c.get("/api/v1/items", params={"limit": 1, "cursor": first["next"]}).json()
    assert first["next"] and second["items"][0]["id"] != first["items"][0]["id"]
    cli = [i["id"] for i in items(config, "--limit", "2")]
    assert [first["items"][0]["id"], second["items"][0]["id"]] == cli


@pytest.mark.parametrize("path, status, words", [
    ("/items/999999", 404, "no item with id 999999"),
    ("/items/abc", 400, "item_id"),
    ("/stories/999999", 404, "no story"),
    ("/?cursor=bm90IGEgY3Vyc29y", 400, "cursor"),
    ("/?q=%22unbalanced", 400, "unbalanced quote"),
    ("/?since=someday", 400, "since"),
    ("/?state=maybe", 400, "state"),
    ("/static/../app.py", 404, "nothing at"),
    ("/static/%2e%2e/%2e%2e/pyproject.toml", 404, "nothing at"),
    ("/static/..%2fapp.py", 404, "nothing at"),
    ("/watchlists/..%2f..%2fetc.atom", 404, "nothing at"),
    ("/watchlists/nope.atom", 404, "no watchlist"),
])
def test_bad_input_is_a_clear_4xx_page_or_json_error(site, path, status, words):
    _, cfg, store = site
    c = client(cfg, store)
    page = c.get(path)
    assert page.status_code == status and words in page.text and page.headers["content-type"].startswith("text/html")
    if not path.startswith(("/static", "/watchlists", "/?")):
        api = c.get("/api/v1" + path)
        assert api.status_code == status and words in api.json()["error"]
    if path.startswith("/?"):
        api = c.get("/api/v1/items" + path[1:])
        assert api.status_code == status and api.json()["status"] == status


def test_hostile_text_is_inert_and_headers_are_strict(site):
    config, cfg, store = site
    c = client(cfg, store)
    hostile = next(i for t, i in ids(config).items() if "<script>" in (t or ""))
    for path in ("/", f"/items/{hostile}", "/?q=summit"):
        page = c.get(path)
        assert "<script>window" not in page.text and "<img" not in page.text
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page.text
        assert page.headers["x-content-type-options"] == "nosniff"
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    # The only scripts are same-origin files.
    assert re.findall(r"<script[^>]*>", c.get("/").text) == ['<script src="/static/app.js" defer>']
    # A page elsewhere cannot reach the loopback app through DNS rebinding.
    assert c.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_triage_marks_reviewed_and_the_story_leaves_the_inbox_and_the_cli_agrees(site):
    config, cfg, store = site
    c = client(cfg, store)
    seed = ids(config)[TITLES["seed"]]
    cookie = c.get("/").headers["set-cookie"]
    assert "ingest_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    token = c.cookies["ingest_csrf"]
    # Without the CSRF token (a form posted from another site): refused, nothing changed.
    refused = c.post("/triage", data={"item": str(seed), "action": "reviewed"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert c.post("/triage", data={"item": str(seed), "action": "reviewed", "csrf": "forged"}).status_code == 403
    assert TITLES["seed"] in c.get("/").text
    done = c.post("/triage", data={"item": str(seed), "action": "reviewed", "csrf": token, "next": "//evil.example/"})
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert TITLES["seed"] not in c.get("/").text
    assert TITLES["seed"] in c.get("/", params={"state": "reviewed"}).text
    assert seed not in [i["id"] for i in items(config, "--state", "unreviewed")]
    assert [i["id"] for i in items(config, "--state", "reviewed")] == [seed]
    c.post("/triage", data={"item": str(seed), "action": "labels", "labels": "border, csto", "csrf": token})
    c.post("/triage", data={"item": str(seed), "action": "note", "note": "check <b>this</b>", "csrf": token})
    state = c.get(f"/api/v1/items/{seed}/triage").json()
    assert state["reviewed"] and state["labels"] == ["border", "csto"] and state["note"] == "check <b>this</b>"
    assert "check &lt;b&gt;this&lt;/b&gt;" in c.get(f"/items/{seed}").text
    # The API: a session-less write needs the CSRF header; a bad action is a JSON 400.
    assert c.post("/api/v1/triage", json={"items": [seed], "action": "star"}).status_code == 403
    ok = c.post("/api/v1/triage", json={"items": [seed], "action": "star"}, headers={"X-CSRF-Token": token})
    assert ok.json() == {"changed": 1}
    bad = c.post("/api/v1/triage", json={"items": [seed], "action": "explode"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    assert [i["id"] for i in items(config, "--state", "starred")] == [seed]


def test_beyond_loopback_everything_needs_a_user(site):
    config, cfg, store = site
    c = client(cfg, store, host="0.0.0.0")
    first = c.get("/")
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/"
    assert c.get("/api/v1/items").status_code == 401 and "sign in" in c.get("/api/v1/items").json()["error"]
    assert c.get("/items/1").status_code == 303
    assert c.post("/api/v1/triage", json={"items": [1], "action": "star"}).status_code == 401
    ingest(config, "users", "add", "ana", "--password", "correct horse")
    token = ingest(config, "users", "token", "ana").stdout.strip()
    # Scripts: a bearer token, no CSRF needed (no browser sends one by itself).
    bearer = {"Authorization": f"Bearer {token}"}
    assert c.get("/api/v1/items", headers=bearer).status_code == 200
    assert c.get("/api/v1/items", headers={"Authorization": "Bearer wrong"}).status_code == 401
    seed = ids(config)[TITLES["seed"]]
    assert c.post("/api/v1/triage", json={"items": [seed], "action": "dismiss"}, headers=bearer).json() == {"changed": 1}
    assert c.get(f"/api/v1/items/{seed}/triage", headers=bearer).json()["updated_by"] == "ana"
    # People: a session cookie from /login (CSRF-checked too).
    form = c.get("/login")
    token = c.cookies["ingest_csrf"]
    assert form.status_code == 200
    assert c.post("/login", data={"name": "ana", "password": "correct horse"}).status_code == 403
    wrong = c.post("/login", data={"name": "ana", "password": "wrong password", "csrf": token})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    signed = c.post("/login", data={"name": "ana", "password": "correct horse", "csrf": token, "next": "/sources"})
    assert signed.status_code == 303 and signed.headers["location"] == "/sources"
    cookie = signed.headers["set-cookie"]
    assert "ingest_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert c.get("/").status_code == 200 and "ana" in c.get("/").text
    assert c.post("/logout", data={"csrf": token}).headers["location"] == "/login"
    assert c.get("/").status_code == 303
    # Behind a TLS-terminating proxy the cookie is Secure.
    tls = c.post("/login", data={"name": "ana", "password": "correct horse", "csrf": token},
                 headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in tls.headers["set-cookie"]


def test_ingest_run_serves_the_app_on_web_listen(tmp_path):
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    config = filled(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config.write_text(config.read_text().replace("[fetch]", f'[web]\nlisten = "127.0.0.1:{port}"\n\n[fetch]'))
    log = open(tmp_path / "daemon.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"], stdout=log, stderr=log)
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(200):
            try:
                with opener.open(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    assert r.status == 200 and TITLES["seed"] in r.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"no web app on port {port}: {log.seek(0) or log.read()}")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0


def _wait(condition, seconds: float = 30):
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sources_page_charts_health_and_poll_now_through_the_pipeline(tmp_path, db_url):
    from tests.helpers.cli import write_config
    from tests.helpers.webfarm import farm

    with farm() as srv:
        config = write_config(tmp_path, [("azatutyun-test", srv.url("/feed.xml"))], db_url=db_url)
        cfg = config_mod.load(config)
        store = Store(cfg.database_url)
        store.prepare()
        try:
            c = client(cfg, store)
            page = c.get("/sources")
            assert "never polled" in page.text and "Poll now" in page.text and "<svg" in page.text
            token = c.cookies["ingest_csrf"]
            assert c.post("/sources/azatutyun-test/poll").status_code == 403  # CSRF
            assert c.post("/sources/nope/poll", data={"csrf": token}).status_code == 404
            done = c.post("/sources/azatutyun-test/poll", data={"csrf": token})
            assert done.status_code == 303 and done.headers["location"] == "/sources#source-azatutyun-test"
            _wait(lambda: "azatutyun-test" in c.app.state.poller.last)
            assert c.app.state.poller.last["azatutyun-test"].summary.startswith("azatutyun-test: 3 new")
            assert srv.hits["/feed.xml"] == 1
            # The poll went through the pipeline: what `ingest fetch` stores, the CLI now sees.
            assert {i["title"] for i in items(config)} >= {TITLES["seed"], TITLES["other"]}
            page = c.get("/sources").text
            assert "azatutyun-test: 3 new" in page and '<span class="state state-ok">ok</span>' in page
            assert "100% with a body" in page and "3 entries" in page
            # Today's bar: 3 items, with its count as a tooltip; the API gives the same numbers.
            assert re.search(r"<rect [^>]*><title>\d{4}-\d\d-\d\d: 3</title></rect>", page)
            api = c.get("/api/v1/sources").json()["sources"][0]
            assert api["items"] == 3 and sum(d["count"] for d in api["per_day"]) == 3 and len(api["per_day"]) == 30
            # The API: a write, so the CSRF header (or a bearer token) is needed.
            assert c.post("/api/v1/sources/azatutyun-test/poll").status_code == 403
            started = c.post("/api/v1/sources/azatutyun-test/poll", headers={"X-CSRF-Token": token})
            assert started.status_code == 202 and started.json()["source"] == "azatutyun-test"
            _wait(lambda: srv.hits["/feed.xml"] == 2 and not c.app.state.poller.running)
            assert len(items(config)) == 3  # nothing stored twice
        finally:
            store.close()


def test_watchlists_page_and_rule_tester_on_stored_items(site):
    import html
    import tomllib

    from ingest.watchlists import Watchlist

    config, cfg, store = site
    c = client(cfg, store)
    page = c.get("/watchlists").text
    csto = next(w for w in cfg.watchlists if w.name == "csto")
    assert f"<code>{csto.version}</code>" in page and "Rule tester" in page
    assert re.search(r'aria-label="csto items flagged per day: 2 in 30 days', page)  # the seed and the hostile item
    # Start from the configured rule: its TOML, as config.toml has it.
    edit = c.get("/watchlists", params={"edit": "article-2"}).text
    assert "name = &#34;article-2&#34;" in edit and "Article 2" in edit
    assert c.get("/watchlists", params={"edit": "nope"}).status_code == 404
    rule = '[[watchlists]]\nname = "summit"\nterms = ["summit"]\nnot = ["Eurovision"]\n'
    tried = c.get("/watchlists/test", params={"rule": rule})
    assert tried.status_code == 200
    # The seed and the hostile article mention a summit; the metro one does not.
    assert "flags <strong>2</strong> of the 3 newest stored items" in tried.text
    assert TITLES["seed"] in tried.text and TITLES["other"] not in tried.text
    assert '<mark class="hit" title="summit" data-watchlist="summit">summit</mark>' in tried.text
    assert "&lt;script&gt;" in tried.text and "<script>window" not in tried.text  # the hostile item, inert
    toml = re.search(r'<pre class="toml" id="toml">(.*?)</pre>', tried.text, re.S).group(1)
    table = tomllib.loads(html.unescape(toml))["watchlists"][0]
    assert Watchlist.from_config(table, "x").version == Watchlist.from_config(tomllib.loads(rule)["watchlists"][0], "x").version
    # Bad rules: a 400 that says what is wrong, the pasted text kept for fixing; never a 500.
    for bad, words in [('[[watchlists]]\nname = "x"\nterms = [', "not valid TOML"),
                       ('[[watchlists]]\nname = "x"\n', "needs at least one of"),
                       ('[[watchlists]]\nname = "x"\nterms = ["a"]\ncolour = "red"\n', "unknown key 'colour'"),
                       ('name = "x"\nregex = ["(unclosed"]\n', "regex"),
                       ('[[watchlists]]\nname="a"\nterms=["a"]\n[[watchlists]]\nname="b"\nterms=["b"]\n', "exactly one"),
                       ("", "empty")]:
        answer = c.get("/watchlists/test", params={"rule": bad})
        assert answer.status_code == 400 and words in html.unescape(answer.text)
        assert 'id="rule-error"' in answer.text
        api = c.post("/api/v1/watchlists/test", json={"rule": bad})
        assert api.status_code == 400 and words in api.json()["error"]
    assert c.get("/watchlists/test", params={"rule": rule, "limit": 0}).status_code == 400
    # The API answers as the page does.
    api = c.post("/api/v1/watchlists/test", json={"rule": rule, "limit": 10}).json()
    assert api["tested"] == 3 and len(api["flagged"]) == 2 and api["toml"] == html.unescape(toml)
    hit = api["flagged"][0]["hits"][0]
    assert hit["text"].lower() == "summit" and "[[summit]]" in hit["snippet"].lower()
    assert {w["name"]: sum(d["count"] for d in w["per_day"]) for w in c.get("/api/v1/watchlists").json()["watchlists"]} \
        == {"csto": 2, "article-2": 1}
    assert "/api/v1/watchlists/test" in c.get("/api/v1/openapi.json").json()["paths"]


def test_item_revisions_diff_and_metadata_provenance(tmp_path, db_url):
    from tests.helpers.cli import write_config
    from tests.helpers.paths import SEED_PAGE
    from tests.helpers.site import rss
    from tests.helpers.webfarm import farm

    with farm() as srv:
        config = write_config(tmp_path, [("azatutyun-test", srv.url("/feed.xml"))], db_url=db_url)
        ingest(config, "fetch")
        # The outlet corrects a paragraph (with markup-like text) and retitles the entry: a revision.
        corrected = SEED_PAGE.read_bytes().decode().replace(
            "The Armenian government appealed to the CSTO for help",
            "Correction &lt;b&gt;updated&lt;/b&gt;: the Armenian government appealed to the CSTO twice for help")
        srv.route("/a/seed.html", corrected.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
        srv.route("/feed.xml", rss(srv, [("seed", "/a/seed.html", "seed, corrected"), ("other", "/a/other.html", "other"),
                                         ("hostile", "/a/hostile.html", "hostile")], build="2"),
                  headers={"Content-Type": "application/rss+xml"})
        assert "1 updated" in ingest(config, "fetch").stdout
    cfg = config_mod.load(config)
    store = Store(cfg.database_url)
    store.prepare()
    try:
        c = client(cfg, store)
        seed = ids(config)[TITLES["seed"]]
        page = c.get(f"/items/{seed}").text
        assert f'href="/items/{seed}/revisions"' in page and "Revisions (2 versions)" in page
        diff = c.get(f"/items/{seed}/revisions")
        assert diff.status_code == 200
        removed = re.findall(r'<p class="removed">(.*?)</p>', diff.text, re.S)
        added = re.findall(r'<p class="added">(.*?)</p>', diff.text, re.S)
        assert len(removed) == len(added) == 1
        # The changed words are marked within the paragraph; the rest of it is plain text.
        assert "<ins>twice</ins>" in added[0] and "<del>The</del>" in removed[0]
        removed, added = (re.sub(r"</?(del|ins)>", "", x[0]) for x in (removed, added))
        assert "The Armenian government appealed to the CSTO for help" in removed
        assert "Correction &lt;b&gt;updated&lt;/b&gt;: the Armenian government appealed to the CSTO twice" in added
        assert "<b>updated" not in diff.text  # text, escaped
        assert 'class="skip"' in diff.text  # long unchanged runs are folded
        same = c.get(f"/items/{seed}/revisions", params={"a": 1, "b": 1}).text
        assert 'class="removed"' not in same and "The same revision on both sides" in same
        assert c.get(f"/items/{seed}/revisions", params={"a": 7}).status_code == 404
        api = c.get(f"/api/v1/items/{seed}/revisions").json()
        assert [r["number"] for r in api["revisions"]] == [0, 1] and (api["a"], api["b"]) == (0, 1)
        changed = [d for d in api["diff"] if d["op"] != "same"]
        assert [d["op"] for d in changed] == ["removed", "added"] and "twice" in changed[1]["changed"]
        assert changed[1]["text"].startswith("Correction <b>updated</b>: the Armenian")  # JSON: the text as stored
        assert c.get(f"/api/v1/items/{seed}/revisions", params={"b": 9}).json()["error"].startswith("b: item")
        assert c.get(f"/items/{seed}/revisions", params={"a": "x"}).status_code == 400
        # Metadata with provenance: which field came from where, as `ingest show` records it.
        record = json.loads(ingest(config, "show", str(seed), "--format", "json").stdout)
        table = re.search(r'<table class="grid meta" id="metadata">(.*?)</table>', page, re.S).group(1)
        for field, where in record["metadata_sources"].items():
            assert re.search(rf"<tr><td>{field}</td><td>.*?</td>\s*<td class=\"muted\">{re.escape(where)}</td></tr>",
                             table, re.S), (field, where)
        assert record["metadata_sources"]  # the seed page has its metadata somewhere
    finally:
        store.close()


def test_saved_searches_unread_counts_atom_feeds_and_owners(tmp_path, db_url):
    from xml.etree import ElementTree

    from tests.helpers.cli import write_config
    from tests.helpers.site import rss
    from tests.helpers.webfarm import farm

    with farm() as srv:
        feed = [("seed", "/a/seed.html", "seed"), ("other", "/a/other.html", "other")]
        srv.route("/feed.xml", rss(srv, feed), headers={"Content-Type": "application/rss+xml"})
        config = write_config(tmp_path, [("azatutyun-test", srv.url("/feed.xml"))], db_url=db_url)
        ingest(config, "fetch")
        cfg = config_mod.load(config)
        store = Store(cfg.database_url)
        store.prepare()
        try:
            c = client(cfg, store)
            inbox = c.get("/", params={"watchlist": "csto"}).text
            assert 'name="watchlist" value="csto"' in inbox and "Save this search" in inbox
            token = c.cookies["ingest_csrf"]
            assert c.post("/searches", data={"name": "csto", "watchlist": "csto"}).status_code == 403
            assert c.post("/searches", data={"name": "", "watchlist": "csto", "csrf": token}).status_code == 400
            bad = c.post("/searches", data={"name": "x", "q": '"unbalanced', "csrf": token})
            assert bad.status_code == 400 and "unbalanced quote" in bad.text
            done = c.post("/searches", data={"name": "csto", "watchlist": "csto", "state": "all", "csrf": token})
            assert done.status_code == 303 and done.headers["location"] == "/searches"
            [row] = c.get("/api/v1/searches").json()["searches"]
            assert row["name"] == "csto" and row["unread"] == 0 and row["owner"] is None
            # A new flagged article arrives: one unread.
            srv.route("/feed.xml", rss(srv, [*feed, ("hostile", "/a/hostile.html", "hostile")], build="2"),
                      headers={"Content-Type": "application/rss+xml"})
            assert "1 new" in ingest(config, "fetch").stdout
        except BaseException:
            store.close()
            raise
    try:
        page = c.get("/searches").text
        assert re.search(r'<span class="badge unread">1 unread</span>', page)
        assert c.get("/api/v1/searches").json()["searches"][0]["unread"] == 1
        # Its Atom feed, by the watchlists' Atom code: both csto items, the hostile title as text.
        atom = c.get(f"/searches/{row['id']}.atom")
        assert atom.headers["content-type"].startswith("application/atom+xml")
        doc = ElementTree.fromstring(atom.content)
        ns = {"a": "http://www.w3.org/2005/Atom"}
        assert doc.find("a:title", ns).text == "ingest search: csto"
        titles = [e.find("a:title", ns).text for e in doc.findall("a:entry", ns)]
        assert TITLES["seed"] in titles and HOSTILE_TITLE in titles and len(titles) == 2
        # Opening it shows the inbox with its filters; then nothing is unread.
        opened = c.get(f"/searches/{row['id']}")
        assert opened.status_code == 303 and opened.headers["location"] == "/?watchlist=csto&state=all"
        assert c.get("/api/v1/searches").json()["searches"][0]["unread"] == 0
        # The API: the same name replaces the filters; unknown filters and bad syntax are 400s.
        headers = {"X-CSRF-Token": token}
        assert c.post("/api/v1/searches", json={"name": "s", "params": {"q": "x"}}).status_code == 403
        made = c.post("/api/v1/searches", json={"name": "summit", "params": {"q": "summit"}}, headers=headers)
        assert made.status_code == 201 and made.json()["unread"] == 0
        assert c.post("/api/v1/searches", json={"name": "s", "params": {"colour": "red"}},
                      headers=headers).json()["error"].startswith("params: unknown filter 'colour'")
        assert c.post("/api/v1/searches", json={"name": "s", "params": {"since": "someday"}},
                      headers=headers).status_code == 400
        listed = c.get(f"/api/v1/searches/{made.json()['id']}/items").json()["items"]
        assert {i["title"] for i in listed} == {TITLES["seed"], HOSTILE_TITLE}
        assert c.delete(f"/api/v1/searches/{made.json()['id']}", headers=headers).json() == {"deleted": made.json()["id"]}
        assert c.get(f"/searches/{made.json()['id']}.atom").status_code == 404
        assert c.post(f"/searches/{row['id']}/delete", data={"csrf": token}).status_code == 303
        assert c.get("/api/v1/searches").json()["searches"] == []
        # Beyond loopback each user has their own searches.
        remote = client(cfg, store, host="0.0.0.0")
        bearer = {}
        for name in ("ana", "bob"):
            ingest(config, "users", "add", name, "--password", "correct horse")
            bearer[name] = {"Authorization": "Bearer " + ingest(config, "users", "token", name).stdout.strip()}
        mine = remote.post("/api/v1/searches", json={"name": "mine", "params": {"watchlist": "csto"}},
                           headers=bearer["ana"]).json()
        assert mine["owner"] == "ana"
        assert remote.get("/api/v1/searches", headers=bearer["bob"]).json()["searches"] == []
        assert remote.get(f"/api/v1/searches/{mine['id']}/items", headers=bearer["bob"]).status_code == 404
        assert remote.get(f"/searches/{mine['id']}.atom", headers=bearer["ana"]).status_code == 200
        assert "/api/v1/searches" in c.get("/api/v1/openapi.json").json()["paths"]
    finally:
        store.close()


def test_per_story_rows_are_each_storys_newest_stored_matching_item_and_pages_never_repeat_a_story(tmp_path, db_url):
    """The inbox's query (NOT EXISTS over an index walk) against the definition, on both backends."""
    from datetime import datetime, timedelta, timezone

    from ingest.render import cursor
    from ingest.storage import triage
    from ingest.storage.store import ItemQuery
    from ingest.storage.tables import HitRow, ItemRow

    store = Store(db_url)
    store.prepare()
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    try:
        made: dict[str, int] = {}
        # name: (hours after t0, story of, flagged); stored in this order
        plan = {"a1": (1, None, True), "b1": (4, None, True), "c1": (2, None, True), "a2": (5, "a1", True),
                "c2": (6, "c1", False), "a3": (3, "a1", True), "d1": (0, None, False)}
        for name, (hours, story, flagged) in plan.items():
            when = t0 + timedelta(hours=hours)
            row = ItemRow(source="s", url=f"https://example.com/{name}", title=name, fetched_at=when, sort_time=when,
                          story_id=made[story] if story else None)
            hits = [HitRow(watchlist="w", version="v", term="x", field="title", block=0, start=0, end=1, text=name[0],
                           snippet="[[x]]")] if flagged else []
            with store.writing() as w:
                made[name] = w.add(row, [("url", name)], hits)

        def rows(**kw):
            return [s.item.title for s in store.query(ItemQuery(flagged=True, per_story=True, **kw))]

        def paged(**kw):
            out, after = [], None
            while page := store.query(ItemQuery(flagged=True, per_story=True, limit=1, after=after, **kw)):
                out.append(page[0].item.title)
                after = (page[0].item.sort_time, page[0].item.id)
                assert cursor(page[0])
            return out

        assert rows() == paged() == ["b1", "a3", "c1"]  # a3: stored after a2, though published before it
        store.triage.apply([made["a3"]], triage.Change("reviewed"), None, t0)
        assert rows(state="unreviewed") == paged(state="unreviewed") == ["a2", "b1", "c1"]
        assert rows(state="reviewed") == ["a3"] and rows(state="starred") == []
        assert rows(story=made["a1"]) == ["a3"] and rows(sources=("other",)) == []
    finally:
        store.close()


def test_keep_alive_responses_are_not_held_back_by_nagle(site):
    """The listening socket says TCP, so asyncio sets TCP_NODELAY on each connection: without it every response
    on a kept-alive connection waited for the client's delayed ACK (~40 ms on Linux)."""
    import http.client
    import socket
    import time

    from ingest.web.app import WebServer

    _, cfg, store = site
    server = WebServer(cfg, store, ("127.0.0.1", 0)).start()
    try:
        assert server.socket.proto == socket.IPPROTO_TCP
        _wait(lambda: server.server.started)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        times = []
        for _ in range(6):
            began = time.perf_counter()
            conn.request("GET", "/nothing-here")
            response = conn.getresponse()
            response.read()
            times.append(time.perf_counter() - began)
            assert response.status == 404 and not response.will_close
        assert min(times[1:]) < 0.035, times  # the first request also opens the connection
        conn.close()
    finally:
        server.close()


def test_a_request_made_the_moment_the_server_starts_is_answered(site):
    """The socket listens before uvicorn's thread is up: a browser sent to the page at once is served, not refused."""
    import http.client

    from ingest.web.app import WebServer

    _, cfg, store = site
    server = WebServer(cfg, store, ("127.0.0.1", 0))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.connect()  # before start(): refused if the socket only listened once uvicorn ran
    server.start()
    try:
        conn.request("GET", "/nothing-here")
        assert conn.getresponse().status == 404
        conn.close()
    finally:
        server.close()

"""A store filled by a real `ingest fetch` from a loopback feed farm, for the web app's tests.

Three articles: the seed page (flagged by csto and article-2), an unflagged one, and a hostile one
whose title and body carry markup, an onerror attribute and control characters (issue 25's cases).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tests.helpers.cli import ingest, write_config
from tests.helpers.paths import OTHER_PAGE, SEED_PAGE
from tests.helpers.servers import LocalServer
from tests.helpers.site import rss

HOSTILE_TITLE = 'CSTO <script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
HOSTILE_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{HOSTILE_TITLE.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</title></head>
<body><article><h1>{HOSTILE_TITLE.replace('<', '&lt;').replace('>', '&gt;')}</h1>
<p>The CSTO summit &lt;img src=x onerror=alert(1)&gt; ended with a statement that nobody expected, and the
delegations left Yerevan \x1b]0;pwned\x07 without agreeing on the border mission the members had discussed for weeks.</p>
<p>Observers said the &lt;script&gt;alert(2)&lt;/script&gt; organization would meet again in the autumn to try once
more, though few of them expected the members to settle their differences before the winter session.</p>
</article></body></html>""".encode()
HTML = {"Content-Type": "text/html; charset=utf-8"}
TITLES = {"seed": "Armenia Backs Alliance With Russia, Other Ex-Soviet States",
          "other": "Yerevan Opens New Metro Station After Decade of Delays"}


@contextmanager
def farm():
    with LocalServer() as srv:
        srv.route("/a/seed.html", SEED_PAGE.read_bytes(), headers=HTML)
        srv.route("/a/other.html", OTHER_PAGE.read_bytes(), headers=HTML)
        srv.route("/a/hostile.html", HOSTILE_PAGE, headers=HTML)
        srv.route("/feed.xml", rss(srv, [("seed", "/a/seed.html", "seed"), ("other", "/a/other.html", "other"),
                                         ("hostile", "/a/hostile.html", "hostile")]),
                  headers={"Content-Type": "application/rss+xml"})
        yield srv


def filled(tmp_path: Path, db_url: str | None = None) -> Path:
    """A config whose store holds the farm's three items, fetched by the real CLI; returns the config path."""
    with farm() as srv:
        config = write_config(tmp_path, [("azatutyun-test", srv.url("/feed.xml"))], db_url=db_url)
        ingest(config, "fetch")
    return config

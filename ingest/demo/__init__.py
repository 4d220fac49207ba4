"""`ingest demo`: the whole pipeline offline, on a small site served from 127.0.0.1.

The bundled site (`site/`: an RSS and an Atom feed, three short articles written for the demo)
is served on an ephemeral loopback port; a config pointing at it is written to a folder (a new
temporary one unless given), and `ingest fetch` runs on it as a user would run it, so what the
demo shows is the real command's work.  The database stays in that folder for `query`, `show`...
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SITE = Path(__file__).resolve().parent / "site"
_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".html": "text/html; charset=utf-8"}
WATCHLIST = "flooding"


@contextmanager
def serve_site() -> Iterator[str]:
    """The bundled site on 127.0.0.1 (an ephemeral port); yields its base URL, written into feeds and pages."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = (SITE / self.path.split("?", 1)[0].lstrip("/")).resolve()
            if not path.is_file() or SITE not in path.parents or path.suffix not in _TYPES:
                self.send_error(404)
                return
            body = path.read_bytes().replace(b"{base}", base.encode())
            self.send_response(200)
            self.send_header("Content-Type", _TYPES[path.suffix])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # the fetch's own log says what was fetched
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def write_config(folder: Path, base: str) -> Path:
    """The demo's config.toml: two sources on the local site, one watchlist, the database beside it."""
    path = folder / "config.toml"
    path.write_text(
        "# Written by `ingest demo`: the bundled demo site, served on 127.0.0.1 while the demo runs.\n"
        '[database]\nurl = "sqlite:///demo.db"\n\n'
        "[fetch]\nallow_private_networks = true  # the demo site is on loopback\ntimeout = 10\n\n"
        f'[[sources]]\nname = "town"\nurl = "{base}/town.rss"\nevery = "15m"\n\n'
        f'[[sources]]\nname = "nature"\nurl = "{base}/nature.atom"\nevery = "15m"\n\n'
        f'[[watchlists]]\nname = "{WATCHLIST}"\nterms = ["flood barrier", "flooding"]\n',
        encoding="utf-8")
    return path


def run(folder: Path | None) -> int:
    """Serve the site, fetch it into `folder` (default: a new temporary folder), print what to try next."""
    from ingest.cli import main  # the real `ingest fetch`, not a copy of it

    folder = Path(tempfile.mkdtemp(prefix="ingest-demo-")) if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    with serve_site() as base:
        config = write_config(folder, base)
        print(f"Serving the demo site at {base}; fetching its feeds into {folder / 'demo.db'}")
        try:
            main.main(["--config", str(config), "--log-level", "warning", "fetch"], prog_name="ingest",
                      standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                return int(exc.code) if isinstance(exc.code, int) else 1
    prog = sys.argv[0] if Path(sys.argv[0]).name == "ingest" else f"{sys.executable} -m ingest"
    ingest = f"{shlex.quote(prog)} --config {shlex.quote(str(config))}"
    print(f"\nTry next (the demo site is gone now, the database stays in {folder}):\n"
          f"  {ingest} query                        # newest items\n"
          f"  {ingest} query --watchlist {WATCHLIST}    # the flagged one\n"
          f'  {ingest} query --search "reed beds"\n'
          f"  {ingest} show 1                       # an article as text (--format json: the whole record)\n"
          f"  {ingest} explain 1\n"
          "Real feeds need internet access: list them as [[sources]] in a config.toml, then `ingest fetch`.")
    return 0

"""The `ingest` command: fetch, run, query, show, sources, db upgrade.

Exit codes: 0 success; 1 nothing could be done (e.g. every source failed);
2 usage or config error; 3 some sources failed while others were stored.

Imports of the pipeline, storage, HTTP and output modules are local to the commands that
use them: at module level they cost over half a second of start-up (SQLAlchemy, SQLModel,
Alembic, httpx, lxml...) for `--help` and for commands that never touch them. Only click,
the standard library and the light `config` and `render` modules are imported here.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ingest import config as config_mod
from ingest import render
from ingest.config import Config, ConfigError
from ingest.terminal import plural, progress, say, write

if TYPE_CHECKING:
    from ingest.storage.store import ItemQuery, Store

EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 1, 2, 3
_LOGGING = frozenset({"fetch", "run", "reextract", "rematch", "check-source", "prune"})  # commands that log events


def fail(message: str, code: int = EXIT_USAGE) -> None:
    say(f"ingest: error: {message}", err=True)
    sys.exit(code)


_NoArgs = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class _Main(click.Group):
    """Usage errors as one line, like config errors (click's own layout is a usage block and a blank line)."""

    def main(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except _NoArgs as exc:  # `ingest` or `ingest db` alone: the help, as click gives it
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "ingest"
            fail(f"{' '.join(exc.format_message().split())} (see '{where} --help')")
        except click.ClickException as exc:
            fail(" ".join(exc.format_message().split()), exc.exit_code)
        except click.Abort:
            fail("aborted", EXIT_FAILED)
        sys.exit(code if isinstance(code, int) else 0)


class App:
    """Lazily loaded config and store, so `--help` works without either."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = config_mod.load(self.config_path)
            except ConfigError as exc:
                fail(str(exc))
        return self._config

    def store(self) -> Store:
        from ingest.storage.store import SchemaError, Store

        store = Store(self.config.database_url, self.config.lock_timeout)
        try:
            store.prepare()
        except SchemaError as exc:
            fail(str(exc), EXIT_FAILED)
        except Exception as exc:  # unreachable server, unreadable file: one line, not a traceback
            _cannot_open(store, exc)
        return store


def _cannot_open(store: Store, exc: Exception) -> None:
    """One line naming the database (password masked) and the first line of the driver's error."""
    fail(f"cannot open database {store.engine.url.render_as_string()}: {exc}".splitlines()[0], EXIT_FAILED)


pass_app = click.make_pass_decorator(App)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: $INGEST_CONFIG, else ./config.toml).")
@click.option("--log-level", default=None, type=click.Choice(["debug", "info", "warning", "error"]),
              help="Log events at this level and above (default: info; warning on a terminal, except for `run`).")
@click.option("-v", "--verbose", is_flag=True, help="Log at info level on a terminal too.")
@click.version_option(package_name="ingest")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_level: str | None, verbose: bool) -> None:
    """Poll news feeds, extract articles, drop duplicates, flag watchlist matches."""
    quiet = sys.stderr.isatty() and not verbose and ctx.invoked_subcommand != "run"
    if log_level is None:  # on a terminal the progress bar and the summary are the story; logs are for problems
        log_level = "warning" if quiet else "info"
    ctx.params["log_level"] = log_level
    if ctx.invoked_subcommand in _LOGGING:  # read commands log nothing: they need not import structlog (80 ms)
        from ingest import logs

        # `fetch` prints each source's failure in its summary line: on a terminal, not again as a log event.
        logs.configure(log_level, skip=("feed_fetch",) if quiet and ctx.invoked_subcommand == "fetch" else ())
    ctx.obj = App(config_path)


@main.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Poll only this source (repeatable).")
@pass_app
def fetch(app: App, names: tuple[str, ...]) -> None:
    """Poll the sources once, store what is new, print a line per source."""
    from concurrent.futures import ThreadPoolExecutor

    from ingest.fetch import Fetcher
    from ingest.poll.pipeline import Pipeline
    from ingest.poll.workers import WorkerPool

    cfg = app.config
    try:
        sources = [cfg.source(n) for n in names] if names else list(cfg.sources)
    except ConfigError as exc:
        fail(str(exc))
    if not sources:
        fail(f"{cfg.path}: no sources configured")
    paused = [s.name for s in sources if s.paused]
    sources = [s for s in sources if not s.paused]
    if not sources:
        fail(f"{cfg.path}: every source asked for is paused (`ingest sources resume NAME`)")
    store = app.store()
    with Fetcher(cfg.settings.fetch) as fetcher, \
            WorkerPool(cfg.settings.processes, cfg.watchlists, cfg.settings.worker_tasks) as workers:
        pipeline = Pipeline(cfg, store, fetcher, workers)
        # Several sources at once, like the daemon: one source's feed is parsed or its items stored
        # while another's pages are fetched and extracted, so the workers and the network stay busy.
        with ThreadPoolExecutor(max_workers=cfg.settings.concurrent_sources) as pool, \
                progress(len(sources), "polling") as advance:
            results = []
            for r in pool.map(pipeline.poll, sources):
                results.append(r)
                advance(1)
    for r in results:
        say(r.summary())
    for name in paused:
        say(f"{name}: paused, not polled")
    failed = sum(not r.ok for r in results)
    if failed == len(results):
        sys.exit(EXIT_FAILED)
    if failed:
        sys.exit(EXIT_PARTIAL)


@main.command()
@click.option("--workers", type=click.IntRange(1, 256), default=None, metavar="N",
              help="PostgreSQL only: run N worker processes here; the same command on other machines joins them.")
@pass_app
def run(app: App, workers: int | None) -> None:
    """Run the daemon: poll each source on its interval until SIGINT/SIGTERM."""
    from ingest import daemon
    from ingest.fetch import Fetcher
    from ingest.server import ListenError

    cfg = app.config
    if not cfg.sources:
        fail(f"{cfg.path}: no sources configured")
    if not cfg.active_sources:
        fail(f"{cfg.path}: every source is paused (`ingest sources resume NAME`)")
    if workers is not None and _is_postgres(cfg.database_url):
        _run_workers(app, workers)
        return
    if workers is not None and workers > 1:
        fail("--workers N > 1 needs a PostgreSQL [database] url; the embedded SQLite mode is one process")
    store = app.store()
    with Fetcher(cfg.settings.fetch) as fetcher:
        try:
            daemon.run(cfg, store, fetcher)
        except (daemon.AlreadyRunning, ListenError) as exc:
            fail(str(exc), EXIT_FAILED)


@main.command()
@click.option("--listen", metavar="HOST:PORT", help="Address to serve on (default: [web] listen, else 127.0.0.1:8080).")
@pass_app
def serve(app: App, listen: str | None) -> None:
    """Serve the web app and the JSON API (/api/v1/) until interrupted."""
    from ingest.server import ListenError
    from ingest.web.app import WebServer

    try:
        address = config_mod.parse_listen(listen, "--listen") if listen else app.config.web_listen
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from None
    address = address or ("127.0.0.1", 8080)
    try:
        server = WebServer(app.config, app.store(), address)
    except ListenError as exc:
        fail(str(exc), EXIT_FAILED)
    if server.refusal():
        fail(server.refusal())
    click.echo(f"serving on http://{address[0]}:{server.port}/", err=True)
    server.run()


@main.group()
def users() -> None:
    """Users of the web app (needed when it listens beyond loopback)."""


@users.command(name="add")
@click.argument("name")
@click.password_option(prompt="Password", help="The password (prompted for when not given).")
@pass_app
def users_add(app: App, name: str, password: str) -> None:
    """Add user NAME, or set a new password for it (which signs out its sessions)."""
    from ingest.web.auth import hash_password

    if not name.strip() or len(password) < 8:
        fail("a user needs a name and a password of at least 8 characters")
    new = app.store().users.save_user(name, hash_password(password), datetime.now(timezone.utc))
    click.echo(f"user {name} {'added' if new else 'has a new password'}")


@users.command(name="token")
@click.argument("name")
@click.option("--label", default="script", show_default=True, help="What the token is for.")
@pass_app
def users_token(app: App, name: str, label: str) -> None:
    """Print a new API token for user NAME (send it as Authorization: Bearer TOKEN); it is shown only once."""
    from ingest.web.auth import new_secret

    users = app.store().users
    if users.user(name) is None:
        fail(f"no user named {name!r}: add it with `ingest users add {name}`", EXIT_FAILED)
    token = new_secret()
    users.add_token(token, name, label, datetime.now(timezone.utc))
    click.echo(token)


def _is_postgres(url: str) -> bool:
    return url.split("://", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def _run_workers(app: App, workers: int) -> None:
    """PostgreSQL mode: worker processes coordinated by Procrastinate (ingest/cluster.py)."""
    try:
        from ingest import cluster
    except ImportError as exc:
        fail(f"--workers needs the postgres extra (pip install 'ingest[postgres]'): {exc}", EXIT_FAILED)
    log_level = click.get_current_context().find_root().params["log_level"]
    cluster.run(app.config, app.store(), workers, log_level)


def _filters(command):  # noqa: ANN001, ANN201
    """The item filters shared by `query` and `export`."""
    options = [
        click.option("--watchlist", help="Only items flagged by this watchlist."),
        click.option("--flagged", is_flag=True, help="Only items flagged by any watchlist."),
        click.option("--source", "sources", multiple=True, metavar="NAME", help="Only this source (repeatable)."),
        click.option("--language", "languages", multiple=True, metavar="CODE", help="Only this language, e.g. en."),
        click.option("--story", type=int, metavar="ID", help="Only the items of one story."),
        click.option("--since", metavar="WHEN", help="Published (else fetched) at or after WHEN: ISO date or 2d, 12h."),
        click.option("--until", metavar="WHEN", help="Published (else fetched) before WHEN."),
        click.option("--fetched-since", metavar="WHEN", help="Fetched at or after WHEN, whatever date the page gives."),
        click.option("--search", metavar="TEXT",
                     help='Full-text search: words, "a phrase", -exclude, OR, title:word, author:name.'),
        click.option("--state", type=click.Choice(["unreviewed", "reviewed", "starred", "dismissed"]),
                     help="Only items in this triage state (set in the web app)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _csv_raw(command):  # noqa: ANN001, ANN201
    return click.option("--csv-raw", is_flag=True,
                        help="CSV: the exact text; by default a cell starting with = + - @ or a tab/CR gets a ' "
                             "so that a spreadsheet does not run it as a formula.")(command)


def _item_query(app: App, **filters) -> ItemQuery:
    """`filters.item_query`, where unknown source and watchlist names are errors too."""
    from ingest.filters import item_query

    if filters["watchlist"]:
        _watchlist(app.config, filters["watchlist"])
    if filters["sources"]:
        _known_sources(app, filters["sources"])
    return item_query(**filters)


def _known_sources(app: App, names: tuple[str, ...]) -> None:
    """Each name is a configured source or one stored before (a source since removed from the config)."""
    known = [s.name for s in app.config.sources]
    unknown = [n for n in names if n not in known]
    if unknown:
        stored = {s.name for s in app.store().source_states()}
        for name in unknown:
            if name not in stored:
                fail(f"{app.config.path}: no source named {name!r} (known: {', '.join(known) or 'none'})")


@main.command()
@_filters
@click.option("--sort", type=click.Choice(["newest", "fetched", "relevance"]), default=None,
              help="Order: newest published (else fetched), newest fetched, or relevance (default with --search).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.option("--cursor", metavar="TOKEN", help="Continue after the page that printed this token (newest or fetched order).")
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="table", show_default=True)
@_csv_raw
@pass_app
def query(app: App, sort, limit, offset, cursor, fmt, csv_raw, **filters) -> None:
    """List stored items, newest first (or by relevance for a search)."""
    sort = sort or ("relevance" if filters["search"] else "newest")
    if cursor and sort == "relevance":
        raise click.BadParameter("a cursor pages through the newest or fetched order only", param_hint="--cursor")
    q = _item_query(**filters, app=app, sort=sort, limit=limit, offset=offset, after=render.read_cursor(cursor))
    rows = app.store().query(q)
    text = render.items(rows, fmt, csv_raw=csv_raw, sort=sort)
    if fmt == "table":
        say(text, nl=False)
    else:
        write(text)
    if len(rows) == limit and sort != "relevance":
        say(f"more: --cursor {render.cursor(rows[-1], sort)}", err=True)


@main.command()
@_filters
@click.option("--format", "fmt", type=click.Choice(render.EXPORT_FORMATS), default="jsonl", show_default=True)
@_csv_raw
@pass_app
def export(app: App, fmt, csv_raw, **filters) -> None:
    """Stream every matching item, newest first, as full records (jsonl), rows (csv) or an Atom feed."""
    rows = app.store().iterate(_item_query(**filters, app=app))
    for chunk in render.export(rows, fmt, title=render.feed_title(filters), csv_raw=csv_raw):
        write(chunk)


@main.command()
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="Days in the per-day list.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_app
def stats(app: App, days: int, fmt: str) -> None:
    """Item counts per source, per watchlist and per day."""
    counts = app.store().stats(days)
    if fmt == "json":
        write(render.to_json({k: dict(v) for k, v in counts.items()}, indent=2))
        return
    for title, rows in (("per source", counts["source"]), ("per watchlist", counts["watchlist"]),
                        (f"per day published (else fetched), UTC, last {days}", counts["day"]),
                        (f"per day fetched, UTC, last {days}", counts["fetched_day"])):
        say(f"{title}:")
        for key, n in rows:
            say(f"  {key:30} {n:>8}")


@main.command()
@click.option("--keep", metavar="AGE", help="Delete items older than this (default: [retention] keep).")
@pass_app
def prune(app: App, keep: str | None) -> None:
    """Delete old items (flagged ones are kept unless configured otherwise); tombstones stop re-ingestion."""
    retention = app.config.retention
    try:
        age = config_mod.parse_duration(keep, "--keep") if keep else retention.keep
    except ConfigError as exc:
        fail(str(exc))  # already names --keep
    if age is None:
        fail(f"{app.config.path}: no [retention] keep set; pass --keep AGE")
    store = app.store()
    with progress(store.count_items(), "pruning") as advance:
        deleted = store.prune(datetime.now(timezone.utc) - timedelta(seconds=age), retention.keep_flagged,
                              progress=advance)
    say(f"pruned {plural(deleted, 'item')}")


@main.command()
@click.argument("item_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def show(app: App, item_id: int, fmt: str) -> None:
    """Show one stored item, as the article text or as the whole JSON record."""
    stored = app.store().get(item_id)
    if stored is None:
        fail(f"no item with id {item_id}", EXIT_FAILED)
    if fmt == "json":
        write(render.to_json(render.record_dict(stored), indent=2))
    else:
        say(render.record_text(stored))


@main.command()
@click.argument("item_id", type=int)
@pass_app
def explain(app: App, item_id: int) -> None:
    """Why an item is what it is: fingerprints, story, duplicates seen, revisions, hits."""
    stored = app.store().get(item_id)
    if stored is None:
        fail(f"no item with id {item_id}", EXIT_FAILED)
    say(render.explain(stored))


@main.group(invoke_without_command=True)
@click.pass_context
def sources(ctx: click.Context) -> None:
    """Show each configured source's polling state (or import/export them as OPML)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(sources_status)


@sources.command(name="status")
@pass_app
def sources_status(app: App) -> None:
    """Each source's state: ok, backing off, gone; last success, next poll, items, extraction health."""
    store = app.store()
    states = {s.name: s for s in store.source_states()}
    for source in app.config.sources:
        st = states.get(source.name)
        kind = f"type {source.type}{' (paused: not polled)' if source.paused else ''}"
        if st is None:
            say(f"{source.name}: never polled; {kind}")
            continue
        if st.state == "gone":
            state = "gone (HTTP 410): no longer polled"
        elif st.state == "backoff":
            state = f"backing off until {_fmt(st.next_poll)} after {plural(st.failures, 'failure')}"
        else:
            state = "ok"
        error = f"; last error: {st.last_error}" if st.last_error else ""
        moved = f"; moved to {st.url}" if st.url != st.config_url else ""
        health = (f"; extraction: {plural(st.extracted, 'entry', 'entries')}, "
                  f"{plural(st.empty_bodies, 'empty body', 'empty bodies')}, {st.missing_dates} without date, "
                  f"{st.missing_titles} without title, {st.feed_fallbacks} from feed content")
        say(f"{source.name}: {state}; {kind}; last success {_fmt(st.last_success)}; next poll {_fmt(st.next_poll)}; "
            f"{plural(store.count_items(source.name), 'item')}{moved}{error}{health}")


@sources.command(name="export")
@pass_app
def sources_export(app: App) -> None:
    """Print the configured sources as OPML 2.0."""
    from ingest.opml import OpmlSource, to_opml

    write(to_opml(OpmlSource(name=s.name, xml_url=s.url) for s in app.config.sources))


@sources.command(name="import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--every", default="15m", show_default=True, help="Polling interval for the imported sources.")
@pass_app
def sources_import(app: App, opml_file: str, every: str) -> None:
    """Append the feeds of an OPML file to the config as [[sources]] (skipping URLs already there)."""
    from ingest.opml import parse_opml

    try:
        config_mod.parse_duration(every, "--every")
        found = parse_opml(Path(opml_file).read_bytes(), opml_file)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
    try:
        added = config_mod.append_sources(app.config, [(o.name, o.xml_url) for o in found], every)
    except ConfigError as exc:  # the file is left as it was
        fail(f"{exc} (config left unchanged)")
    say(f"imported {plural(len(added), 'source')} into {app.config.path} ({len(found) - len(added)} already there)")


@sources.command(name="add")
@click.argument("url")
@click.option("--name", help="The source's name (default: from the feed's title, else the host).")
@click.option("--every", default="15m", show_default=True, help="Polling interval (or \"auto\").")
@click.option("--pick", type=click.IntRange(1), metavar="N", help="Which of several feeds found to add.")
@pass_app
def sources_add(app: App, url: str, name: str | None, every: str, pick: int | None) -> None:
    """Add a feed or a sitemap given its URL or any page of its site (the page's feeds are found)."""
    from ingest.fetch import Fetcher, FetchError
    from ingest.http import redact
    from ingest.sources.discover import COMMON_PATHS, discover
    from ingest.sources.editing import add_source

    cfg = app.config
    try:
        if every != "auto":
            config_mod.parse_duration(every, "--every")
    except ConfigError as exc:
        fail(str(exc))
    with Fetcher(cfg.settings.fetch) as fetcher:
        try:
            found = discover(fetcher, url)
        except FetchError as exc:
            fail(str(exc), EXIT_FAILED)
    if not found:
        fail(f"{redact(url)}: no feed found (tried the URL, its <link rel=\"alternate\">, {', '.join(COMMON_PATHS)}, "
             "links that look like feeds and robots.txt Sitemap: lines)", EXIT_FAILED)
    if len(found) > 1 and pick is None:
        for i, f in enumerate(found, 1):
            say(f"{i}. {f.type} {f.url}{'  ' + f.title if f.title else ''}")
        fail(f"{redact(url)}: {len(found)} feeds found; choose one with --pick N")
    if pick is not None and pick > len(found):
        fail(f"--pick {pick}: only {plural(len(found), 'feed')} found")
    chosen = found[(pick or 1) - 1]
    try:
        new = add_source(cfg, chosen.url, name=name, kind=chosen.type, every=every, title=chosen.title)
    except ConfigError as exc:
        fail(f"{exc} (config left unchanged)")
    say(f"added {new.sources[-1].name} ({chosen.type} {chosen.url}) to {cfg.path}")


@sources.command(name="remove")
@click.argument("name")
@pass_app
def sources_remove(app: App, name: str) -> None:
    """Remove a source from the config (its stored items stay)."""
    _edit_source(app, name, "removed")


@sources.command(name="pause")
@click.argument("name")
@pass_app
def sources_pause(app: App, name: str) -> None:
    """Stop polling a source (`paused = true` in the config); its items and state stay."""
    _edit_source(app, name, "paused")


@sources.command(name="resume")
@click.argument("name")
@pass_app
def sources_resume(app: App, name: str) -> None:
    """Poll a paused source again."""
    _edit_source(app, name, "resumed")


def _edit_source(app: App, name: str, done: str) -> None:
    from ingest.sources.editing import remove_source, set_paused

    try:
        if done == "removed":
            remove_source(app.config, name)
        else:
            set_paused(app.config, name, done == "paused")
    except ConfigError as exc:
        fail(f"{exc} (config left unchanged)")
    say(f"{done} {name} in {app.config.path}")


def _fmt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


@main.command()
@click.option("--source", "name", metavar="NAME", help="Only items of this source.")
@pass_app
def reextract(app: App, name: str | None) -> None:
    """Rebuild records from their stored pages with the current extractor, and re-run watchlists."""
    from ingest.poll.reextract import reextract as rebuild
    from ingest.poll.workers import WorkerPool

    cfg = app.config
    try:
        source = cfg.source(name) if name else None
    except ConfigError as exc:
        fail(str(exc))
    store = app.store()
    with WorkerPool(cfg.settings.processes, cfg.watchlists, cfg.settings.worker_tasks) as workers, \
            progress(store.count_items(name), "re-extracting") as advance:
        rebuilt, changed = rebuild(cfg, store, workers, source, progress=advance)
    say(f"re-extracted {plural(rebuilt, 'item')}, {changed} changed")


@main.command(name="check-source")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 20), default=3, show_default=True)
@pass_app
def check_source(app: App, name: str, limit: int) -> None:
    """Fetch a few current entries of a source and show what the extractor makes of them (stores nothing)."""
    from ingest.feeds import FeedError
    from ingest.fetch import Fetcher, FetchError
    from ingest.poll.pipeline import Pipeline

    cfg = app.config
    try:
        source = cfg.source(name)
    except ConfigError as exc:
        fail(str(exc))
    with Fetcher(cfg.settings.fetch) as fetcher:
        try:
            drafts = Pipeline(cfg, app.store(), fetcher).preview(source, limit)
        except (FetchError, FeedError) as exc:
            fail(f"{name}: {exc}", EXIT_FAILED)
    for b in drafts:
        say(f"== {b.entry.url}")
        e = b.entry  # what the source's document says (for a list page: what its selectors found)
        say(f"-- entry: title {e.title!r}; published {e.published or '-'}; updated {e.updated or '-'}")
        if b.article is None:
            say(f"   failed: {b.error}")
            continue
        a = b.article
        say(f"   from the {b.origin}{' (' + b.error + ')' if b.error else ''}; title: {a.title!r}; "
                   f"published: {a.published}; authors: {', '.join(a.authors) or '-'}")
        for block in a.blocks:
            words = " ".join(block.text.split()[:10])
            say(f"   {block.kind:10} {words}{' …' if len(block.text.split()) > 10 else ''}")


@main.command()
@pass_app
def healthcheck(app: App) -> None:
    """Exit 0 if the daemon's listener says live and ready (without one: if the database is ready), else 1."""
    from urllib.error import HTTPError, URLError
    from urllib.request import ProxyHandler, build_opener

    cfg = app.config
    if cfg.listen is None:
        from ingest.server import database_problem
        from ingest.storage.store import Store

        store = Store(cfg.database_url)
        problem = database_problem(store.engine)
        store.close()
        if problem:
            fail(problem, EXIT_FAILED)
        return
    host, port = cfg.listen
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    for path in ("/livez", "/readyz"):
        url = f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"
        try:
            with build_opener(ProxyHandler({})).open(url, timeout=10):  # never via a proxy
                pass
        except HTTPError as exc:
            fail(f"{path}: {exc.code} {exc.read().decode('utf-8', 'replace').strip()}", EXIT_FAILED)
        except (URLError, OSError) as exc:
            fail(f"{path}: no answer from {host}:{port}: {getattr(exc, 'reason', exc)}", EXIT_FAILED)


def _watchlist(cfg: Config, name: str):  # noqa: ANN202
    for w in cfg.watchlists:
        if w.name == name:
            return w
    fail(f"{cfg.path}: no watchlist named {name!r} (known: {', '.join(w.name for w in cfg.watchlists) or 'none'})")


@main.command()
@click.option("--watchlist", "name", metavar="NAME", help="Only this watchlist (default: every one).")
@pass_app
def rematch(app: App, name: str | None) -> None:
    """Run watchlists over the stored items: new matches are kept as historical hits and never alert."""
    from ingest.backfill import rematch as run_rematch

    cfg = app.config
    lists = [_watchlist(cfg, name)] if name else list(cfg.watchlists)
    store = app.store()
    with progress(store.count_items(), "rematching") as advance:
        results = run_rematch(store, lists, progress=advance)
    for result in results:
        say(result.summary())


@main.group(invoke_without_command=True)
@click.pass_context
def watchlists(ctx: click.Context) -> None:
    """List the watchlists with their version and rule (or test one against some text)."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = ctx.find_object(App).config
    for w in cfg.watchlists:
        out = cfg.outputs.get(w.name)
        sends = [n for n in ("webhook", "atom") if out and getattr(out, n)]
        sends += [f"digest {out.digest:g}s"] if out and out.digest else []
        sends += [f"notify {t.name}" for t in out.notify] if out else []
        say(f"{w.name}  version {w.version}  {w.describe()}" + (f"; outputs: {', '.join(sends)}" if sends else ""))


@watchlists.command(name="test")
@click.argument("name")
@click.argument("text", required=False)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="Read the text from this file.")
@pass_app
def watchlists_test(app: App, name: str, text: str | None, path: str | None) -> None:
    """Show what watchlist NAME would match in TEXT (paragraphs split on blank lines), with snippets."""
    from ingest.article import Article, Block
    from ingest.watchlists import compile_watchlists
    from ingest.watchlists.matcher import MAX_HITS_PER_TERM, occurrences

    wl = _watchlist(app.config, name)
    if (text is None) == (path is None):
        fail("give the text as an argument or with --file, not both")
    if path is not None:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    paragraphs = "\n".join(line.rstrip() for line in text.splitlines()).split("\n\n")
    blocks = [Block("paragraph", p.strip()) for p in paragraphs if p.strip()]
    hits = compile_watchlists([wl]).match(Article(blocks=blocks))
    capped = f" (the first {MAX_HITS_PER_TERM} of each term shown)" if occurrences(hits) > len(hits) else ""
    say(f"{name}: {plural(occurrences(hits), 'hit')}{capped}" if hits else f"{name}: no match")
    for h in hits:
        say(f"  paragraph {h.block + 1}, {h.term!r}: {h.snippet}")


@main.group(invoke_without_command=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_context
def alerts(ctx: click.Context, limit: int) -> None:
    """The delivery log, newest first: webhook alerts (wID) and notify deliveries (nID), pending, delivered or failing."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(App)
    entries = app.store().outbox.log([name for name, out in app.config.outputs.items() if out.webhook], limit)
    if not entries:
        say("no alerts yet")
    for e in entries:
        row = e.row
        when = f"sent {_fmt(row.sent_at)}" if row.sent_at else f"next try {_fmt(row.next_attempt)}"
        error = f"; last error: {row.last_error}" if row.last_error and row.state != "sent" else ""
        say(f"{e.ident}  {e.status:<9}  {row.watchlist} -> {e.target}  {plural(row.attempts, 'attempt')}, {when}"
            f"{error}  {e.title or '(item pruned)'}")


@alerts.command(name="retry")
@click.argument("ident", metavar="ID")
@pass_app
def alerts_retry(app: App, ident: str) -> None:
    """Try alert or delivery ID (as `ingest alerts` shows it: w12, n34) at the next sender run."""
    entry = app.store().outbox.retry(ident, datetime.now(timezone.utc))
    if entry is None:
        fail(f"no alert or delivery {ident!r} (ids look like w12 or n34, as 'ingest alerts' lists them)", EXIT_FAILED)
    if entry.row.state == "sent":
        fail(f"{ident} was delivered {_fmt(entry.row.sent_at)}; nothing to retry", EXIT_FAILED)
    say(f"{ident}: due now ({entry.row.watchlist} -> {entry.target}); the running sender takes it within seconds")


@alerts.command(name="test")
@click.argument("name")
@pass_app
def alerts_test(app: App, name: str) -> None:
    """Send one sample message to each notify target of watchlist NAME (ignoring digests, quiet hours and mute)."""
    from ingest.channels import Notifier

    cfg = app.config
    _watchlist(cfg, name)
    out = cfg.outputs.get(name)
    if out is None or not out.notify:
        fail(f"{cfg.path}: watchlist {name!r} has no notify targets")
    outcomes = Notifier(app.store(), cfg.outputs, cfg.settings.fetch, cfg.public_url).test(name)
    for o in outcomes:
        say(f"{o.target}: " + ("sent" if o.error is None else f"FAILED {o.error}"))
    if any(o.error for o in outcomes):
        sys.exit(EXIT_FAILED)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_app
def upgrade(app: App) -> None:
    """Apply pending schema migrations."""
    from sqlalchemy.exc import OperationalError

    from ingest.storage.store import Store

    store = Store(app.config.database_url)
    try:
        before, after = store.upgrade()
    except OperationalError as exc:  # unreachable server, unreadable file
        _cannot_open(store, exc)
    say(f"database schema: up to date at {after}" if before == after else f"database schema: {before or 'empty'} -> {after}")
    if _is_postgres(app.config.database_url):
        try:
            from ingest.cluster import ensure_queue_schema
        except ImportError:  # without the postgres extra there are no workers to queue jobs for
            return
        say(f"job queue schema: {'applied' if ensure_queue_schema(store.engine) else 'present'}")


@main.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the demo's config.toml and demo.db (default: a new temporary folder).")
def demo(folder: Path | None) -> None:
    """Offline demo: serve bundled feeds and pages on 127.0.0.1 and ingest them into a demo database."""
    from ingest import demo as demo_site

    sys.exit(demo_site.run(folder))

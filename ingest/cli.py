"""The `ingest` command: fetch, run, query, show, sources, db upgrade.

Exit codes: 0 success; 1 nothing could be done (e.g. every source failed);
2 usage or config error; 3 some sources failed while others were stored.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone

import click

from ingest import config as config_mod
from ingest import logs, render
from ingest.config import Config, ConfigError
from ingest.fetch import Fetcher
from ingest.server import ListenError
from ingest.storage.store import ItemQuery, SchemaError, Store

EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 1, 2, 3


def fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"ingest: error: {message}", err=True)
    sys.exit(code)


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
        store = Store(self.config.database_url)
        try:
            store.prepare()
        except SchemaError as exc:
            fail(str(exc), EXIT_FAILED)
        except Exception as exc:  # unreachable server, unreadable file: one line, not a traceback
            fail(f"cannot open database {store.engine.url.render_as_string()}: {exc}".splitlines()[0], EXIT_FAILED)
        return store


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config file (default: $INGEST_CONFIG, else ./config.toml).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]), help="Log events at this level and above.")
@click.version_option(package_name="ingest")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_level: str) -> None:
    """Poll news feeds, extract articles, drop duplicates, flag watchlist matches."""
    logs.configure(log_level)
    ctx.obj = App(config_path)


@main.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Poll only this source (repeatable).")
@pass_app
def fetch(app: App, names: tuple[str, ...]) -> None:
    """Poll the sources once, store what is new, print a line per source."""
    from ingest.pipeline import Pipeline

    cfg = app.config
    try:
        sources = [cfg.source(n) for n in names] if names else list(cfg.sources)
    except ConfigError as exc:
        fail(str(exc))
    if not sources:
        fail(f"{cfg.path}: no sources configured")
    store = app.store()
    results = []
    with Fetcher(cfg.settings.fetch) as fetcher:
        pipeline = Pipeline(cfg, store, fetcher)
        with click.progressbar(sources, label="polling", file=sys.stderr,
                               item_show_func=lambda s: s.name if s else None) as bar:
            for source in bar:
                results.append(pipeline.poll(source))
    for r in results:
        click.echo(r.summary())
    failed = sum(not r.ok for r in results)
    if failed == len(results):
        sys.exit(EXIT_FAILED)
    if failed:
        sys.exit(EXIT_PARTIAL)


@main.command()
@pass_app
def run(app: App) -> None:
    """Run the daemon: poll each source on its interval until SIGINT/SIGTERM."""
    from ingest import daemon

    cfg = app.config
    if not cfg.sources:
        fail(f"{cfg.path}: no sources configured")
    store = app.store()
    with Fetcher(cfg.settings.fetch) as fetcher:
        try:
            daemon.run(cfg, store, fetcher)
        except (daemon.AlreadyRunning, ListenError) as exc:
            fail(str(exc), EXIT_FAILED)


def _when(value: str | None, option: str) -> datetime | None:
    """ISO date/time, or a relative age like `2d`, `12h`, `30m` (that long ago)."""
    if value is None:
        return None
    try:
        return datetime.now(timezone.utc) - _age(value)
    except ConfigError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date like 2024-05-01 or an age like 2d or 12h, got {value!r}",
                                 param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _age(value: str) -> timedelta:
    if value.strip().isdigit():  # a bare number is a year or a date fragment, not seconds
        raise ConfigError(value)
    return timedelta(seconds=config_mod.parse_duration(value))


@main.command()
@click.option("--watchlist", help="Only items flagged by this watchlist.")
@click.option("--source", "sources", multiple=True, metavar="NAME", help="Only items of this source (repeatable).")
@click.option("--since", metavar="WHEN", help="Published (else fetched) at or after WHEN: ISO date or 2d, 12h.")
@click.option("--until", metavar="WHEN", help="Published (else fetched) before WHEN.")
@click.option("--search", metavar="TEXT", help="Only items whose title or text contains every word.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="table", show_default=True)
@pass_app
def query(app: App, watchlist, sources, since, until, search, limit, offset, fmt) -> None:
    """List stored items, newest first."""
    q = ItemQuery(watchlist=watchlist, sources=tuple(sources), since=_when(since, "--since"),
                  until=_when(until, "--until"), search=search, limit=limit, offset=offset)
    store = app.store()
    click.echo(render.items(store.query(q), fmt), nl=False)


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
        click.echo(json.dumps(render.record_dict(stored), ensure_ascii=False, indent=2))
    else:
        click.echo(render.record_text(stored))


@main.command()
@click.argument("item_id", type=int)
@pass_app
def explain(app: App, item_id: int) -> None:
    """Why an item is what it is: fingerprints, story, duplicates seen, revisions, hits."""
    stored = app.store().get(item_id)
    if stored is None:
        fail(f"no item with id {item_id}", EXIT_FAILED)
    click.echo(render.explain(stored))


@main.command()
@pass_app
def sources(app: App) -> None:
    """Show each configured source's polling state."""
    store = app.store()
    states = {s.name: s for s in store.source_states()}
    for source in app.config.sources:
        st = states.get(source.name)
        if st is None:
            click.echo(f"{source.name}: never polled")
            continue
        if st.state == "gone":
            state = "gone (HTTP 410): no longer polled"
        elif st.state == "backoff":
            state = f"backing off until {_fmt(st.next_poll)} after {st.failures} failures"
        else:
            state = "ok"
        error = f"; last error: {st.last_error}" if st.last_error else ""
        moved = f"; moved to {st.url}" if st.url != st.config_url else ""
        click.echo(f"{source.name}: {state}; last success {_fmt(st.last_success)}; next poll {_fmt(st.next_poll)}; "
                   f"{store.count_items(source.name)} items{moved}{error}")


def _fmt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


@main.command()
@click.option("--source", "name", metavar="NAME", help="Only items of this source.")
@pass_app
def reextract(app: App, name: str | None) -> None:
    """Rebuild records from their stored pages with the current extractor, and re-run watchlists."""
    from ingest.pipeline import Pipeline

    cfg = app.config
    try:
        source = cfg.source(name) if name else None
    except ConfigError as exc:
        fail(str(exc))
    with Fetcher(cfg.settings.fetch) as fetcher:
        rebuilt, changed = Pipeline(cfg, app.store(), fetcher).reextract(source)
    click.echo(f"re-extracted {rebuilt} items, {changed} changed")


@main.command(name="check-source")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 20), default=3, show_default=True)
@pass_app
def check_source(app: App, name: str, limit: int) -> None:
    """Fetch a few current entries of a source and show what the extractor makes of them (stores nothing)."""
    from ingest.feeds import FeedError
    from ingest.fetch import FetchError
    from ingest.pipeline import Pipeline

    cfg = app.config
    try:
        source = cfg.source(name)
    except ConfigError as exc:
        fail(str(exc))
    with Fetcher(cfg.settings.fetch) as fetcher:
        try:
            built = Pipeline(cfg, app.store(), fetcher).preview(source, limit)
        except (FetchError, FeedError) as exc:
            fail(f"{name}: {exc}", EXIT_FAILED)
    for b in built:
        click.echo(f"== {b.entry.url}")
        if b.article is None:
            click.echo(f"   failed: {b.error}")
            continue
        a = b.article
        click.echo(f"   from the {b.origin}{' (' + b.error + ')' if b.error else ''}; title: {a.title!r}; "
                   f"published: {a.published}; authors: {', '.join(a.authors) or '-'}")
        for block in a.blocks:
            words = " ".join(block.text.split()[:10])
            click.echo(f"   {block.kind:10} {words}{' …' if len(block.text.split()) > 10 else ''}")


@main.command()
@pass_app
def healthcheck(app: App) -> None:
    """Exit 0 if the daemon's listener says live and ready (without one: if the database is ready), else 1."""
    from urllib.error import HTTPError, URLError
    from urllib.request import ProxyHandler, build_opener

    from ingest.server import database_problem

    cfg = app.config
    if cfg.listen is None:
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


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_app
def upgrade(app: App) -> None:
    """Apply pending schema migrations."""
    store = Store(app.config.database_url)
    before, after = store.upgrade()
    click.echo(f"database schema: {before or 'empty'} -> {after}")

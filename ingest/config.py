"""Load and validate `config.toml` into typed settings.

Every problem is a `ConfigError` whose one-line message names the file and the key,
so a user can fix a typo without reading a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, fields
from datetime import datetime, time, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

# The extractor (lxml), the fetcher (httpx) and the watchlist matcher are imported where a config
# needs them, not here: `ingest --help` and the commands that only read the database start faster.
if TYPE_CHECKING:
    from ingest.extract import SiteRules
    from ingest.sources.listpages import ListSelectors
    from ingest.watchlists import Watchlist

DEFAULT_PATH = "config.toml"
LOCK_TIMEOUT = 300.0  # seconds a SQLite write waits for another process's lock before its poll fails (retried later)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Source and watchlist names are identifiers: they become URL paths (/watchlists/NAME.atom), CLI arguments
# and log fields, so nothing that could be a path, an escape sequence or an option is allowed.
NAME_RULE = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_NAME = re.compile(NAME_RULE)
SOURCE_TYPES = ("feed", "sitemap", "html")  # what a [[sources]] `type` may be (ingest.sources reads each)


class ConfigError(ValueError):
    """A config file problem, reported as one line naming the file and key."""


def parse_duration(value: str | int | float, where: str = "duration") -> float:
    """Seconds from `90`, `"30s"`, `"15m"`, `"12h"`, `"2d"`, `"1w"`."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration like '15m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ConfigError(f"{where}: expected a duration like '30s', '15m', '12h' or '2d', got {value!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ConfigError(f"{where}: a duration must be positive, got {value!r}")
    return seconds


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    every: float | None = 900.0  # seconds between polls; None for "auto" (from publishing frequency)
    rules: SiteRules | None = None
    type: str = "feed"  # "feed" (RSS, Atom, JSON Feed), "sitemap" (news sitemap or index), "html" (a list page)
    select: ListSelectors | None = None  # type "html": CSS selectors for items, link, title, date
    paused: bool = False  # kept in the config, not polled by fetch or run


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str | None = field(default=None, repr=False)  # signs each body (HMAC-SHA256); never logged


@dataclass(frozen=True)
class Digest:
    """One message per interval (`every`, seconds) or per day at a local time (`at`, in the target's zone)."""

    every: float | None = None
    at: time | None = None


@dataclass(frozen=True)
class Target:
    """A notify target: an Apprise URL with `${VAR}`s taken from the environment, and when it may be sent to."""

    name: str
    url: str = field(repr=False)  # expanded: may hold passwords and tokens, never logged or shown
    secrets: tuple[str, ...] = field(default=(), repr=False)  # the values put in, scrubbed from any error text
    digest: Digest | None = None
    quiet: tuple[time, time] | None = None  # local start and end (may wrap past midnight)
    zone: str = "UTC"  # IANA time zone of `digest.at` and `quiet`
    template: Path | None = None  # a folder of templates replacing the packaged ones (`ingest.messages`)

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0].lower()

    def scrub(self, text: str) -> str:
        """`text` (an error from a channel) with every secret of this target replaced."""
        from urllib.parse import quote

        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return text


@dataclass(frozen=True)
class Outputs:
    """Where a watchlist's alerts go; not part of the rule, so changing it never changes `Watchlist.version`."""

    webhook: Webhook | None = None
    atom: Path | None = None  # an Atom file rewritten by the daemon
    digest: float | None = None  # seconds: one webhook message per interval instead of one per alert
    notify: tuple[Target, ...] = ()  # Apprise targets, each with its own outbox rows
    mute_until: datetime | None = None  # nothing is sent before then; what was held goes after

    @property
    def sends(self) -> bool:
        """Its alerts go through the outbox (the pipeline queues a row per story)."""
        return bool(self.webhook or self.notify)


@dataclass(frozen=True)
class FetchSettings:
    """The fetcher's bounds (`ingest.fetch`); here so that loading the config does not import the HTTP stack."""

    timeout: float = 30.0  # total per request: connect, redirects, headers and body
    max_bytes: int = 10_000_000  # of the decoded body
    max_redirects: int = 5
    user_agent: str = "ingest/0.1"
    allow_private_networks: bool = False
    per_host_concurrency: int = 2  # requests in flight per host, across all threads
    per_host_delay: float = 0.0  # seconds between request starts to one host


@dataclass(frozen=True)
class Settings:
    """The `[fetch]` table: fetcher bounds plus pipeline knobs."""

    fetch: FetchSettings = field(default_factory=FetchSettings)
    pages: bool = True  # fetch each entry's article page (false: feed content only)
    robots: bool = True  # honor robots.txt for article pages
    threads: int = 8  # concurrent page fetches per poll
    concurrent_sources: int = 3  # sources polled at once, by `ingest fetch` and by the daemon
    store_batch: int = 100  # items stored per transaction (one commit per poll, not one per item)
    processes: int | None = None  # extraction worker processes; None: one per core, 0: in the fetching threads
    max_entries: int = 500  # newest entries taken from one feed document
    # Stored items sharing a similarity band that are scored against a new item, those sharing most bands first.
    near_duplicate_candidates: int = 50
    worker_tasks: int = 10_000  # tasks a worker process runs before the pool is replaced (a parser's slow leak)
    tracking_params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Retention:
    """The `[retention]` table: how long items stay; pruned items leave fingerprints behind."""

    keep: float | None = None  # seconds; None keeps everything
    keep_flagged: bool = True


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str
    settings: Settings
    retention: Retention
    sources: tuple[Source, ...]
    watchlists: tuple[Watchlist, ...]
    outputs: dict[str, Outputs] = field(default_factory=dict)  # by watchlist name; only those with an output
    listen: tuple[str, int] | None = None  # `[server] listen`: the observability listener, off by default
    lock_timeout: float = LOCK_TIMEOUT  # `[database] lock_timeout`
    web_listen: tuple[str, int] | None = None  # `[web] listen`: the web app in `ingest run`, off by default
    public_url: str | None = None  # `[web] public_url`: the web app as others reach it (alert links, WebSub)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named {name!r} (known: {known})")

    @property
    def active_sources(self) -> tuple[Source, ...]:
        """The sources `fetch` and `run` poll: all but the paused ones."""
        return tuple(s for s in self.sources if not s.paused)


def check_name(name: str, what: str, where: str) -> str:
    """`name` if it is an identifier (`NAME_RULE`), else a ConfigError naming the rule and the name."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{where}: {what} name {name!r} is not an identifier: names must match {NAME_RULE} "
                          "(a letter or digit, then up to 63 letters, digits, '.', '_' or '-')")
    return name


def default_path() -> Path:
    return Path(os.environ.get("INGEST_CONFIG") or DEFAULT_PATH)


def load(path: str | Path | None = None) -> Config:
    path = Path(path) if path is not None else default_path()
    return loads(_read(path), path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None


def loads(text: str, path: Path) -> Config:
    """The config in `text`, as if read from `path` (relative paths resolve against its folder)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path) -> Config:
    where = str(path)
    _check_keys(raw, {"database", "fetch", "retention", "server", "sources", "watchlists", "web"}, where, "")
    database = _table(raw, "database", where)
    _check_keys(database, {"url", "lock_timeout"}, where, "database.")
    url = _resolve_sqlite_url(_typed(database, "url", str, where, "database.", "sqlite:///ingest.db"), path.parent)
    try:
        _ = urlsplit(url).port  # raises on a port that is not a number
    except ValueError as exc:  # the message names the port, never the URL: it may hold a password
        raise ConfigError(f"{where}: 'database.url' is not a valid URL: {exc}") from None
    lock_timeout = _typed(database, "lock_timeout", (int, float), where, "database.", LOCK_TIMEOUT)
    if lock_timeout <= 0:
        raise ConfigError(f"{where}: 'database.lock_timeout' must be a positive number of seconds, got {lock_timeout!r}")
    watchlists = _watchlists(raw.get("watchlists", []), where)
    outputs = _outputs(raw.get("watchlists", []), where, path.parent)
    _check_atom_paths(outputs, url, path, where)
    return Config(
        path=path,
        database_url=url,
        lock_timeout=float(lock_timeout),
        settings=_settings(_table(raw, "fetch", where), where),
        retention=_retention(_table(raw, "retention", where), where),
        sources=_sources(raw.get("sources", []), where),
        watchlists=watchlists,
        outputs=outputs,
        listen=_listen(_table(raw, "server", where), where),
        web_listen=_listen(_table(raw, "web", where), where, "web", "127.0.0.1:8080", {"public_url"}),
        public_url=_public_url(_table(raw, "web", where), where),
    )


def _check_atom_paths(outputs: dict[str, Outputs], database_url: str, path: Path, where: str) -> None:
    """An Atom file replaces whatever is at its path: never the database, this file, a folder or another's file."""
    taken = {path.resolve(): "the config file"}
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        database = Path(database_url.removeprefix("sqlite:///")).resolve()
        taken |= {Path(f"{database}{suffix}"): "the database file" for suffix in ("", "-wal", "-shm", "-journal")}
    for name, out in outputs.items():
        if out.atom is None:
            continue
        atom = out.atom.resolve()
        if atom in taken:
            raise ConfigError(f"{where}: watchlist {name!r}: 'atom' {str(out.atom)!r} is {taken[atom]}")
        if atom.is_dir():
            raise ConfigError(f"{where}: watchlist {name!r}: 'atom' {str(out.atom)!r} is a folder; name a file in it")
        taken[atom] = "the 'atom' file of another watchlist"


def _listen(table: dict[str, Any], where: str, section: str = "server",
            example: str = "127.0.0.1:9108", others: set[str] = frozenset()) -> tuple[str, int] | None:
    _check_keys(table, {"listen"} | others, where, f"{section}.")
    value = _typed(table, "listen", str, where, f"{section}.", None)
    return None if value is None else parse_listen(value, f"{where}: {section}.listen", example)


def _public_url(table: dict[str, Any], where: str) -> str | None:
    """`[web] public_url`: an http(s) URL with a host, without a query or fragment; its trailing '/' dropped."""
    value = _typed(table, "public_url", str, where, "web.", None)
    if value is None:
        return None
    try:
        parts = urlsplit(value.strip())
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{where}: 'web.public_url' must be an http(s) URL like 'https://news.example.org/ingest', "
                          f"got {value!r}")
    return value.strip().rstrip("/")


def parse_listen(value: str, what: str, example: str = "127.0.0.1:8080") -> tuple[str, int]:
    """'host:port' (IPv6 in brackets) as (host, port); else a ConfigError naming `what`."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")  # an IPv6 literal: "[::1]:9108"
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{what} must be 'host:port' like '{example}', got {value!r}")
    return host, int(port)


def _settings(table: dict[str, Any], where: str) -> Settings:
    fetch_keys = {f.name for f in fields(FetchSettings)}
    own_keys = {"pages", "robots", "threads", "concurrent_sources", "store_batch", "processes", "max_entries",
                "tracking_params", "near_duplicate_candidates", "worker_tasks"}
    _check_keys(table, fetch_keys | own_keys, where, "fetch.")
    defaults = FetchSettings()
    fetch_values = {}
    for f in fields(FetchSettings):
        default = getattr(defaults, f.name)
        kind = (int, float) if isinstance(default, float) else type(default)
        fetch_values[f.name] = _typed(table, f.name, kind, where, "fetch.", default)
        if isinstance(default, (int, float)) and not isinstance(default, bool) and fetch_values[f.name] < 0:
            raise ConfigError(f"{where}: fetch.{f.name} must not be negative")
    params = _typed(table, "tracking_params", list, where, "fetch.", [])
    if not all(isinstance(p, str) for p in params):
        raise ConfigError(f"{where}: fetch.tracking_params must be a list of strings")
    counts = {name: _typed(table, name, int, where, "fetch.", getattr(Settings, name)) for name in
              ("threads", "concurrent_sources", "store_batch", "max_entries", "near_duplicate_candidates",
               "worker_tasks")}
    for name, value in counts.items():
        if value < 1:
            raise ConfigError(f"{where}: fetch.{name} must be at least 1, got {value}")
    processes = _typed(table, "processes", int, where, "fetch.", None)
    if processes is not None and processes < 0:
        raise ConfigError(f"{where}: fetch.processes must not be negative")
    return Settings(
        fetch=FetchSettings(**fetch_values),
        pages=_typed(table, "pages", bool, where, "fetch.", True),
        robots=_typed(table, "robots", bool, where, "fetch.", True),
        **counts,
        processes=processes,
        tracking_params=tuple(params),
    )


def _retention(table: dict[str, Any], where: str) -> Retention:
    _check_keys(table, {"keep", "keep_flagged"}, where, "retention.")
    keep = table.get("keep")
    return Retention(
        keep=parse_duration(keep, f"{where}: retention.keep") if keep is not None else None,
        keep_flagged=_typed(table, "keep_flagged", bool, where, "retention.", True),
    )


def append_sources(config: Config, feeds: list[tuple[str, str]], every: str) -> list[str]:
    """Add feeds to the config file as [[sources]] tables, keeping its text (and comments) as it is.

    The new text is loaded in memory first, by the same loader; only when it loads does it replace
    the file, by rename, so a failure (a ConfigError) leaves the file exactly as it was.
    """
    urls = {s.url for s in config.sources}
    names = {s.name for s in config.sources}
    suffixes: dict[str, int] = {}
    blocks, added = [], []
    for title, url in feeds:
        if url in urls or not re.match(r"^https?://", url, re.I):
            continue
        name = unique_name(source_name(title, url), names, suffixes)
        urls.add(url)
        added.append(name)
        blocks.append(f"\n[[sources]]\nname = {_toml_str(name)}\nurl = {_toml_str(url)}\nevery = {_toml_str(every)}\n")
    if blocks:
        text = _read(config.path)
        replace_text(config.path, text + ("\n" if text and not text.endswith("\n") else "") + "".join(blocks))
    return added


def replace_text(path: Path, text: str) -> Config:
    """Replace the config file with `text` if it loads (checked in memory first: a ConfigError leaves the file
    as it was), by rename, keeping the file's mode; the new config."""
    new = loads(text, path)
    from ingest.files import write_atomically

    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # a config holding secrets stays private
        write_atomically(path, text.encode("utf-8"), mode)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write config: {exc}") from None
    return new


def read_text(path: Path) -> str:
    """The config file's text, or a ConfigError saying why it cannot be read."""
    return _read(path)


def source_name(title: str, url: str) -> str:
    """A readable identifier for a feed: its title transliterated to ASCII (any script), else its host name."""
    from anyascii import anyascii

    name = _slug(anyascii(title)) if title != url else ""
    return name or _slug(urlsplit(url).hostname or "") or "feed"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].rstrip("-")


def unique_name(base: str, names: set[str], suffixes: dict[str, int]) -> str:
    """`base`, or `base-N` with the first free N (no cap), shortened to stay within NAME_RULE's 64 characters."""
    name, n = base, suffixes.get(base, 1)
    while name in names:
        n += 1
        suffix = f"-{n}"
        name = base[:64 - len(suffix)].rstrip("-") + suffix
    suffixes[base] = n
    names.add(name)
    return name


def _toml_str(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but TOML also forbids a raw DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _sources(items: Any, where: str) -> tuple[Source, ...]:
    if not isinstance(items, list):
        raise ConfigError(f"{where}: 'sources' must be an array of tables ([[sources]])")
    sources, seen = [], set()
    for i, table in enumerate(items):
        prefix = f"sources[{i}]."
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: sources[{i}] must be a table")
        _check_keys(table, {"name", "url", "every", "rules", "type", "select", "paused"}, where, prefix)
        name = check_name(_required(table, "name", str, where, prefix), "source", where)
        url = _required(table, "url", str, where, prefix)
        if not re.match(r"^https?://", url, re.I):
            raise ConfigError(f"{where}: {prefix}url must be an http(s) URL, got {url!r}")
        if name in seen:
            raise ConfigError(f"{where}: two sources are named {name!r}")
        seen.add(name)
        every_raw = table.get("every", "15m")
        try:
            every = None if every_raw == "auto" else parse_duration(every_raw, f"{where}: source {name!r}: every")
        except ConfigError as exc:
            raise ConfigError(f"{exc} (or \"auto\": from how often the feed publishes)") from None
        rules = None
        if "rules" in table:
            from ingest.extract import SiteRules

            try:
                rules = SiteRules.from_config(_table(table, "rules", where), f"{where}: {prefix}rules")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        kind, select = _source_type(table, where, prefix)
        sources.append(Source(name=name, url=url, every=every, rules=rules, type=kind, select=select,
                              paused=_typed(table, "paused", bool, where, prefix, False)))
    return tuple(sources)


def _source_type(table: dict[str, Any], where: str, prefix: str) -> tuple[str, ListSelectors | None]:
    kind = _typed(table, "type", str, where, prefix, "feed")
    if kind not in SOURCE_TYPES:
        raise ConfigError(f"{where}: {prefix}type must be one of {', '.join(SOURCE_TYPES)}, got {kind!r}")
    if (kind == "html") != ("select" in table):
        raise ConfigError(f"{where}: {prefix}select (CSS selectors items, link, title, date) "
                          + ("is required by type = \"html\"" if kind == "html" else "is only for type = \"html\""))
    if kind != "html":
        return kind, None
    from ingest.sources.listpages import ListSelectors  # lxml: only for a config that has a list page

    try:
        return kind, ListSelectors.from_config(table["select"], f"{where}: {prefix}select")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _watchlists(items: Any, where: str) -> tuple[Watchlist, ...]:
    from ingest.watchlists import Watchlist, WatchlistError

    if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
        raise ConfigError(f"{where}: 'watchlists' must be an array of tables ([[watchlists]])")
    try:
        lists = tuple(Watchlist.from_config(t, where) for t in items)
    except WatchlistError as exc:
        raise ConfigError(str(exc)) from None
    names = [check_name(w.name, "watchlist", where) for w in lists]
    if len(names) != len(set(names)):
        raise ConfigError(f"{where}: two watchlists share a name")
    return lists


def _outputs(items: list[dict[str, Any]], where: str, base: Path) -> dict[str, Outputs]:
    outputs = {}
    for table in items:
        at = f"{where}: watchlist {table['name']!r}"
        webhook = _webhook(table["webhook"], at) if "webhook" in table else None
        atom = _typed(table, "atom", str, at, "", None)
        digest = parse_duration(table["digest"], f"{at}: 'digest'") if "digest" in table else None
        if digest is not None and webhook is None:
            raise ConfigError(f"{at}: 'digest' needs a 'webhook' to send the digest to "
                              "(a notify target takes its own: notify = [{url = \"...\", digest = \"1h\"}])")
        if atom is not None and not atom.strip():
            raise ConfigError(f"{at}: 'atom' must be a file path")
        notify = _notify(table.get("notify", []), at, base)
        mute = _mute_until(table.get("mute_until"), at)
        if webhook or atom or notify:
            outputs[table["name"]] = Outputs(webhook, base / atom if atom else None, digest, notify, mute)
    return outputs


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _notify(items: Any, at: str, base: Path) -> tuple[Target, ...]:
    """`notify = ["json://…", {url = "mailto://…", name = "desk", digest = "08:00", timezone = "…", quiet = "22:00-07:00",
    template = "templates/desk"}]`."""
    if not isinstance(items, list):
        raise ConfigError(f"{at}: 'notify' must be a list of Apprise URLs or tables like {{url = \"...\"}}")
    targets: list[Target] = []
    for i, item in enumerate(items):
        prefix = f"notify[{i}]."
        table = {"url": item} if isinstance(item, str) else item
        if not isinstance(table, dict):
            raise ConfigError(f"{at}: 'notify[{i}]' must be an Apprise URL or a table")
        _check_keys(table, {"url", "name", "digest", "timezone", "quiet", "template"}, at, prefix)
        raw = _required(table, "url", str, at, prefix)
        if not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", raw, re.I):
            raise ConfigError(f"{at}: '{prefix}url' must be an Apprise URL like 'mailto://…' or 'ntfy://…'")
        scheme = raw.partition("://")[0].lower()
        default = f"{scheme}-{hashlib.sha256(raw.encode()).hexdigest()[:6]}"  # stable while the URL is
        name = check_name(_typed(table, "name", str, at, prefix, default), "notify target", at)
        if name in {t.name for t in targets}:
            raise ConfigError(f"{at}: two notify targets are named {name!r}")
        zone = _typed(table, "timezone", str, at, prefix, "UTC")
        _zone(zone, f"{at}: '{prefix}timezone'")
        url, secrets = _expand(raw, f"{at}: '{prefix}url'")
        targets.append(Target(name, url, secrets, _digest(table.get("digest"), f"{at}: '{prefix}digest'"),
                              _quiet(_typed(table, "quiet", str, at, prefix, None), f"{at}: '{prefix}quiet'"), zone,
                              _template(_typed(table, "template", str, at, prefix, None), base, f"{at}: '{prefix}template'")))
    return tuple(targets)


def _template(value: str | None, base: Path, where: str) -> Path | None:
    """The folder of a target's templates (relative to the config's), each template in it compiled now."""
    if value is None:
        return None
    folder = (base / value).resolve()
    if not folder.is_dir():
        raise ConfigError(f"{where}: {value!r} is {'not a folder' if folder.exists() else 'missing'} ({folder})")
    from ingest.messages import TemplateFailed, check

    try:
        check(folder)
    except TemplateFailed as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return folder


def _expand(url: str, where: str) -> tuple[str, tuple[str, ...]]:
    """`${VAR}` replaced from the environment; the values are secrets (a missing one is a config error)."""
    values = []

    def value(match: re.Match) -> str:
        found = os.environ.get(match.group(1))
        if not found:
            raise ConfigError(f"{where}: environment variable {match.group(1)} is not set or empty")
        values.append(found)
        return found

    return _VARIABLE.sub(value, url), tuple(values)


def _digest(value: Any, where: str) -> Digest | None:
    if value is None:
        return None
    if isinstance(value, str) and _CLOCK.match(value.strip()):
        return Digest(at=_clock(value, where))
    try:
        return Digest(every=parse_duration(value, where))
    except ConfigError:
        raise ConfigError(f"{where}: expected an interval like '1h' or a daily time like '08:00', got {value!r}") from None


def _clock(value: str, where: str) -> time:
    m = _CLOCK.match(value.strip())
    if not m:
        raise ConfigError(f"{where}: expected a time of day like '07:30', got {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def _quiet(value: str | None, where: str) -> tuple[time, time] | None:
    if value is None:
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise ConfigError(f"{where}: expected 'HH:MM-HH:MM' like '22:00-07:00', got {value!r}")
    window = (_clock(start, where), _clock(end, where))
    if window[0] == window[1]:
        raise ConfigError(f"{where}: the quiet hours start and end at the same time")
    return window


def _zone(name: str, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: unknown time zone {name!r} (an IANA name like 'Europe/Yerevan')") from None


def _mute_until(value: Any, at: str) -> datetime | None:
    """A TOML date-time or an ISO string; one without a zone is UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{at}: 'mute_until' must be a date and time like 2026-12-24T08:00:00Z, got {value!r}") from None
    if not isinstance(value, datetime):
        raise ConfigError(f"{at}: 'mute_until' must be a date and time like 2026-12-24T08:00:00Z, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _webhook(table: Any, at: str) -> Webhook:
    if not isinstance(table, dict):
        raise ConfigError(f"{at}: 'webhook' must be a table like {{url = \"https://...\", secret_env = \"NAME\"}}")
    _check_keys(table, {"url", "secret", "secret_env"}, at, "webhook.")
    url = _required(table, "url", str, at, "webhook.")
    if not re.match(r"^https?://[^/?#]+", url, re.I):
        raise ConfigError(f"{at}: 'webhook.url' must be an http(s) URL, got {url!r}")
    if "secret" in table and "secret_env" in table:
        raise ConfigError(f"{at}: 'webhook.secret' and 'webhook.secret_env' exclude each other; use one")
    secret = _typed(table, "secret", str, at, "webhook.", None)
    if "secret_env" in table:
        name = _required(table, "secret_env", str, at, "webhook.")
        secret = os.environ.get(name)
        if not secret:
            raise ConfigError(f"{at}: 'webhook.secret_env': environment variable {name} is not set or empty")
    if secret is not None and not secret:
        raise ConfigError(f"{at}: 'webhook.secret' must not be empty")
    return Webhook(url, secret)


def _resolve_sqlite_url(url: str, base: Path) -> str:
    """Relative SQLite paths resolve against the config file's folder, not the cwd."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:":
        return url
    db_path = Path(url[len(prefix):])
    if not db_path.is_absolute():
        db_path = (base / db_path).resolve()
    return prefix + str(db_path)


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{prefix}{key}' (allowed: {', '.join(sorted(allowed))})")


def _table(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table")
    return value


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, prefix: str, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    # bool is an int subclass: `timeout = true` must not pass as a number.
    if isinstance(value, bool) and kind is not bool:
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: '{prefix}{key}' must be of type {names}, got {value!r}")
    return value


def _required(table: dict[str, Any], key: str, kind: type, where: str, prefix: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: '{prefix}{key}' is required")
    value = _typed(table, key, kind, where, prefix, None)
    if isinstance(value, str) and not value.strip():
        raise ConfigError(f"{where}: '{prefix}{key}' must not be empty")
    return value

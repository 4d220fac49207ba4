"""End-to-end throughput of `ingest` against a feed farm on 127.0.0.1 (issue 9).

Run:  /work/venv/bin/python bench/pipeline.py [--feeds 200] [--entries 25] [--quick] [--skip daemon,feeds,peer]
          [--daemon-feeds 10000] [--daemon-seconds 90] [--warm-feeds 2000] [--profile DIR] [--shared DIR] [--keep DIR]
          [--threads 8] [--ceiling-pages 2000] [--in-thread-too] [--ingest "CMD"] [--py-spy-args "--gil"]
The shared folder defaults to <repo>/../shared, or $INGEST_SHARED.  `--quick` is a smoke run
(20 feeds x 5 entries, 1,000 quiet feeds for 20 s).  Sections: ceiling, cold, warm, daemon, feeds, peer.

The farm is a small asyncio HTTP/1.1 server (keep-alive) in its own process, so it does not
compete for our GIL.  Feed i is RSS 2.0 at /f/i.xml with E items; item j links /a/i/j.html, a
corpus page (shared/corpus/articles/html, decompressed) with a paragraph naming (i, j) injected
inside its article body, so that every URL is distinct and no two pages have the same text (they
are near-duplicates of the 91 corpus articles, as reprints are).  Responses carry Date, ETag,
Last-Modified, Cache-Control, Vary; gzip when asked (pre-compressed around the injected part);
304 on If-None-Match / If-Modified-Since.  `ingest` runs as a subprocess (`python -m ingest`)
with a generated config.toml: allow_private_networks = true, per_host_concurrency = 4 x threads
and per_host_delay = 0, because every feed is on one host (127.0.0.1) and per-host politeness
would otherwise throttle the whole farm; logs at info level go to a file, as a daemon's would.

What each line means (load = `uptime` 1-minute load average when the section ended):
  ceiling      the work every item requires, alone: `ingest.poll.draft.draft` (decode, extract, language,
               fingerprints, watchlist matching, page compression) on the farm's pages, a fork Pool
               of cpu_count() processes, no I/O, no store: items/s, and CPU ms per item (the workers'
               user+sys).  The most the pipeline could reach; the target is cold >= 80% of it.
  cold         `ingest fetch` over the whole farm into an empty SQLite file: items/s (items
               stored / wall time, start-up included), CPU s (user+sys of the child and its
               children: wait4, or the sum sampled over its process tree if larger; `main process`
               is the ingest process alone, the serial part when extraction runs in workers), peak RSS (sum over the child's process tree, sampled every
               0.1 s), and items/s as % of the ceiling.  The second line compares CPU per item
               with the ceiling's CPU per page: that share does not depend on what else the
               machine runs, unlike items/s; the rest is our plumbing (HTTP, feeds, fingerprints,
               storage, logging, start-up).
  warm         the same command again, WARM_RUNS (5) times: every feed answers 304.  Each run is
               paired with a one-feed 304 run, its start-up.  Medians over the runs: wall time and
               feeds/s over it; `net` feeds/s = feeds / (wall - start-up), with min and max (the net
               time is a fraction of a second, so one run alone is noisy); CPU ms per feed beyond
               the start-up run's CPU (load-independent); farm CPU is per run.
  warm-quiet   the same over --warm-feeds (default 2,000) of the daemon's quiet feeds, seeded with their
               validators: the farm's 200 feeds take 0.2-0.4 s beyond the start-up, too short to read well.
  daemon       `ingest run` over N quiet feeds (default 10,000) answering 304, `every = "30s"`,
               for --daemon-seconds of real time after start-up (the database is seeded with each
               feed's validators, as a first poll would leave it).  Reports start-up time, polls
               done, CPU ms per poll, CPU % of one core, RSS; and the CPU % that follows for the
               default 15-minute schedule (polls per second at every = 15m x CPU per poll).
  feeds-only   `ingest fetch` with `[fetch] pages = false` over the farm (F feeds, F x E entries
               from the feed's own <description>) into an empty database: feeds/s.
  peer         what a user would write instead (bench/peer_pipeline.py): httpx, feedparser,
               trafilatura, datasketch MinHash LSH, SQLite FTS5, a `re` alternation of the
               watchlist terms, with the same threads and processes, over the same farm into an
               empty database: items/s and CPU per item; the target is cold >= 2.5x its items/s.
               Timed as a whole subprocess, like ingest.
  farm CPU     CPU seconds the farm server itself used during the section (it shares the cores).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import html
import json
import multiprocessing
import os
import re
import resource
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate
from functools import lru_cache
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.extract import decode_html, extract  # noqa: E402

PYTHON = sys.executable
LAST_MODIFIED = "Wed, 25 Nov 2026 08:00:00 GMT"
EPOCH = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
TOKEN = "Reference {i}-{j}: this copy was served by the benchmark farm as entry {j} of feed {i}, so that its text differs."
WATCHLISTS = {"politics": ["election", "parliament", "prime minister", "opposition"],
              "security": ["military", "missile", "border", "ceasefire", "sanctions"]}


# -- pages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A corpus page split where the per-copy paragraph goes, with both halves pre-compressed."""

    name: str
    title: str
    summary: str  # HTML for the feed item's <description>
    prefix: bytes
    suffix: bytes
    z_prefix: bytes = b""  # raw deflate, sync-flushed: byte-aligned, no back-references outside
    z_suffix: bytes = b""  # raw deflate, finished
    crc_prefix: int = 0

    def body(self, token: str) -> bytes:
        return self.prefix + _token_html(token) + self.suffix

    def gzipped(self, token: str) -> bytes:
        """The same bytes as gzip(body(token)), compressing only the injected paragraph per request."""
        middle = _token_html(token)
        c = zlib.compressobj(1, zlib.DEFLATED, -15)
        z_middle = c.compress(middle) + c.flush(zlib.Z_SYNC_FLUSH)
        crc = zlib.crc32(self.suffix, zlib.crc32(middle, self.crc_prefix))
        size = len(self.prefix) + len(middle) + len(self.suffix)
        return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + self.z_prefix + z_middle + self.z_suffix
                + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))


def _token_html(token: str) -> bytes:
    return f"<p>{html.escape(token)}</p>\n".encode()


def load_pages(shared: Path) -> tuple[list[Page], list[str]]:
    """Every corpus page where an injected paragraph is kept by our extractor; names of those skipped."""
    pages, skipped = [], []
    for path in sorted((shared / "corpus" / "articles" / "html").glob("*.html.gz")):
        page = _split(path.name.removesuffix(".html.gz"), gzip.decompress(path.read_bytes()))
        (pages.append(page) if page else skipped.append(path.name))
    return pages, skipped


_IDENTITY = re.compile(r"<link[^>]*rel=[\"']?canonical[^>]*>|<meta[^>]*property=[\"']?og:url[^>]*>", re.I)


def _split(name: str, raw: bytes) -> Page | None:
    # Copies of one page must not share a canonical URL, or they would be taken for one article revised.
    text = _IDENTITY.sub("", decode_html(raw, "text/html"))
    article = extract(text, f"http://farm/{name}")
    paragraphs = [b.text for b in article.blocks if b.kind == "paragraph" and len(b.text) > 80]
    summary = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs[:2])
    data = text.encode("utf-8")
    for para, n in ((p, n) for n in (4, 2) for p in paragraphs):
        at = data.find(" ".join(para.split()[:n]).encode())
        start = data.rfind(b"<p", 0, at) if at > 0 else -1
        if start <= 0:
            continue
        page = _compressed(Page(name, article.title or name, summary, data[:start], data[start:]))
        probe = TOKEN.format(i=0, j=0)
        if probe in extract(page.body(probe).decode(), f"http://farm/{name}").text:
            return page
    return None


def _compressed(p: Page) -> Page:
    a = zlib.compressobj(6, zlib.DEFLATED, -15)
    b = zlib.compressobj(6, zlib.DEFLATED, -15)
    z_prefix = a.compress(p.prefix) + a.flush(zlib.Z_SYNC_FLUSH)
    z_suffix = b.compress(p.suffix) + b.flush(zlib.Z_FINISH)
    page = Page(p.name, p.title, p.summary, p.prefix, p.suffix, z_prefix, z_suffix, zlib.crc32(p.prefix))
    assert gzip.decompress(page.gzipped("x")) == page.body("x")
    return page


# -- the farm -----------------------------------------------------------------------------------


@dataclass
class Farm:
    """What the server serves: F feeds of E entries at /f/, Q quiet one-entry feeds at /q/."""

    pages: list[Page]
    feeds: int
    entries: int
    quiet: int = 0
    port: int = 0  # set by the server process once bound
    counts: dict[str, int] = field(default_factory=dict)

    def page_of(self, i: int, j: int) -> Page:
        return self.pages[(i * self.entries + j) % len(self.pages)]

    def respond(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        m = re.fullmatch(r"/(f|q)/(\d+)\.xml|/a/(\d+)/(\d+)\.html|/__stats", path)
        if m is None:
            return 404, {"Content-Type": "text/plain"}, b"not found\n"
        if path == "/__stats":
            return 200, {"Content-Type": "application/json"}, json.dumps(self.counts).encode()
        kind = m.group(1) or "a"
        i = int(m.group(2) or m.group(3))
        j = int(m.group(4) or 0)
        if i >= (self.quiet if kind == "q" else self.feeds) or j >= self.entries:
            return 404, {"Content-Type": "text/plain"}, b"not found\n"
        etag = f'"{kind}{i}-{j}-v1"'
        common = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Vary": "Accept-Encoding"}
        if headers.get("if-none-match") == etag or (
                "if-none-match" not in headers and headers.get("if-modified-since") == LAST_MODIFIED):
            self._count(kind + "304")
            return 304, common, b""
        self._count(kind + "200")
        gz = "gzip" in headers.get("accept-encoding", "")
        if kind == "a":
            page, token = self.page_of(i, j), TOKEN.format(i=i, j=j)
            body = page.gzipped(token) if gz else page.body(token)
            ctype, cache = "text/html; charset=utf-8", "public, max-age=300"
        else:
            body = _feed_xml(self, kind, i, gz)
            ctype, cache = "application/rss+xml; charset=utf-8", "no-cache"
        extra = {"Content-Encoding": "gzip"} if gz else {}
        return 200, {"Content-Type": ctype, "Cache-Control": cache, **common, **extra}, body

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


@lru_cache(maxsize=4096)
def _feed_xml_cached(farm_id: int, kind: str, i: int, gz: bool) -> bytes:
    farm = _FARMS[farm_id]
    n = 1 if kind == "q" else farm.entries
    items = []
    for j in range(n):
        page = farm.page_of(i, j)
        published = format_datetime(EPOCH - timedelta(minutes=i * farm.entries + j), usegmt=True)
        summary = page.summary + f"<p>{html.escape(TOKEN.format(i=i, j=j))}</p>"
        items.append(
            f"<item><title>{html.escape(page.title)} ({i}/{j})</title>"
            f"<link>http://127.0.0.1:{farm.port}/a/{i}/{j}.html</link>"
            f"<guid isPermaLink=\"false\">farm-{kind}-{i}-{j}</guid><pubDate>{published}</pubDate>"
            f"<description>{html.escape(summary)}</description></item>")
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Farm feed {kind}{i}</title><link>http://127.0.0.1:{farm.port}/</link>"
            f"<description>benchmark farm</description>{''.join(items)}</channel></rss>\n").encode()
    return gzip.compress(body, 6) if gz else body


_FARMS: dict[int, Farm] = {}


def _feed_xml(farm: Farm, kind: str, i: int, gz: bool) -> bytes:
    return _feed_xml_cached(id(farm), kind, i, gz)


async def _serve_conn(farm: Farm, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            status, out, body = farm.respond(target.split("?", 1)[0], headers)
            out = {"Date": formatdate(usegmt=True), "Server": "farm/1", **out, "Content-Length": str(len(body))}
            reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
            head_out = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in out.items()) + "\r\n"
            writer.write(head_out.encode("latin-1") + (b"" if method == "HEAD" or status == 304 else body))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def _farm_main(farm: Farm, conn) -> None:  # noqa: ANN001
    """The server process: bind an ephemeral port, send it back, serve until killed."""
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _serve_conn(farm, r, w), "127.0.0.1", 0, backlog=1024)
        farm.port = server.sockets[0].getsockname()[1]
        _FARMS[id(farm)] = farm
        conn.send(farm.port)
        async with server:
            await server.serve_forever()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())


class FarmServer:
    def __init__(self, farm: Farm):
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=_farm_main, args=(farm, child), daemon=True)
        self.process.start()
        self.port = parent.recv()
        self.ps = psutil.Process(self.process.pid)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def stats(self) -> dict[str, int]:
        import urllib.request
        with urllib.request.urlopen(self.url("/__stats"), timeout=10) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.process.terminate()
        self.process.join(5)


# -- running ingest -----------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss: int  # bytes, summed over the process tree
    returncode: int
    main_cpu: float  # the child process alone (last 0.1 s sample): with extraction in workers, the serial part
    stdout: str


def run_child(cmd: list[str], cwd: Path, log: Path, timeout: float, env: dict | None = None) -> Run:
    """Run a command; wall time, CPU of it and its descendants (wait4), peak RSS of its tree."""
    stdout = log.with_suffix(".out")
    with open(log, "ab") as err, open(stdout, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        peak, cpus = [0], {}
        done = threading.Event()
        threading.Thread(target=_sample, args=(proc.pid, peak, cpus, done), daemon=True).start()
        timer = threading.Timer(timeout, lambda: proc.kill())
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        wall = time.monotonic() - started
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
    # wait4 misses descendants the child never reaps (a forkserver's workers): take the sampled sum if larger.
    cpu = max(usage.ru_utime + usage.ru_stime, sum(cpus.values()))
    return Run(wall, cpu, peak[0], proc.returncode, cpus.get(proc.pid, cpu), stdout.read_text(errors="replace"))


def tree_sample(pid: int, cpus: dict[int, float] | None = None) -> int:
    """RSS summed over a process tree; records each process's CPU seconds so far in `cpus`."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                if cpus is not None:
                    t = p.cpu_times()
                    cpus[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return total


def _sample(pid: int, peak: list[int], cpus: dict[int, float], done: threading.Event) -> None:
    while not done.wait(0.1):
        peak[0] = max(peak[0], tree_sample(pid, cpus))


FETCH_EXTRA: list[str] = []  # --fetch-option, e.g. "concurrent_sources = 6"


def write_config(path: Path, db: Path, urls: list[str], *, pages: bool, threads: int, every: str = "15m",
                 processes: int | None = None) -> int:
    """A config for the farm; returns the per-host concurrency it sets."""
    per_host = 4 * threads
    lines = ["[database]", f'url = "sqlite:///{db}"', "", "[fetch]", "allow_private_networks = true",
             f"per_host_concurrency = {per_host}", "per_host_delay = 0", f"threads = {threads}",
             f"pages = {'true' if pages else 'false'}", "timeout = 30", *FETCH_EXTRA]
    lines += [f"processes = {processes}", ""] if processes is not None else [""]
    for name, terms in WATCHLISTS.items():
        lines += ["[[watchlists]]", f'name = "{name}"', f"terms = {json.dumps(terms)}", ""]
    for n, url in enumerate(urls):
        lines += ["[[sources]]", f'name = "farm-{n:05d}"', f'url = "{url}"', f'every = "{every}"', ""]
    path.write_text("\n".join(lines))
    return per_host


WARM_RUNS = 5  # warm runs (each with its one-feed start-up run); the warm line gives medians
PY_SPY_EXTRA: list[str] = []  # --py-spy-args, e.g. "--gil" to sample only the thread holding the GIL
INGEST = [PYTHON, "-m", "ingest"]  # --ingest replaces it, to time a variant (e.g. a patched entry point)


def ingest_cmd(config: Path, *args: str, profile: list[str] | None = None) -> list[str]:
    return [*(profile or []), *INGEST, "--config", str(config), *args]


def py_spy(output: Path, *extra: str) -> list[str]:
    exe = Path(PYTHON).parent / "py-spy"
    return [str(exe) if exe.exists() else "py-spy", "record", "--rate", "50", "--format", "raw", *extra, *PY_SPY_EXTRA,
            "-o", str(output), "--"]


def count_items(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return c.execute("select count(*) from item").fetchone()[0]


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


# -- sections -----------------------------------------------------------------------------------

_CEILING_PAGES: list[bytes] = []
_MATCHER: list = []


def _build_one(n: int) -> int:
    """The work every stored item requires, as a worker does it: extract, language, fingerprints, match, compress."""
    from ingest.article import Page
    from ingest.feeds import FeedEntry
    from ingest.poll.draft import Context, draft

    if not _MATCHER:
        from ingest.watchlists import Watchlist, compile_watchlists
        _MATCHER.append(compile_watchlists([Watchlist.from_config({"name": name, "terms": terms}, "bench")
                                            for name, terms in WATCHLISTS.items()]))
    url = f"http://127.0.0.1/a/{n}.html"
    entry = FeedEntry(guid=f"farm-{n}", url=url, title=None, published=EPOCH, updated=None)
    d = draft(entry, Context("farm"), _MATCHER[0], Page(url, "text/html; charset=utf-8", _CEILING_PAGES[n]))
    return len(d.article.blocks)


def ceiling(farm: Farm, limit: int) -> dict:
    total = min(farm.feeds * farm.entries, limit)
    _CEILING_PAGES[:] = [farm.page_of(i // farm.entries, i % farm.entries).body(
        TOKEN.format(i=i // farm.entries, j=i % farm.entries)) for i in range(total)]
    procs = multiprocessing.cpu_count()
    before = _children_cpu()
    pool = multiprocessing.get_context("fork").Pool(procs)
    pool.map(_build_one, range(procs), chunksize=1)  # workers up and warm
    started = time.monotonic()
    pool.map(_build_one, range(total), chunksize=4)
    wall = time.monotonic() - started
    pool.close()
    pool.join()
    cpu = _children_cpu() - before  # the workers, reaped by join (warm-up pages included)
    return {"pages": total, "processes": procs, "wall": wall, "rate": total / wall, "cpu_ms": 1000 * cpu / total,
            "load": load()}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Ctx:
    server: FarmServer
    farm: Farm
    work: Path
    threads: int
    profile: Path | None
    ceiling_cpu_ms: float | None = None
    cold_rate: float | None = None
    out: list[str] = field(default_factory=list)

    def emit(self, line: str) -> None:
        print(line, flush=True)
        self.out.append(line)


def cold_and_warm(ctx: Ctx, ceiling_rate: float | None, skip: set[str], processes: int | None = None) -> None:
    d = ctx.work / ("cold" if processes is None else f"cold-processes-{processes}")
    d.mkdir()
    urls = [ctx.server.url(f"/f/{i}.xml") for i in range(ctx.farm.feeds)]
    per_host = write_config(d / "config.toml", d / "ingest.db", urls, pages=True, threads=ctx.threads,
                            processes=processes)
    ctx.emit(f"# config: threads = {ctx.threads}, processes = {'default' if processes is None else processes}, "
             f"per_host_concurrency = {per_host}, per_host_delay = 0, {len(WATCHLISTS)} watchlists, "
             "logs at info to a file")
    profile = None
    if ctx.profile:
        profile = py_spy(ctx.profile / "cold.txt", "--subprocesses")
    farm_cpu = ctx.server.cpu()
    r = run_child(ingest_cmd(d / "config.toml", "fetch", profile=profile), d, d / "log.jsonl", 3600)
    farm_cpu = ctx.server.cpu() - farm_cpu
    items = count_items(d / "ingest.db")
    rate = items / r.wall
    if processes is None:
        ctx.cold_rate = rate
    share = f"{100 * rate / ceiling_rate:5.1f}% of ceiling" if ceiling_rate else "ceiling skipped"
    ctx.emit(f"cold         {items:6d} items {r.wall:7.1f} s {rate:8.1f} items/s  CPU {r.cpu:6.1f} s "
             f"(main process {r.main_cpu:.1f})  "
             f"peak RSS {r.peak_rss / 2**20:6.0f} MB  {share}  rc {r.returncode}  farm CPU {farm_cpu:.1f} s  "
             f"load {load()}")
    if ctx.ceiling_cpu_ms and items:
        per_item = 1000 * r.cpu / items
        ctx.emit(f"             CPU {per_item:.1f} ms/item vs the required work alone {ctx.ceiling_cpu_ms:.1f} ms/page: "
                 f"the required work is {100 * ctx.ceiling_cpu_ms / per_item:.0f}% of our CPU (load-independent)")
    if "warm" not in skip:
        warm(ctx, d, ctx.farm.feeds, "warm")


def warm(ctx: Ctx, d: Path, feeds: int, label: str) -> None:
    """`ingest fetch` again over a database that has every feed's validators: each answers 304."""
    # A warm run's net time is a fraction of a second beside the start-up: one pair varies by a
    # quarter, so WARM_RUNS pairs (every feed, then one feed for the start-up) and the median.
    farm_cpu = ctx.server.cpu()
    nets, walls, cpus, rss, rcs, startups = [], [], [], [], [], []
    for _ in range(WARM_RUNS):
        r = run_child(ingest_cmd(d / "config.toml", "fetch"), d, d / "log-warm.jsonl", 600)
        one = run_child(ingest_cmd(d / "config.toml", "fetch", "--source", "farm-00000"), d, d / "log-one.jsonl", 600)
        nets.append(feeds / max(r.wall - one.wall, 1e-3))
        cpus.append(1000 * (r.cpu - one.cpu) / max(feeds - 1, 1))
        walls.append(r.wall)
        startups.append(one.wall)
        rss.append(r.peak_rss)
        rcs.append(r.returncode)
    farm_cpu = (ctx.server.cpu() - farm_cpu) / WARM_RUNS
    wall = statistics.median(walls)
    ctx.emit(f"{label:12s} {feeds:6d} feeds {wall:7.2f} s {feeds / wall:8.1f} feeds/s  "
             f"net {statistics.median(nets):8.1f} feeds/s (min {min(nets):.0f}, max {max(nets):.0f}; "
             f"start-up {statistics.median(startups):.2f} s)  "
             f"CPU {statistics.median(cpus):.2f} ms/feed over start-up (min {min(cpus):.2f})  "
             f"peak RSS {max(rss) / 2**20:6.0f} MB  rc {max(rcs, key=abs)}  farm CPU {farm_cpu:.2f} s/run  "
             f"medians of {WARM_RUNS} runs  load {load()}")


def warm_quiet(ctx: Ctx, feeds: int) -> None:
    """The warm pass over more feeds than the farm's 200, whose net time (0.2-0.4 s) is too short to read well:
    the daemon's quiet feeds, seeded with their validators as a first poll would leave them."""
    d = ctx.work / "warm-quiet"
    d.mkdir()
    urls = [ctx.server.url(f"/q/{i}.xml") for i in range(feeds)]
    write_config(d / "config.toml", d / "ingest.db", urls, pages=True, threads=ctx.threads)
    seed_quiet(d / "config.toml", d / "ingest.db", [(f"farm-{i:05d}", u, i) for i, u in enumerate(urls)])
    warm(ctx, d, feeds, "warm-quiet")


def seed_quiet(config: Path, db: Path, names_urls: list[tuple[str, str, int]]) -> float:
    """Store each quiet feed's validators, as its first poll would have; returns seconds taken."""
    started = time.monotonic()
    from sqlmodel import Session

    from ingest.storage.store import Store
    from ingest.storage.tables import SourceRow

    store = Store(f"sqlite:///{db}")
    store.prepare()
    now = datetime.now(timezone.utc)
    with Session(store.engine) as s:
        s.add_all(SourceRow(name=name, config_url=url, url=url, etag=f'"q{i}-0-v1"', last_modified=LAST_MODIFIED,
                            last_polled=now, last_success=now, next_poll=now) for name, url, i in names_urls)
        s.commit()
    store.close()
    return time.monotonic() - started


def quiet_daemon(ctx: Ctx, feeds: int, seconds: float) -> None:
    d = ctx.work / "daemon"
    d.mkdir()
    urls = [ctx.server.url(f"/q/{i}.xml") for i in range(feeds)]
    write_config(d / "config.toml", d / "ingest.db", urls, pages=False, threads=ctx.threads, every="30s")
    seeded = seed_quiet(d / "config.toml", d / "ingest.db", [(f"farm-{i:05d}", u, i) for i, u in enumerate(urls)])
    log = d / "log.jsonl"
    cmd = ingest_cmd(d / "config.toml", "run")
    if ctx.profile:
        cmd = [*py_spy(ctx.profile / "daemon.txt"), *cmd]
    with open(log, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=err)
    target = _ingest_pid(proc.pid)
    ps = psutil.Process(target)
    ready = _wait_for(log, "daemon_started", 600)
    startup = time.monotonic() - started
    t0 = ps.cpu_times()
    startup_cpu = t0.user + t0.system
    before = ctx.server.stats().get("q304", 0)
    farm_cpu = ctx.server.cpu()
    peak, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(1)
        peak = max(peak, ps.memory_info().rss)
    t1 = ps.cpu_times()
    polls = ctx.server.stats().get("q304", 0) - before
    farm_cpu = ctx.server.cpu() - farm_cpu
    rss = ps.memory_info().rss
    stopping = time.monotonic()
    os.kill(target, signal.SIGTERM)  # the daemon drains and exits; py-spy, if any, then writes its profile
    _, alive = psutil.wait_procs([ps], timeout=150)  # the daemon's grace is 30 s
    stopped = time.monotonic() - stopping
    for p in alive:
        p.kill()
    try:
        proc.wait(60)  # py-spy, when profiling, writes its profile after the daemon exits
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    cpu = (t1.user + t1.system) - startup_cpu
    per_poll = cpu / polls if polls else float("nan")
    scheduled = feeds / 30
    ctx.emit(f"daemon       {feeds:6d} feeds: seed {seeded:.1f} s, start-up {startup:.1f} s "
             f"({startup_cpu:.1f} CPU s{'' if ready else ', NOT READY'}); then {seconds:.0f} s: {polls} polls "
             f"({polls / seconds:.0f}/s of {scheduled:.0f}/s scheduled), {1000 * per_poll:.2f} CPU ms/poll, "
             f"{100 * cpu / seconds:.1f}% of a core, RSS {rss / 2**20:.0f} MB (peak {peak / 2**20:.0f})  "
             f"farm CPU {farm_cpu:.1f} s  load {load()}")
    ctx.emit(f"             SIGTERM to exit: {stopped:.1f} s{' (killed)' if alive else ''}")
    for label, every in (("15m", 900), ("5m", 300)):
        ctx.emit(f"             at every = {label}: {feeds / every:.1f} polls/s x {1000 * per_poll:.2f} ms = "
                 f"{100 * per_poll * feeds / every:.2f}% of a core")


def _ingest_pid(pid: int) -> int:
    """The ingest process itself (py-spy, when profiling, is its parent)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            cmdline = p.cmdline()
            if "ingest" in cmdline and "py-spy" not in cmdline[0]:
                return p.pid
        time.sleep(0.1)
    return pid


def _wait_for(log: Path, event: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and event in log.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


def feeds_only(ctx: Ctx) -> None:
    d = ctx.work / "feeds-only"
    d.mkdir()
    urls = [ctx.server.url(f"/f/{i}.xml") for i in range(ctx.farm.feeds)]
    write_config(d / "config.toml", d / "ingest.db", urls, pages=False, threads=ctx.threads)
    farm_cpu = ctx.server.cpu()
    profile = py_spy(ctx.profile / "feeds-only.txt") if ctx.profile else None
    ours = run_child(ingest_cmd(d / "config.toml", "fetch", profile=profile), d, d / "log.jsonl", 1800)
    farm_cpu = ctx.server.cpu() - farm_cpu
    items = count_items(d / "ingest.db")
    ctx.emit(f"feeds-only   {ctx.farm.feeds:6d} feeds {ours.wall:7.1f} s {ctx.farm.feeds / ours.wall:8.1f} feeds/s  "
             f"{items} items  CPU {ours.cpu:6.1f} s  peak RSS {ours.peak_rss / 2**20:6.0f} MB  rc {ours.returncode}  "
             f"farm CPU {farm_cpu:.1f} s  load {load()}")


def peer(ctx: Ctx) -> None:
    """The peer pipeline over the same farm (fresh page copies are served again, so nothing is cached)."""
    try:
        import datasketch  # noqa: F401
        import trafilatura  # noqa: F401
    except ImportError:
        ctx.emit("peer         datasketch or trafilatura not installed (pip install -e '.[bench]'): skipped")
        return
    d = ctx.work / "peer"
    d.mkdir()
    urls = [ctx.server.url(f"/f/{i}.xml") for i in range(ctx.farm.feeds)]
    (d / "urls.json").write_text(json.dumps(urls))
    terms = json.dumps([t for ts in WATCHLISTS.values() for t in ts])
    farm_cpu = ctx.server.cpu()
    r = run_child([PYTHON, str(REPO / "bench" / "peer_pipeline.py"), str(d / "urls.json"), str(d / "peer.db"),
                   "--threads", str(ctx.threads), "--terms", terms], d, d / "peer.log", 3600)
    farm_cpu = ctx.server.cpu() - farm_cpu
    inner = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
    items = inner.get("items", 0)
    rate = items / r.wall
    ctx.emit(f"peer         {items:6d} items {r.wall:7.1f} s {rate:8.1f} items/s  CPU {r.cpu:6.1f} s "
             f"({1000 * r.cpu / max(items, 1):.1f} ms/item)  peak RSS {r.peak_rss / 2**20:6.0f} MB  "
             f"{inner.get('near_duplicates', '?')} near-duplicates  rc {r.returncode}  farm CPU {farm_cpu:.1f} s  "
             f"load {load()}")
    if ctx.cold_rate and rate:
        ctx.emit(f"             ingest cold / peer: x{ctx.cold_rate / rate:.2f} items/s")


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=25)
    ap.add_argument("--threads", type=int, default=8, help="[fetch] threads for ingest")
    ap.add_argument("--daemon-feeds", type=int, default=10_000)
    ap.add_argument("--warm-feeds", type=int, default=2_000, help="quiet feeds for the warm-quiet line (at most --daemon-feeds)")
    ap.add_argument("--daemon-seconds", type=float, default=90.0)
    ap.add_argument("--ceiling-pages", type=int, default=2000, help="pages extracted for the ceiling, at most")
    ap.add_argument("--in-thread-too", action="store_true",
                    help="run cold ingest again with [fetch] processes = 0 (extraction in the fetching threads)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20x5 farm, 1,000 quiet feeds for 20 s")
    ap.add_argument("--skip", default="", help="comma-separated: ceiling,cold,warm,daemon,feeds,peer")
    ap.add_argument("--shared", default=os.environ.get("INGEST_SHARED", str(REPO.parent / "shared")))
    ap.add_argument("--profile", type=Path, help="record py-spy raw profiles of cold ingest and the daemon here")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    ap.add_argument("--ingest", help="command that runs ingest (default: this python -m ingest)")
    ap.add_argument("--fetch-option", action="append", default=[], metavar="'NAME = VALUE'",
                    help="one more [fetch] setting for ingest's config (repeatable), e.g. 'concurrent_sources = 6'")
    ap.add_argument("--py-spy-args", default="", help='more py-spy record options with --profile, e.g. "--gil"')
    args = ap.parse_args()
    if args.ingest:
        INGEST[:] = args.ingest.split()
    PY_SPY_EXTRA[:] = args.py_spy_args.split()
    FETCH_EXTRA[:] = args.fetch_option
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.quick:
        args.feeds, args.entries, args.daemon_feeds, args.daemon_seconds = 20, 5, 1000, 20.0
        args.ceiling_pages = min(args.ceiling_pages, 200)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    pages, skipped = load_pages(Path(args.shared))
    farm = Farm(pages, args.feeds, args.entries, quiet=args.daemon_feeds)
    print(f"# farm: {args.feeds} feeds x {args.entries} entries from {len(pages)} corpus pages "
          f"({len(skipped)} skipped: no place for the per-copy paragraph); {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}; load {load()}", flush=True)
    tmp = tempfile.TemporaryDirectory(prefix="bench-pipeline-") if args.keep is None else None
    work = Path(tmp.name) if tmp else args.keep
    work.mkdir(parents=True, exist_ok=True)
    server = FarmServer(farm)
    ctx = Ctx(server, farm, work, args.threads, args.profile)
    try:
        rate = None
        if "ceiling" not in skip:
            c = ceiling(farm, args.ceiling_pages)
            rate = c["rate"]
            ctx.ceiling_cpu_ms = c["cpu_ms"]
            ctx.emit(f"ceiling      {c['pages']:6d} pages {c['wall']:7.1f} s {rate:8.1f} pages/s  "
                     f"CPU {c['cpu_ms']:.1f} ms/page  ({c['processes']} processes, no I/O)  load {c['load']}")
        if "cold" not in skip:
            cold_and_warm(ctx, rate, skip)
            if args.in_thread_too:
                cold_and_warm(ctx, rate, skip | {"warm"}, processes=0)
        if "warm" not in skip:
            warm_quiet(ctx, min(args.warm_feeds, args.daemon_feeds))
        if "daemon" not in skip:
            quiet_daemon(ctx, args.daemon_feeds, args.daemon_seconds)
        if "feeds" not in skip:
            feeds_only(ctx)
        if "peer" not in skip:
            peer(ctx)
    finally:
        server.close()
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    main()

"""The public feed test-suite corpus (../shared/corpus/feeds): every document read and summarized."""

from __future__ import annotations

import csv
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ingest.feeds import FeedError, parse_feed
from tests.helpers.paths import SHARED

CORPUS = SHARED / "corpus" / "feeds"


@dataclass
class Summary:
    documents: int = 0
    with_entries: int = 0
    empty_feeds: int = 0  # accepted, zero usable entries (most feedparser suite files test one feed-level field)
    entries: int = 0
    rejected: Counter = field(default_factory=Counter)  # message, positions removed -> documents
    rejected_paths: set[str] = field(default_factory=set)
    formats: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def report(self) -> str:
        lines = [f"{self.documents} documents in {self.seconds:.1f} s: {self.with_entries} with entries "
                 f"({self.entries} entries), {self.empty_feeds} feeds without usable entries, "
                 f"{sum(self.rejected.values())} rejected",
                 "formats: " + ", ".join(f"{k} {v}" for k, v in self.formats.most_common())]
        lines += [f"  {count:5d}  {message}" for message, count in self.rejected.most_common()]
        return "\n".join(lines)


def manifest(root: Path = CORPUS) -> list[dict[str, str]]:
    with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def summarize(root: Path = CORPUS) -> Summary:
    summary = Summary()
    started = time.monotonic()
    for row in manifest(root):
        summary.documents += 1
        body = (root / row["path"]).read_bytes()
        try:
            feed = parse_feed(body, "https://corpus.example/" + row["path"])
        except FeedError as exc:
            summary.rejected[re.sub(r"<unknown>:\d+:\d+: ", "", str(exc))] += 1
            summary.rejected_paths.add(row["path"])
            continue
        summary.formats[feed.format] += 1
        summary.entries += len(feed.entries)
        if feed.entries:
            summary.with_entries += 1
        else:
            summary.empty_feeds += 1
    summary.seconds = time.monotonic() - started
    return summary

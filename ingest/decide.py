"""Pure decisions about an entry: is it new or a duplicate, and of what.

No I/O here (the pattern of lemon24/reader's `_update`): the pipeline asks storage
which keys exist and hands the answer in, so every rule is testable from data alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ingest.feeds import FeedEntry
from ingest.fingerprint import Fingerprints, normalize_url

Key = tuple[str, str]

# Order of trust when an item matches several stored ones: a feed's own GUID is the
# strongest claim, then a URL, then identical body text.
_KINDS = ("guid", "url", "content")


@dataclass(frozen=True)
class New:
    pass


@dataclass(frozen=True)
class Duplicate:
    item_id: int
    by: str  # the fingerprint kind that matched
    value: str


Decision = New | Duplicate


def guid_key(source: str, guid: str | None) -> Key | None:
    """GUIDs are scoped to their feed: two feeds may both number their entries from 1."""
    return ("guid", f"{source}\x1f{guid}") if guid else None


def entry_keys(source: str, entry: FeedEntry, tracking_params: Iterable[str] = ()) -> list[Key]:
    """Keys known before the page is fetched: enough to skip pages already stored."""
    keys = []
    if (g := guid_key(source, entry.guid)) is not None:
        keys.append(g)
    if entry.url:
        keys.append(("url", normalize_url(entry.url, extra_tracking_params=tracking_params)))
    return keys


def item_keys(fps: Fingerprints) -> list[Key]:
    keys: list[Key] = [("guid", fps.guid)] if fps.guid else []
    keys += [("url", u) for u in fps.urls]
    if fps.content:
        keys.append(("content", fps.content))
    return keys


def decide(keys: Iterable[Key], known: Mapping[Key, int]) -> Decision:
    matches = [k for k in keys if k in known]
    if not matches:
        return New()
    kind, value = min(matches, key=lambda k: _KINDS.index(k[0]) if k[0] in _KINDS else len(_KINDS))
    return Duplicate(item_id=known[(kind, value)], by=kind, value=value)

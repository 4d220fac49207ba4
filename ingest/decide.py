"""Pure decisions about an entry: new, a revision of a stored item, or a duplicate, and why.

No I/O here (the pattern of lemon24/reader's `_update`): the pipeline asks storage
what it knows about the entry's keys and hands the answers in, so every rule is
testable from data alone and `ingest explain` can show the reason for each outcome.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ingest.feeds import FeedEntry
from ingest.fingerprint import NEAR_DUPLICATE_THRESHOLD, Fingerprints, Signature, normalize_url, scoped_guid, similarity

Key = tuple[str, str]

# Order of trust when an item matches several stored ones: a feed's own GUID is the
# strongest claim, then a URL, then identical body text.
_KINDS = ("guid", "url", "content")
_IDENTITY = ("guid", "url")  # a changed body under these keys is a revision, not a new item


@dataclass(frozen=True)
class Candidate:
    """A stored item that shares a similarity band with the new one."""

    item_id: int
    story_id: int
    signature: Signature


@dataclass(frozen=True)
class New:
    story_id: int | None = None  # join this story; None starts a new one
    matched_item: int | None = None  # the near-duplicate that put it in the story
    similarity: float | None = None


@dataclass(frozen=True)
class Duplicate:
    item_id: int | None  # None: the item was pruned, its fingerprints remain as a tombstone
    by: str  # the fingerprint kind that matched
    value: str


@dataclass(frozen=True)
class Revision:
    item_id: int
    by: str


Decision = New | Duplicate | Revision


def entry_keys(source: str, entry: FeedEntry, tracking_params: Iterable[str] = ()) -> list[Key]:
    """Keys known before the page is fetched: enough to skip pages already stored."""
    keys: list[Key] = []
    if guid := scoped_guid(source, entry.guid):
        keys.append(("guid", guid))
    if entry.url and (url := normalize_url(entry.url, extra_tracking_params=tracking_params)):
        keys.append(("url", url))
    return keys


def entry_hash(entry: FeedEntry) -> str:
    """What the feed says about an entry; a change (a correction, an update) makes us fetch the page again."""
    parts = (entry.title or "", entry.updated.isoformat() if entry.updated else "", entry.content or entry.summary or "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def item_keys(fps: Fingerprints) -> list[Key]:
    keys: list[Key] = [("guid", fps.guid)] if fps.guid else []
    keys += [("url", u) for u in fps.urls]
    if fps.content:
        keys.append(("content", fps.content))
    return keys


def decide(
    keys: Sequence[Key],
    known: Mapping[Key, int | None],
    *,
    signature: Signature | None = None,
    candidates: Sequence[Candidate] = (),
) -> Decision:
    """`known` maps each of `keys` already stored to its item; `candidates` share a similarity band."""
    matches = [k for k in keys if k in known]
    if matches:
        kind, value = min(matches, key=lambda k: _KINDS.index(k[0]) if k[0] in _KINDS else len(_KINDS))
        item_id = known[(kind, value)]
        content = next((k for k in keys if k[0] == "content"), None)
        # Same identity, a body never seen before: the article changed (a correction, an update).
        if kind in _IDENTITY and item_id is not None and content is not None and content not in known:
            return Revision(item_id=item_id, by=kind)
        return Duplicate(item_id=item_id, by=kind, value=value)
    if signature is not None:
        scored = [(similarity(signature, c.signature), c) for c in candidates]
        best = max(scored, key=lambda sc: sc[0], default=None)
        if best and best[0] >= NEAR_DUPLICATE_THRESHOLD:
            return New(story_id=best[1].story_id, matched_item=best[1].item_id, similarity=round(best[0], 3))
    return New()

"""Pure decisions about an entry: new, a revision of a stored item, or a duplicate, and why.

No I/O here (the pattern of lemon24/reader's `_update`): the pipeline asks storage
what it knows about the entry's keys and hands the answers in, so every rule is
testable from data alone and `ingest explain` can show the reason for each outcome.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

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


class Owner(Protocol):
    """Who stored a known item: its source decides whether a match may revise it."""

    source: str
    story_id: int | None
    url: str  # the item's own link
    canonical_url: str | None  # the link its page named canonical
    entry_hash: str | None  # what its feed entry said when it was stored (`entry_hash`)


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


@dataclass(frozen=True)
class Fetch:
    """Before its page is fetched: fetch and draft this entry."""

    entry: FeedEntry  # with its GUID dropped when the feed reuses it for another link
    why: str  # new, changed (in the feed), claimed (another source's copy named its link canonical), guid_reused
    guid_rotated: bool = False  # known by its link under another GUID: the feed rotates GUIDs


@dataclass(frozen=True)
class Skip:
    """Before its page is fetched: known and unchanged, no request."""

    item_id: int | None
    by: str
    sighting: bool  # the item is another source's: record that this source carries it too
    guid_rotated: bool = False


def before_fetch(entry: FeedEntry, keys: Sequence[Key], known: Mapping[Key, int | None], *, source: str,
                 owners: Mapping[int, Owner], tracking_params: Iterable[str] = (),
                 sighted: bool = False) -> Fetch | Skip:
    """Whether a feed entry's page must be fetched, from its pre-fetch `keys` (`entry_keys`) and what storage
    knows of them; a known entry is fetched again when its feed entry changed, so a correction becomes a revision.

    `sighted`: this source's link was fetched before and its page was a copy of a stored item (a sighting).
    Its keys are not the item's, so without this the copy would be fetched again at every poll; a change of
    its feed entry is not looked at (the item's own source brings the story's revisions)."""
    decision = decide(keys, known, source=source, owners=owners)
    if not isinstance(decision, Duplicate):
        return Skip(None, "sighting", sighting=False) if sighted else Fetch(entry, "new")
    owner = owners.get(decision.item_id) if decision.item_id is not None else None
    if owner and owner.source != source and claimed_only((decision.by, decision.value), owner, tracking_params):
        return Fetch(entry, "claimed")  # another source's copy named this link canonical: the article itself is new
    url_key = next((k for k in keys if k[0] == "url"), None)
    if decision.by == "guid" and url_key is not None and url_key not in known:
        # A known GUID on an unknown link: the feed reuses GUIDs, so this one identifies nothing.
        return Fetch(replace(entry, guid=None), "guid_reused")
    ours = owner is not None and owner.source == source
    rotated = decision.by == "url" and bool(entry.guid) and ours
    if ours and owner.entry_hash != entry_hash(entry):
        return Fetch(entry, "changed", guid_rotated=rotated)  # it may be a revision
    return Skip(decision.item_id, decision.by, sighting=owner is not None and not ours, guid_rotated=rotated)


def reclaimed(keys: Sequence[Key], known: Mapping[Key, int | None], owners: Mapping[int, Owner],
              links: Iterable[str | None], tracking_params: Iterable[str] = ()) -> list[Key]:
    """The keys of a new item's own `links` that another source's copy holds only because its page named them
    canonical: they identify the new item from now on, whichever of the two was polled first."""
    own = {normalize_url(u, extra_tracking_params=tracking_params) for u in links if u}
    return [k for k in keys if k in known and k[1] in own and claimed_only(k, owners[known[k]], tracking_params)]


def records_entry_hash(decision: Decision) -> bool:
    """A duplicate found by GUID or URL is the same feed entry: its new hash is kept, so an entry changed in
    the feed but not on its page is not fetched again at every poll."""
    return isinstance(decision, Duplicate) and decision.item_id is not None and decision.by in _IDENTITY


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


def claimed_only(key: Key, owner: Owner, tracking_params: Iterable[str] = ()) -> bool:
    """The item holds this URL key only because its page named it canonical (a copy naming the original):
    the URL is another page's own link, not where this item was found."""
    if key[0] != "url" or not owner.canonical_url:
        return False
    own, named = (normalize_url(u, extra_tracking_params=tracking_params) for u in (owner.url, owner.canonical_url))
    return key[1] == named != own


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
    source: str,
    owners: Mapping[int, Owner],
    signature: Signature | None = None,
    candidates: Sequence[Candidate] = (),
) -> Decision:
    """`known` maps each of `keys` already stored to its item, `owners` each such item to who stored it;
    `candidates` share a similarity band.

    Only the entry's own source can revise an item: a GUID or URL that leads to another source's item
    (a syndicated copy naming the original as canonical) never rewrites it, whatever the poll order;
    the copy is a duplicate when its body is known, else a new item in that item's story.
    """
    matches = sorted((k for k in keys if k in known), key=_trust)
    content = next((k for k in keys if k[0] == "content"), None)
    own = [k for k in matches if k[0] in _IDENTITY and _owned_by(known[k], source, owners)]
    if own:
        kind, value = own[0]
        # Same identity, a body never seen before: the article changed (a correction, an update).
        if content is not None and content not in known:
            return Revision(item_id=known[own[0]], by=kind)
        return Duplicate(item_id=known[own[0]], by=kind, value=value)
    claims = [k for k in matches if k[0] in _IDENTITY and known[k] is not None]
    if matches and (content is None or content in known or len(claims) < len(matches)):
        kind, value = matches[0] if content not in known else content
        return Duplicate(item_id=known[(kind, value)], by=kind, value=value)
    if signature is not None:
        scored = [(similarity(signature, c.signature), c) for c in candidates]
        best = max(scored, key=lambda sc: sc[0], default=None)
        if best and best[0] >= NEAR_DUPLICATE_THRESHOLD:
            return New(story_id=best[1].story_id, matched_item=best[1].item_id, similarity=round(best[0], 3))
    if claims:  # another source's item holds one of its URLs: the same story, told by another source
        owner = owners.get(known[claims[0]])
        return New(story_id=owner.story_id if owner else None)
    return New()


def _trust(key: Key) -> int:
    return _KINDS.index(key[0]) if key[0] in _KINDS else len(_KINDS)


def _owned_by(item_id: int | None, source: str, owners: Mapping[int, Owner]) -> bool:
    owner = owners.get(item_id) if item_id is not None else None
    return owner is not None and owner.source == source

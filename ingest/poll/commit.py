"""Drafts to the database: each decided against what storage knows (`decide`), then applied through one
`Writer` transaction per batch, and its outcome counted and logged once the transaction has committed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ingest.clock import utcnow
from ingest.fingerprint import Signature
from ingest.http import redact
from ingest.logs import log
from ingest.poll.decide import (
    Candidate,
    Duplicate,
    Revision,
    decide,
    entry_hash,
    item_keys,
    reclaimed,
    records_entry_hash,
)
from ingest.poll.draft import Draft
from ingest.poll.faults import database_wide, one_line
from ingest.poll.result import PollResult
from ingest.storage.records import hit_row, item_row, page_row
from ingest.storage.store import Conflict, Store, Writer

# The items of a story come up as candidates again for each new member: decode each stored signature once.
decoded_signature = lru_cache(maxsize=1024)(Signature.from_str)  # ~6 KB each


@dataclass(frozen=True)
class EntryOutcome:
    """What storing one draft did; counted and logged once its transaction has committed."""

    outcome: str  # new, revised, duplicate or failed
    draft: Draft
    item_id: int | None
    by: str | None = None  # the fingerprint kind that identified a duplicate or revision
    revision: int | None = None
    story: int | None = None
    watchlists: list[str] = field(default_factory=list)

    def count_and_log(self, source: str, result: PollResult) -> None:
        d = self.draft
        url = redact(d.entry.url or d.final_url or "")
        if self.outcome == "failed":
            result.entry_failed(f"{url or d.entry.guid or 'an entry'}: {d.error}")
            log.warning("item_failed", source=source, url=url, guid=d.entry.guid, error=d.error)
        elif self.outcome == "duplicate":
            result.duplicates += 1
            log.info("item_duplicate", source=source, url=url, of=self.item_id, by=self.by)
        elif self.outcome == "revised":
            result.updated += 1
            log.info("item_revised", source=source, id=self.item_id, revision=self.revision, by=self.by, url=url,
                     watchlists=self.watchlists)
        else:
            result.new += 1
            result.flagged += bool(self.watchlists)
            log.info("item_stored", source=source, id=self.item_id, url=url, origin=d.origin, story=self.story,
                     watchlists=self.watchlists)


class Committer:
    """Stores a poll's drafts, `batch` per transaction; `alerting`: watchlists whose hits go to the outbox."""

    def __init__(self, store: Store, alerting: set[str], tracking_params: Sequence[str], batch: int,
                 candidates: int):
        self.store = store
        self.alerting = alerting
        self.tracking_params = tuple(tracking_params)
        self.batch = batch
        self.candidates = candidates  # `[fetch] near_duplicate_candidates`

    def commit(self, source: str, drafts: Sequence[Draft], result: PollResult) -> None:
        """Store the drafts in feed order, counting each outcome into `result`."""
        for start in range(0, len(drafts), self.batch):
            for outcome in self._batch(source, drafts[start:start + self.batch]):
                outcome.count_and_log(source, result)

    def _batch(self, source: str, batch: Sequence[Draft]) -> list[EntryOutcome]:
        """One transaction; if another worker raced us to one of its items, or the database refused one,
        one at a time, so that only that entry fails."""
        try:
            with self.store.writing() as w:
                return [self.apply(w, source, d) for d in batch]
        except Exception as exc:
            if database_wide(exc):
                raise
            return [self._alone(source, d) for d in batch]

    def _alone(self, source: str, d: Draft) -> EntryOutcome:
        try:
            with self.store.writing() as w:
                return self.apply(w, source, d)
        except Conflict:  # stored by someone else since we looked
            return EntryOutcome("duplicate", d, None)
        except Exception as exc:
            if database_wide(exc):
                raise
            return EntryOutcome("failed", replace(d, error=f"storing failed: {one_line(exc)}"), None)

    def apply(self, w: Writer, source: str, d: Draft) -> EntryOutcome:
        """Decide one draft against what the writer sees (its own earlier writes included) and apply it."""
        url = d.entry.url or d.final_url or ""
        if d.article is None:
            return EntryOutcome("failed", d, None)
        fps = d.fingerprints
        keys = item_keys(fps)
        known = w.known(keys)
        owners = w.item_facts(known.values())
        candidates = [Candidate(i, story, decoded_signature(sig))
                      for i, story, sig in w.candidates(fps.bands, self.candidates)]
        decision = decide(keys, known, source=source, owners=owners, signature=fps.signature, candidates=candidates)
        if isinstance(decision, Duplicate):
            if records_entry_hash(decision):  # a no-op if the item is not this source's
                w.seen_entry(decision.item_id, source, entry_hash(d.entry))
            if decision.item_id is not None:
                w.add_sightings([{"item_id": decision.item_id, "source": source, "url": url,
                                  "by": decision.by, "seen_at": utcnow()}])
            return EntryOutcome("duplicate", d, decision.item_id, by=decision.by)
        row = item_row(d.article, source=source, guid=d.entry.guid, url=url, final_url=d.final_url,
                       origin=d.origin, fetched_at=utcnow())
        row.entry_hash = entry_hash(d.entry)
        row.signature = fps.signature.to_str() if fps.signature else None
        watchlists = sorted({h.watchlist for h in d.hits})
        alerts = [name for name in watchlists if name in self.alerting]
        hits = [hit_row(h) for h in d.hits]
        page = page_row(d.page) if d.page else None
        if isinstance(decision, Revision):
            number = w.update(decision.item_id, row, keys, hits, bands=fps.bands, alerts=alerts, page=page)
            return EntryOutcome("revised", d, decision.item_id, by=decision.by, revision=number, watchlists=watchlists)
        row.story_id = decision.story_id
        if decision.matched_item is not None:
            row.meta["story"] = {"matched_item": decision.matched_item, "similarity": decision.similarity}
        item_id = w.add(row, [k for k in keys if k not in known], hits, bands=fps.bands, alerts=alerts, page=page)
        w.move_fingerprints(reclaimed(keys, known, owners, (d.entry.url, d.final_url), self.tracking_params), item_id)
        return EntryOutcome("new", d, item_id, story=row.story_id, watchlists=watchlists)

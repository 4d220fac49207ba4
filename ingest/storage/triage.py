"""Triage state (reviewed, starred, dismissed, labels, note) and the web app's users, sessions and API tokens.

Secrets are never stored: sessions and tokens by their SHA-256, passwords as the argon2 hash the
caller gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, or_
from sqlmodel import select

from ingest.storage.session import Session, scrub
from ingest.storage.tables import ItemRow, SessionRow, TokenRow, TriageRow, UserRow

STATES = ("unreviewed", "reviewed", "starred", "dismissed")
# What an action sets on the row; "note" and "labels" take a value of their own.
ACTIONS: dict[str, dict[str, bool]] = {
    "reviewed": {"reviewed": True}, "unreviewed": {"reviewed": False, "dismissed": False},
    "star": {"starred": True}, "unstar": {"starred": False},
    "dismiss": {"dismissed": True}, "undismiss": {"dismissed": False},
}


@dataclass(frozen=True)
class Change:
    action: str  # a key of ACTIONS, or "note" / "labels"
    note: str | None = None
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in ACTIONS and self.action not in ("note", "labels"):
            raise ValueError(f"action: unknown triage action {self.action!r} "
                             f"(known: {', '.join([*ACTIONS, 'note', 'labels'])})")


def condition(state: str, item_id: Any = ItemRow.id) -> ColumnElement[bool]:
    """Items (`item_id`: ItemRow.id or an alias's) in this triage state; "unreviewed" is neither reviewed nor dismissed."""
    if state == "unreviewed":
        return item_id.not_in(select(TriageRow.item_id).where(or_(TriageRow.reviewed, TriageRow.dismissed)))
    flag = {"reviewed": TriageRow.reviewed, "starred": TriageRow.starred, "dismissed": TriageRow.dismissed}[state]
    return item_id.in_(select(TriageRow.item_id).where(flag))


class Triage:
    """`Store.triage`: per-item triage state."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def states(self, item_ids: Iterable[int]) -> dict[int, TriageRow]:
        ids = list(set(item_ids))
        if not ids:
            return {}
        with Session(self.engine) as s:
            return {r.item_id: r for r in s.exec(select(TriageRow).where(TriageRow.item_id.in_(ids)))}

    def apply(self, item_ids: Iterable[int], change: Change, who: str | None, now: datetime) -> int:
        """One change to several items, in one transaction; returns how many items exist and were changed."""
        ids = sorted(set(item_ids))
        with Session(self.engine) as s, s.begin():
            known = set(s.exec(select(ItemRow.id).where(ItemRow.id.in_(ids))).all()) if ids else set()
            rows = {r.item_id: r for r in s.exec(select(TriageRow).where(TriageRow.item_id.in_(known)))} if known else {}
            for item_id in sorted(known):
                row = rows.get(item_id) or TriageRow(item_id=item_id, labels=[], note="")
                if change.action == "note":
                    row.note = scrub(change.note or "")
                elif change.action == "labels":
                    row.labels = sorted({scrub(x.strip()) for x in change.labels if x.strip()})
                else:
                    for name, value in ACTIONS[change.action].items():
                        setattr(row, name, value)
                row.updated_by, row.updated_at = who, now
                s.add(row)
        return len(known)


# -- users, sessions, tokens ---------------------------------------------------------

def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Users:
    """`Store.users`: the web app's users, their sessions and API tokens."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def user(self, name: str) -> UserRow | None:
        with Session(self.engine) as s:
            return s.get(UserRow, name)

    def has_users(self) -> bool:
        with Session(self.engine) as s:
            return s.exec(select(UserRow.name).limit(1)).first() is not None

    def save_user(self, name: str, password_hash: str, now: datetime) -> bool:
        """Add a user or set a new password; True when the user is new. A new password ends its sessions."""
        with Session(self.engine) as s, s.begin():
            row = s.get(UserRow, name)
            if row is not None:
                row.password_hash = password_hash
                s.exec(delete(SessionRow).where(SessionRow.username == name))
                return False
            s.add(UserRow(name=name, password_hash=password_hash, created_at=now))
            return True

    def add_session(self, token: str, name: str, now: datetime, expires: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            s.exec(delete(SessionRow).where(SessionRow.expires_at < now))
            s.add(SessionRow(token_hash=digest(token), username=name, created_at=now, expires_at=expires))

    def session_user(self, token: str, now: datetime) -> str | None:
        with Session(self.engine) as s:
            row = s.get(SessionRow, digest(token))
        return row.username if row is not None and row.expires_at > now else None

    def end_session(self, token: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.exec(delete(SessionRow).where(SessionRow.token_hash == digest(token)))

    def add_token(self, token: str, name: str, label: str, now: datetime) -> None:
        with Session(self.engine) as s, s.begin():
            s.add(TokenRow(token_hash=digest(token), username=name, name=label, created_at=now))

    def token_user(self, token: str) -> str | None:
        with Session(self.engine) as s:
            row = s.get(TokenRow, digest(token))
        return row.username if row is not None else None

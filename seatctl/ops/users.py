"""Users of an account: e-mail validation, CSV rows, listings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, select

from seatctl.errors import Refused
from seatctl.ops import waitlist
from seatctl.ops.lookup import find_user
from seatctl.ops.seats import _release
from seatctl.ops.write import for_write, require_open
from seatctl.rules.books import Books
from seatctl.rules.emails import UserRow, normalize_email
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store.tables import Account, User


def add_users(session: Session, *, slug: str, rows: list[UserRow], actor: Actor, now: datetime,
              books: Books, skip_existing: bool = False) -> tuple[Account, list[str], list[str]]:
    """Add users; returns (account, added e-mails, e-mails already there)."""
    actor.require("operator", "add users")
    account = for_write(session, slug, actor=actor, now=now, books=books)
    existing = set(session.exec(select(User.email).where(User.account_id == account.id)).all())
    already = [r.email for r in rows if r.email in existing]
    if already and not skip_existing:
        raise Refused(f"user '{already[0]}' already exists in account '{slug}'", f"See: seatctl user list {slug}")
    fresh = [r for r in rows if r.email not in existing]
    if fresh:
        session.execute(insert(User), [
            {"account_id": account.id, "email": r.email, "name": r.name, "role": r.role, "status": "active",
             "created_at": now} for r in fresh
        ])
        audit.record(session, at=now, operator=actor.name, action="user.add", account_id=account.id,
                     quantity=len(fresh), users=[r.email for r in fresh], count=len(fresh))  # every address
    return account, [r.email for r in fresh], already


def set_user_status(session: Session, *, slug: str, emails: list[str], active: bool, actor: Actor,
                    now: datetime, books: Books) -> list[dict[str, object]]:
    """Deactivating releases every seat the user holds; the seats stay owned and free."""
    keys = [normalize_email(e) for e in emails]  # usage (2) first, then permission, not found, rules
    actor.require("operator", "change users")
    account = for_write(session, slug, actor=actor, now=now, books=books, allow_closed=True)
    users = [find_user(session, account, key) for key in keys]
    require_open(account)
    out: list[dict[str, object]] = []
    for user in users:
        released: list[str] = []
        target = "active" if active else "inactive"
        if user.status != target:
            if not active:
                released = _release(session, account, user, None, now=now)
            user.status = target
            session.add(user)
            audit.record(session, at=now, operator=actor.name, action="user.activate" if active else "user.deactivate",
                         account_id=account.id, user=user.email, released=released)
        out.append({"account": slug, "user": user.email, "status": user.status, "released": released})
    if not active:  # their waiting requests are dropped; the seats they held go to the waitlist
        waitlist.drop_users(session, account, [u.id for u in users if u.id is not None], actor=actor, now=now)
        waitlist.seat_waiting(session, account, actor=actor, now=now)
    return out

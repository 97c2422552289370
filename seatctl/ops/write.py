"""The one write entry: a write transaction takes the write lock first; every change to an account
locks it and closes its ended periods first (`for_write`); a refusal that leaves a record (a refused
assignment's denials) has it written in a transaction of its own (`transaction`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from seatctl import clock
from seatctl.errors import Refused, SeatctlError
from seatctl.ops.cycles import close_due
from seatctl.ops.lookup import find_account, invoicing_account
from seatctl.rules.books import Books
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store import engine as db
from seatctl.store.tables import Account

T = TypeVar("T")


def transaction(engine: Engine, work: Callable[[Session, datetime], T], *, now: datetime) -> T:
    """Run `work(session, at)` in one write transaction (the write lock first, then checks, writes and
    events). `at` is `now`, unless the ledger's latest event is later: time never runs backwards in the
    ledger, so within the clock skew tolerance the write is recorded at that event's instant, and
    beyond it refused (`clock.not_before`). If `work` is refused with events to leave
    (`SeatctlError.events`), nothing it wrote stays, and those events are written in a transaction of
    their own before the error goes on."""
    try:
        with db.write(engine) as session:
            at = clock.not_before(audit.latest_at(session), now)
            return work(session, at)
    except SeatctlError as err:
        if err.events:
            with db.write(engine) as session:
                audit.insert_rows(session, err.events)
        raise


def for_write(session: Session, slug: str, *, actor: Actor, now: datetime, books: Books,
              allow_closed: bool = False, lock: bool = True) -> Account:
    """Lock the account and close its ended periods (bookkeeping on the ledger's behalf).
    `lock=False` is for a quote, whose transaction is rolled back."""
    account = find_account(session, slug)
    payer = invoicing_account(session, account)
    # PostgreSQL: row locks, the invoicing account first (the order closes take), each row read again
    # under its lock. SQLite: the transaction began with the whole file's write lock (BEGIN IMMEDIATE),
    # so what was just read cannot have changed; reading it again cost a query a write.
    if lock and session.get_bind().dialect.name != "sqlite":
        find_account(session, payer.slug, lock=True)
        if payer is not account:
            find_account(session, slug, lock=True)
    close_due(session, payer, now=now, books=books, actor=actor, automatic=True)
    if not allow_closed:
        require_open(account)
    return account


def require_open(account: Account) -> None:
    """A closed account refuses every write (exit 4). A command that names more than the account calls
    it after finding the rest: when several errors apply, not found (3) wins over a rule (4)."""
    if account.status == "closed":
        raise Refused(f"account '{account.slug}' is closed", "A closed account cannot be changed")

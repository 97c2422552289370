"""The one write entry: every change to an account locks it and closes its ended periods first."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from seatctl.errors import Refused
from seatctl.ops.cycles import close_due
from seatctl.ops.lookup import find_account, invoicing_account
from seatctl.rules.books import Books
from seatctl.rules.roles import Actor
from seatctl.store.tables import Account


def for_write(session: Session, slug: str, *, actor: Actor, now: datetime, books: Books,
              allow_closed: bool = False, lock: bool = True) -> Account:
    """Lock the account and close its ended periods (bookkeeping on the ledger's behalf).
    `lock=False` is for a quote, whose transaction is rolled back."""
    account = find_account(session, slug)
    payer = invoicing_account(session, account)
    find_account(session, payer.slug, lock=lock)  # the invoicing account first: the order closes take
    if payer is not account:
        find_account(session, slug, lock=lock)
    close_due(session, payer, now=now, books=books, actor=actor, automatic=True)
    if account.status == "closed" and not allow_closed:
        raise Refused(f"account '{slug}' is closed", "A closed account cannot be changed")
    return account

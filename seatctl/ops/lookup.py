"""Finding rows every noun needs: accounts (and whom they invoice), users, plans' terms, seat pools."""

from __future__ import annotations

import functools
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import bindparam, func, true
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from seatctl.errors import NotFound
from seatctl.rules.charges import whole_period_days
from seatctl.rules.periods import Period, local_midnight
from seatctl.rules.terms import NO_PLAN, Terms
from seatctl.store import statements
from seatctl.store.executor import Executor
from seatctl.store.tables import Account, Assignment, Plan, PlanAllowance, PlanInclude, Seat, User, account_table


@functools.cache
def _account_by_slug(lock: bool) -> Any:
    """Built once (building an ORM query costs about as much as running it; every write runs one)."""
    query = select(Account).where(Account.slug == bindparam("slug"))
    if lock:  # a row lock on PostgreSQL (re-read, not taken from the session); SQLite holds the file lock
        query = query.with_for_update().execution_options(populate_existing=True)
    return query


def find_account(session: Session, slug: str, *, lock: bool = False) -> Account:
    if lock:
        account: Account | None = session.exec(_account_by_slug(lock), params={"slug": slug}).first()
    else:
        account = _account_row(session, slug)
    if account is None:
        raise NotFound(f"no account '{slug}'", "See: seatctl account list")
    return account


_ACCOUNT_COLUMNS = tuple(account_table.c.keys())


def _account_row(session: Session, slug: str) -> Account | None:
    """The account as the ORM would load it, read with one Core statement on the fast executor (every
    write reads its account first; the ORM query cost ~0.3 ms of a ~3 ms assignment): the object the
    session already holds, else a new one in the session, persistent, its values as loaded."""
    row = Executor.of(session).first(statements.seats().account, {"slug": slug})
    if row is None:
        return None
    held = session.identity_map.get(identity_key(Account, row[0]))
    if held is not None:
        return cast(Account, held)
    account = Account(**dict(zip(_ACCOUNT_COLUMNS, row, strict=True)))
    make_transient_to_detached(account)  # loaded: no pending change, no INSERT
    session.add(account)
    return account


def subtree_ids(session: Session, root_id: int) -> list[int]:
    """The account and every descendant (reseller → customer → site)."""
    a = account_table.c
    children: dict[int | None, list[int]] = {}
    for account_id, parent_id in session.exec(select(a.id, a.parent_id)).all():
        children.setdefault(parent_id, []).append(int(account_id))
    out, stack = [], [root_id]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children.get(current, []))
    return out


def account_ids(session: Session, slug: str | None, tree: bool) -> list[int] | None:
    """None means every account."""
    if slug is None:
        return None
    # Core, not ORM, like the rest of the read path: `status` never configures the mappers.
    found = session.exec(select(account_table.c.id).where(account_table.c.slug == slug)).first()
    if found is None:
        raise NotFound(f"no account '{slug}'", "See: seatctl account list")
    return subtree_ids(session, found) if tree else [found]


def in_accounts(column, ids: list[int] | None):
    return true() if ids is None else col(column).in_(ids)


def invoicing_account(session: Session, account: Account) -> Account:
    """The account whose invoices carry this account's lines: itself, or the nearest ancestor
    it is billed via."""
    while account.billed_via_parent and account.parent_id is not None:
        parent = session.get(Account, account.parent_id)
        assert parent is not None
        account = parent
    return account


def current_period(account: Account) -> Period:
    return Period(account.period_start, account.period_end)


def period_days(account: Account) -> int:
    """The days of the whole period the account's current one is priced against (SPEC §3: a short
    period is a part of the whole period that ends with it)."""
    return whole_period_days(account.period_start, account.anchor, account.cycle)


def period_start_at(account: Account) -> datetime:
    return local_midnight(account.period_start, account.timezone)


def billed_group(session: Session, root: Account) -> list[Account]:
    """The invoicing account and every descendant billed via it, still open, root first."""
    members = [root]
    frontier = [root.id]
    while frontier:
        children = session.exec(select(Account).where(
            col(Account.parent_id).in_(frontier), Account.billed_via_parent == True,  # noqa: E712
            col(Account.closed_at).is_(None)).order_by(Account.slug)).all()
        members.extend(children)
        frontier = [c.id for c in children]
    return members


def find_user(session: Session, account: Account, email: str) -> User:
    key = email.strip().lower()
    user = session.exec(select(User).where(User.account_id == account.id, User.email == key)).first()
    if user is None:
        raise _no_user(account, email)
    return user


def user_ref(session: Session, account: Account, email: str) -> Any:
    """`find_user` for a command that only needs the user's id, email and status (a row with those
    attributes), read with one Core statement on the fast executor."""
    row = Executor.of(session).first(statements.seats().user, {"acct": account.id, "email": email.strip().lower()})
    if row is None:
        raise _no_user(account, email)
    return SimpleNamespace(id=row[0], email=row[1], status=row[2])


def _no_user(account: Account, email: str) -> NotFound:
    return NotFound(f"no user '{email}' in account '{account.slug}'", f"See: seatctl user list {account.slug}")


def terms(session: Session, plan_id: int | None) -> Terms:
    if plan_id is None:
        return NO_PLAN
    plan = session.get(Plan, plan_id)
    assert plan is not None
    includes = {i.licence_id: i.quantity for i in session.exec(select(PlanInclude).where(PlanInclude.plan_id == plan_id))}
    allowances = {a.meter_id: a.quantity
                  for a in session.exec(select(PlanAllowance).where(PlanAllowance.plan_id == plan_id))}
    return Terms(plan, includes, allowances)


def find_plan(session: Session, code: str) -> Plan:
    plan = session.exec(select(Plan).where(Plan.code == code)).first()
    if plan is None:
        raise NotFound(f"no plan '{code}'", "See: seatctl plan list")
    return plan


def owned_now(session: Session, account_id: int, licence_id: int) -> int:
    return int(session.exec(
        select(func.count()).select_from(Seat).where(
            Seat.account_id == account_id, Seat.licence_id == licence_id, col(Seat.cancelled_at).is_(None),
        )
    ).one())


def in_use_now(session: Session, account_id: int, licence_id: int) -> int:
    return int(session.exec(
        select(func.count()).select_from(Assignment).where(
            Assignment.account_id == account_id, Assignment.licence_id == licence_id,
            col(Assignment.released_at).is_(None),
        )
    ).one())


def free_seat_ids(session: Session, account_id: int, licence_id: int, limit: int) -> list[int]:
    """Owned, uncancelled seats nobody holds, oldest first."""
    rows = Executor.of(session).rows(statements.seats().free, {"acct": account_id, "licence": licence_id,
                                                               "limit": limit, "skip": 0})
    return [int(r[0]) for r in rows if r[0] is not None]

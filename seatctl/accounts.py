"""Read views of accounts: the list, one account's card, its subtree."""

from __future__ import annotations

from sqlalchemy import true
from sqlmodel import Session, col, select

from seatctl.errors import NotFound
from seatctl.models import Account, Licence, Minimum, Plan, account_table


def find_account(session: Session, slug: str, *, lock: bool = False) -> Account:
    query = select(Account).where(Account.slug == slug)
    if lock:  # a row lock on PostgreSQL (re-read, not taken from the session); SQLite holds the file lock
        query = query.with_for_update().execution_options(populate_existing=True)
    account = session.exec(query).first()
    if account is None:
        raise NotFound(f"no account '{slug}'", "See: seatctl account list")
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


def list_accounts(session: Session) -> list[dict[str, object]]:
    slugs = dict(session.exec(select(Account.id, Account.slug)).all())
    return [
        {"slug": a.slug, "name": a.name, "mode": a.mode, "cycle": a.cycle, "status": a.status,
         "parent": slugs.get(a.parent_id) if a.parent_id else None,
         "period_start": a.period_start.isoformat(), "period_end": a.period_end.isoformat()}
        for a in session.exec(select(Account).order_by(Account.slug)).all()
    ]


def show_account(session: Session, slug: str) -> dict[str, object]:
    account = find_account(session, slug)
    parent = session.get(Account, account.parent_id) if account.parent_id else None
    minimums: dict[str, int] = {}
    pending_minimums: dict[str, int] = {}
    for minimum, code in session.exec(
        select(Minimum, Licence.code).join(Licence, Licence.id == Minimum.licence_id)
        .where(Minimum.account_id == account.id).order_by(Licence.code)
    ).all():
        if minimum.quantity:
            minimums[code] = minimum.quantity
        if minimum.pending_quantity is not None:
            pending_minimums[code] = minimum.pending_quantity
    current_plan = session.get(Plan, account.plan_id) if account.plan_id else None
    pending: dict[str, object] = {}
    if account.pending_plan_id:
        pending_plan = session.get(Plan, account.pending_plan_id)
        pending["plan"] = pending_plan.code if pending_plan else None
    if account.pending_cycle:
        pending["cycle"] = account.pending_cycle
    if account.pending_anchor:
        pending["anchor"] = account.pending_anchor.isoformat()
    if pending_minimums:
        pending["minimums"] = pending_minimums
    return {
        "slug": account.slug, "name": account.name, "mode": account.mode, "cycle": account.cycle,
        "anchor": account.anchor.isoformat(), "status": account.status,
        "parent": parent.slug if parent else None, "billed_via_parent": account.billed_via_parent,
        "discount": account.discount, "minimums": minimums,
        "plan": current_plan.code if current_plan else None, "pending": pending or None,
        "timezone": account.timezone, "created_at": account.created_at.isoformat(timespec="seconds") + "Z",
        "period_start": account.period_start.isoformat(), "period_end": account.period_end.isoformat(),
    }


def account_ids(session: Session, slug: str | None, tree: bool) -> list[int] | None:
    """None means every account."""
    if slug is None:
        return None
    # Core, not ORM, like the rest of the read path: `status` never configures the mappers.
    found = session.exec(select(account_table.c.id).where(account_table.c.slug == slug)).first()
    if found is None:
        raise NotFound(f"no account '{slug}'", "See: seatctl account list")
    return subtree_ids(session, found) if tree else [found]


def in_accounts(column, ids: list[int] | None):  # type: ignore[no-untyped-def]
    return true() if ids is None else col(column).in_(ids)

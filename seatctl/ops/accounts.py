"""Read views of accounts: the list, one account's card, its subtree."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import func
from sqlmodel import Session, col, select

from seatctl.errors import Refused, UsageError
from seatctl.ops import catalogue, waitlist
from seatctl.ops.catalogue import PriceBook, require_schedule
from seatctl.ops.invoices import issue
from seatctl.ops.lookup import (
    billed_group,
    current_period,
    find_account,
    find_plan,
    invoicing_account,
    owned_now,
    period_days,
    period_start_at,
    terms,
)
from seatctl.ops.orders import confirm_purchase
from seatctl.ops.plans import apply_plan_now
from seatctl.ops.write import for_write
from seatctl.rules.books import Books
from seatctl.rules.charges import Draft, fee_line, flat_unit, seat_line
from seatctl.rules.names import clean_name
from seatctl.rules.periods import CYCLES, check_timezone, local_date, local_midnight, period_containing
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store.tables import Account, Assignment, Licence, Minimum, Plan, PurchaseOrder, Seat


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
        select(Minimum, Licence.code).join(Licence, col(Licence.id) == Minimum.licence_id)
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






SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


MODES = ("allocation", "peak")


def parse_discount(text: str | None) -> str | None:
    if text is None or text == "":
        return None
    try:
        value = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise UsageError(f"discount '{text}' is not a number", "e.g. --discount 10 for 10%") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise UsageError(f"discount '{text}' must be between 0 and 100", "e.g. --discount 10")
    return None if value == 0 else format(value.normalize(), "f")


def parse_minimums(pairs: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for pair in pairs:
        for item in pair.split(","):
            code, sep, qty = item.partition("=")
            if not sep:
                raise UsageError(f"'{item}' is not CODE=N", "e.g. --min base=5")
            try:
                n = int(qty)
            except ValueError:
                raise UsageError(f"minimum '{item}' is not a whole number", "e.g. base=5") from None
            if n < 0:
                raise UsageError(f"minimum '{item}' is negative", "Use 0 or more")
            out[code.strip()] = n
    return out


def add_account(
    session: Session, *, slug: str, name: str, cycle: str | None = None, anchor: date | None = None,
    mode: str = "allocation", timezone: str | None = None, parent: str | None = None,
    billed_via_parent: bool = False, trial: bool = False, discount: str | None = None,
    minimums: dict[str, int] | None = None, plan: str | None = None, actor: Actor, now: datetime, books: Books,
) -> Account:
    actor.require("billing", "create accounts")
    if not SLUG.match(slug):
        raise UsageError(f"account slug '{slug}' is not valid", "Use lower-case letters, digits and '-'")
    name = clean_name(name) or ""
    if not name:
        raise UsageError("an account needs a name", "Add --name TEXT")
    if cycle is not None and cycle not in CYCLES:
        raise UsageError(f"unknown cycle '{cycle}'", "Use monthly or annual")
    if mode not in MODES:
        raise UsageError(f"unknown mode '{mode}'", "Use allocation or peak")
    tz = check_timezone(timezone or books.timezone)
    if session.exec(select(Account).where(Account.slug == slug)).first():
        raise Refused(f"account '{slug}' already exists", f"See: seatctl account show {slug}")
    parent_row = None
    if parent:
        parent_row = for_write(session, parent, actor=actor, now=now, books=books)
    elif billed_via_parent:
        raise UsageError("--billed-via-parent needs --parent", "Add --parent SLUG")
    if billed_via_parent and parent_row is not None:
        if cycle is not None or anchor is not None:
            raise Refused(f"'{slug}' is billed via '{parent}' and shares its cycle",
                          "Leave out --cycle and --anchor")
        if parent_row.status == "trial" and not trial:
            raise Refused(f"'{parent}' is a trial; a child billed via it must be a trial too", "Add --trial")
        cycle, anchor, tz = parent_row.cycle, parent_row.anchor, parent_row.timezone
        period = current_period(parent_row)
    else:
        cycle = cycle or "monthly"
        anchor = anchor or local_date(now, tz)
        period = period_containing(local_date(now, tz), anchor, cycle)
    account = Account(
        slug=slug, name=name, mode=mode, cycle=cycle, anchor=anchor, timezone=tz,
        status="trial" if trial else "active", parent_id=parent_row.id if parent_row else None,
        billed_via_parent=billed_via_parent, discount=parse_discount(discount), created_at=now,
        period_start=period.start, period_end=period.end, period_end_at=local_midnight(period.end, tz),
    )
    session.add(account)
    session.flush()
    audit.record(session, at=now, operator=actor.name, action="account.add", account_id=account.id,
                 slug=slug, name=name, mode=mode, cycle=cycle, anchor=anchor.isoformat(), timezone=tz,
                 status=account.status, parent=parent, discount=account.discount)
    if plan:
        apply_plan_now(session, account, find_plan(session, plan), actor=actor, now=now, books=books)
    if minimums:
        _set_minimums(session, account, minimums, actor=actor, now=now, books=books)
    return account


def set_account(
    session: Session, *, slug: str, name: str | None = None, cycle: str | None = None,
    anchor: date | None = None, discount: str | None = None, actor: Actor, now: datetime, books: Books,
) -> Account:
    """Name and discount change now; cycle and anchor wait for the period end (pending)."""
    actor.require("billing", "change accounts")
    account = for_write(session, slug, actor=actor, now=now, books=books)
    changes: dict[str, object] = {}
    if name is not None:
        account.name = clean_name(name) or account.name
        changes["name"] = account.name
    if discount is not None:
        account.discount = parse_discount(discount)
        changes["discount"] = account.discount
    if (cycle is not None or anchor is not None) and account.billed_via_parent:
        parent = invoicing_account(session, account)
        raise Refused(f"'{slug}' is billed via '{parent.slug}' and shares its cycle",
                      f"Change the parent instead: seatctl account set {parent.slug} ...")
    if cycle is not None:
        if cycle not in CYCLES:
            raise UsageError(f"unknown cycle '{cycle}'", "Use monthly or annual")
        if cycle != account.cycle:
            book = PriceBook(session)
            for member in billed_group(session, account):
                plan = terms(session, member.plan_id)
                if plan.plan is not None and plan.fee(cycle) is None:
                    raise Refused(f"plan '{plan.plan.code}' of '{member.slug}' has no {cycle} fee",
                                  f"Move it to a plan sold {cycle}: seatctl account set-plan {member.slug} PLAN")
                for licence in _licences_in_use(session, member):
                    require_schedule(book, licence, cycle, now)
        account.pending_cycle = None if cycle == account.cycle else cycle
        changes["pending_cycle"] = account.pending_cycle
    if anchor is not None:
        account.pending_anchor = None if anchor == account.anchor else anchor
        changes["pending_anchor"] = account.pending_anchor
    if not changes:
        raise UsageError("nothing to change", "Give --name, --cycle, --anchor or --discount")
    session.add(account)
    audit.record(session, at=now, operator=actor.name, action="account.set", account_id=account.id,
                 **cast("dict[str, Any]", changes))
    return account


def change_status(session: Session, *, slug: str, target: str, actor: Actor, now: datetime,
                  books: Books) -> tuple[Account, bool]:
    """suspend, activate (a trial is billed from today) or close; returns (account, changed)."""
    actor.require("billing", "change an account's status")
    account = for_write(session, slug, actor=actor, now=now, books=books, allow_closed=True)
    current = account.status
    if current == target:
        return account, False
    if current == "closed":
        raise Refused(f"account '{slug}' is closed", "A closed account cannot be changed")
    allowed = {"suspended": {"active"}, "active": {"suspended", "trial"}, "closed": {"trial", "active", "suspended"}}
    if current not in allowed[target]:
        raise Refused(f"account '{slug}' is {current}; it cannot become {target}",
                      {"suspended": f"Only an active account can be suspended: seatctl account activate {slug}",
                       "active": "A closed account is final"}.get(target, "See: seatctl account show " + slug))
    details: dict[str, object] = {"from": current, "to": target}
    if target == "closed":
        open_children = session.exec(select(Account.slug).where(
            Account.parent_id == account.id, Account.billed_via_parent == True,  # noqa: E712
            Account.status != "closed")).all()
        if open_children:
            raise Refused(f"account '{slug}' still bills '{open_children[0]}'",
                          f"Close it first: seatctl account close {open_children[0]}")
        pending = session.exec(select(PurchaseOrder).where(
            PurchaseOrder.account_id == account.id, PurchaseOrder.status == "pending")).all()
        for order in pending:
            order.status, order.decided_by, order.decided_at = "cancelled", actor.name, now
            session.add(order)
        details["orders_cancelled"] = [o.id for o in pending]
        details["effective"] = account.period_end.isoformat()
    account.status = target
    if current == "trial" and target == "active":
        account.activated_at = now
        details["invoice"] = _bill_trial_seats(session, account, actor=actor, now=now, books=books)
    session.add(account)
    verb = {"suspended": "suspend", "active": "activate", "closed": "close"}[target]
    audit.record(session, at=now, operator=actor.name, action=f"account.{verb}", account_id=account.id,
                 **cast("dict[str, Any]", details))
    if target == "closed":
        waitlist.drop_account(session, account, actor=actor, now=now)
    elif target == "active":  # a suspended account's requests waited for this
        waitlist.seat_waiting(session, account, actor=actor, now=now)
    return account, True


def _bill_trial_seats(session: Session, account: Account, *, actor: Actor, now: datetime,
                      books: Books) -> str | None:
    """A converted trial pays from today, prorated like a purchase: its plan's fee and the seats it
    holds beyond the plan's included ones."""
    assert account.id is not None
    book = PriceBook(session)
    plan = terms(session, account.plan_id)
    period = current_period(account)
    day = max(local_date(now, account.timezone), period.start)
    lines = []
    fee = plan.fee(account.cycle)
    if plan.plan is not None and fee:
        lines.append(fee_line(account_id=account.id, plan_code=plan.plan.code, plan_name=plan.plan.name, fee=fee,
                              start=day, end=period.end, period_days=period_days(account), books=books,
                              what="from trial conversion"))
    for licence_id, quantity in session.exec(
        select(Seat.licence_id, func.count()).where(Seat.account_id == account.id, col(Seat.cancelled_at).is_(None))
        .group_by(col(Seat.licence_id)).order_by(col(Seat.licence_id))
    ).all():
        licence = session.get(Licence, licence_id)
        assert licence is not None
        beyond = max(0, quantity - plan.included(licence_id))
        schedule = require_schedule(book, licence, account.cycle, period_start_at(account)) if beyond else None
        lines.append(seat_line(account_id=account.id, licence=licence, quantity=quantity,
                               whole_period=schedule.price(beyond) if schedule else Decimal(0), start=day,
                               end=period.end, period_days=period_days(account), books=books,
                               what="from trial conversion",
                               unit=flat_unit(schedule) if schedule is not None and beyond == quantity else None))
    if not lines:
        return None
    payer = invoicing_account(session, account)
    draft = Draft(account_id=int(payer.id or 0), kind="purchase", period_start=day, period_end=period.end,
                  lines=lines)
    invoice = issue(session, draft, books=books, at=now, actor=actor,
                    discount=Decimal(payer.discount) if payer.discount else None)
    return invoice.number if invoice else None


def _licences_in_use(session: Session, account: Account) -> list[Licence]:
    """Licences the account owns seats of, has users holding, or has a minimum for."""
    ids = {m.licence_id for m in session.exec(select(Minimum).where(Minimum.account_id == account.id)).all()
           if m.quantity}
    ids |= set(session.exec(select(Assignment.licence_id).where(
        Assignment.account_id == account.id, col(Assignment.released_at).is_(None))).all())
    ids |= set(session.exec(select(Seat.licence_id).where(
        Seat.account_id == account.id, col(Seat.cancelled_at).is_(None))).all())
    return list(session.exec(select(Licence).where(col(Licence.id).in_(ids))).all()) if ids else []


def set_minimums(session: Session, *, slug: str, minimums: dict[str, int], actor: Actor, now: datetime,
                 books: Books) -> Account:
    actor.require("billing", "change minimums")
    account = for_write(session, slug, actor=actor, now=now, books=books)
    _set_minimums(session, account, minimums, actor=actor, now=now, books=books)
    return account


def _set_minimums(session: Session, account: Account, minimums: dict[str, int], *, actor: Actor,
                  now: datetime, books: Books) -> None:
    """Raising buys the missing seats at once (prorated); lowering waits for the next close."""
    assert account.id is not None
    book = PriceBook(session)
    for code, quantity in minimums.items():
        licence = catalogue.find(session, code)
        assert licence.id is not None
        if quantity:
            for cycle in {account.cycle, account.pending_cycle or account.cycle}:
                require_schedule(book, licence, cycle, now)
        row = session.get(Minimum, (account.id, licence.id)) or Minimum(
            account_id=account.id, licence_id=licence.id, quantity=0)
        if quantity >= row.quantity:
            row.quantity, row.pending_quantity = quantity, None
            missing = quantity - owned_now(session, account.id, licence.id)
            if missing > 0 and account.mode == "allocation":
                confirm_purchase(session, account, licence, missing, now=now, books=books, book=book,
                                 actor=actor, what="minimum")
        else:
            row.pending_quantity = quantity
        session.add(row)
        audit.record(session, at=now, operator=actor.name, action="account.set-min", account_id=account.id,
                     licence_id=licence.id, licence=code, minimum=quantity,
                     pending=row.pending_quantity is not None)
    waitlist.seat_waiting(session, account, actor=actor, now=now)  # seats bought for a raised minimum







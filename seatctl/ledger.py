"""The one write path: every change to an account locks it, closes its ended periods,
checks the rules, writes, and records its event, all in the caller's transaction."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import func, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from seatctl import audit, catalogue
from seatctl.catalogue import PriceBook, require_schedule
from seatctl.closing import billed_group, close_due
from seatctl.context import Actor, Books
from seatctl.errors import NotFound, Refused, UsageError
from seatctl.models import Account, Assignment, Licence, Minimum, PurchaseOrder, User
from seatctl.money import format_minor
from seatctl.names import clean_name
from seatctl.periods import CYCLES, check_timezone, local_date, local_midnight, period_containing
from seatctl.seats import (
    Purchase,
    confirm_purchase,
    current_period,
    find_account,
    free_seat_ids,
    in_use_now,
    invoicing_account,
    owned_now,
    quote_draft,
    quote_total,
)
from seatctl.users import UserRow, find_user, normalize_email

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MODES = ("allocation", "peak")


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


# --- accounts -------------------------------------------------------------------------------

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
        from seatctl.metering import apply_plan_now
        from seatctl.plans import find_plan

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
            from seatctl.plans import terms

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
    return account, True


def _bill_trial_seats(session: Session, account: Account, *, actor: Actor, now: datetime,
                      books: Books) -> str | None:
    """A converted trial pays from today, prorated like a purchase: its plan's fee and the seats it
    holds beyond the plan's included ones."""
    from seatctl.invoices import Draft, fee_line, issue, seat_line
    from seatctl.models import Seat
    from seatctl.plans import terms
    from seatctl.seats import period_start_at

    assert account.id is not None
    book = PriceBook(session)
    plan = terms(session, account.plan_id)
    period = current_period(account)
    day = max(local_date(now, account.timezone), period.start)
    lines = []
    fee = plan.fee(account.cycle)
    if plan.plan is not None and fee:
        lines.append(fee_line(account_id=account.id, plan_code=plan.plan.code, plan_name=plan.plan.name, fee=fee,
                              start=day, end=period.end, period_days=period.days, books=books,
                              what="from trial conversion"))
    for licence_id, quantity in session.exec(
        select(Seat.licence_id, func.count()).where(Seat.account_id == account.id, col(Seat.cancelled_at).is_(None))
        .group_by(Seat.licence_id).order_by(Seat.licence_id)
    ).all():
        licence = session.get(Licence, licence_id)
        assert licence is not None
        beyond = max(0, quantity - plan.included(licence_id))
        whole = require_schedule(book, licence, account.cycle, period_start_at(account)).price(beyond) if beyond \
            else Decimal(0)
        lines.append(seat_line(account_id=account.id, licence=licence, quantity=quantity, whole_period=whole,
                               start=day, end=period.end, period_days=period.days, books=books,
                               what="from trial conversion"))
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
    from seatctl.models import Seat
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


# --- buying ---------------------------------------------------------------------------------

def buy(session: Session, *, slug: str, code: str, quantity: int, quote: bool = False,
        request_id: str | None = None, actor: Actor, now: datetime, books: Books) -> Purchase:
    """Charge and add seats (billing), or file a pending order (operator).

    A `quote` first closes the account's ended periods like any write, so that it prices the right
    period; the caller rolls the transaction back (`seatctl buy --quote` does), so it writes nothing."""
    actor.require("viewer" if quote else "operator", "buy seats")
    if quantity <= 0:
        raise UsageError(f"quantity must be 1 or more, not {quantity}", f"e.g. seatctl buy {slug} {code} 1")
    if request_id is not None:
        previous = session.exec(select(PurchaseOrder).where(PurchaseOrder.request_id == request_id)).first()
        if previous is not None:
            return _replay(session, previous, slug=slug, code=code, quantity=quantity, books=books)
    account = for_write(session, slug, actor=actor, now=now, books=books, lock=not quote)
    licence = catalogue.find(session, code)
    assert account.id is not None and licence.id is not None
    if account.mode == "peak":
        raise Refused(f"account '{slug}' is billed on peak usage and has no seat pool",
                      f"Assign directly: seatctl assign {slug} EMAIL {code}")
    book = PriceBook(session)
    draft = quote_draft(session, account, licence, quantity, now=now, books=books, book=book)
    total = quote_total(session, draft, account, books)
    if quote:
        return Purchase(slug, code, quantity, None, "quote", None, total)
    if actor.can("billing"):
        return confirm_purchase(session, account, licence, quantity, now=now, books=books, book=book,
                                actor=actor, request_id=request_id)
    order = PurchaseOrder(account_id=account.id, licence_id=licence.id, quantity=quantity, status="pending",
                          requested_by=actor.name, requested_at=now, request_id=request_id, quote_minor=total)
    session.add(order)
    session.flush()
    audit.record(session, at=now, operator=actor.name, action="order.request", account_id=account.id,
                 licence_id=licence.id, quantity=quantity, order=order.id, licence=code,
                 quote=format_minor(total, books.digits))
    return Purchase(slug, code, quantity, order.id, "pending", None, total)


def _replay(session: Session, order: PurchaseOrder, *, slug: str, code: str, quantity: int,
            books: Books) -> Purchase:
    account = session.get(Account, order.account_id)
    licence = session.get(Licence, order.licence_id)
    assert account is not None and licence is not None
    if (account.slug, licence.code, order.quantity) != (slug, code, quantity):
        raise Refused(
            f"request id '{order.request_id}' was used for {order.quantity} '{licence.code}' in '{account.slug}'",
            "Use a new --request-id for a different purchase",
        )
    from seatctl.models import Invoice

    invoice = session.get(Invoice, order.invoice_id) if order.invoice_id else None
    return Purchase(slug, code, quantity, order.id, order.status, invoice.number if invoice else None,
                    invoice.total_minor if invoice else (order.quote_minor if order.status == "pending" else 0))


def approve_order(session: Session, *, order_id: int, actor: Actor, now: datetime, books: Books) -> Purchase:
    actor.require("billing", "approve orders")
    order = _pending_order(session, order_id)
    account = session.get(Account, order.account_id)
    licence = session.get(Licence, order.licence_id)
    assert account is not None and licence is not None
    account = for_write(session, account.slug, actor=actor, now=now, books=books)
    return confirm_purchase(session, account, licence, order.quantity, now=now, books=books,
                            book=PriceBook(session), actor=actor, order=order)


def cancel_order(session: Session, *, order_id: int, actor: Actor, now: datetime) -> PurchaseOrder:
    order = _pending_order(session, order_id)
    if order.requested_by != actor.name:
        actor.require("billing", "cancel other operators' orders")
    order.status, order.decided_by, order.decided_at = "cancelled", actor.name, now
    session.add(order)
    audit.record(session, at=now, operator=actor.name, action="order.cancel", account_id=order.account_id,
                 licence_id=order.licence_id, quantity=order.quantity, order=order.id)
    return order


def _pending_order(session: Session, order_id: int) -> PurchaseOrder:
    order = session.get(PurchaseOrder, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}", "See: seatctl order list")
    if order.status != "pending":
        raise Refused(f"order {order_id} is already {order.status}", "See: seatctl order list")
    return order


def list_orders(session: Session, *, books: Books, status: str | None = "pending") -> list[dict[str, object]]:
    query = (select(PurchaseOrder, Account.slug, Licence.code)
             .join(Account, Account.id == PurchaseOrder.account_id)
             .join(Licence, Licence.id == PurchaseOrder.licence_id))
    if status:
        query = query.where(PurchaseOrder.status == status)
    return [
        {"order": o.id, "account": slug, "licence": code, "quantity": o.quantity, "status": o.status,
         "requested_by": o.requested_by, "requested_at": o.requested_at.isoformat(timespec="seconds") + "Z",
         "quote": format_minor(o.quote_minor, books.digits)}
        for o, slug, code in session.exec(query.order_by(PurchaseOrder.id)).all()
    ]


# --- users ----------------------------------------------------------------------------------

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
                     quantity=len(fresh), users=[r.email for r in fresh][:50], count=len(fresh))
    return account, [r.email for r in fresh], already


def set_user_status(session: Session, *, slug: str, emails: list[str], active: bool, actor: Actor,
                    now: datetime, books: Books) -> list[dict[str, object]]:
    """Deactivating releases every seat the user holds; the seats stay owned and free."""
    actor.require("operator", "change users")
    account = for_write(session, slug, actor=actor, now=now, books=books)
    users = [find_user(session, account, normalize_email(e)) for e in emails]
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
    return out


# --- assigning ------------------------------------------------------------------------------

@dataclass
class Missing:
    licence: Licence
    needed: int
    in_use: int
    total: int


class NoFreeSeat(Refused):
    """An assignment refused for want of free seats; the caller records the denials."""

    def __init__(self, account: Account, missing: list[Missing], user: str | None) -> None:
        first = missing[0]
        what = "; ".join(
            f"no free '{m.licence.code}' seat in account '{account.slug}' ({m.in_use} of {m.total} in use)"
            if m.needed == 1 else
            f"{m.needed} '{m.licence.code}' seats missing in account '{account.slug}' ({m.in_use} of {m.total} in use)"
            for m in missing
        )
        hint = f"Buy one: seatctl buy {account.slug} {first.licence.code} 1" if first.needed == 1 and len(missing) == 1 \
            else "Buy them: " + " && ".join(f"seatctl buy {account.slug} {m.licence.code} {m.needed}" for m in missing)
        super().__init__(what, hint)
        self.account_id = account.id
        self.missing = missing
        self.user = user


def record_denials(session: Session, err: NoFreeSeat, *, actor: Actor, now: datetime) -> None:
    """The denial events of a refused assignment, in a transaction of their own."""
    for m in err.missing:
        audit.record(session, at=now, operator=actor.name, action="denial", account_id=err.account_id,
                     licence_id=m.licence.id, quantity=m.needed, licence=m.licence.code, user=err.user,
                     in_use=m.in_use, total=m.total)


@dataclass
class AssignResult:
    account: str
    user: str | None
    assigned: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    bought: list[dict[str, object]] = field(default_factory=list)
    orders: list[dict[str, object]] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"account": self.account, "user": self.user, "assigned": self.assigned,
                                  "released": self.released, "unchanged": self.unchanged}
        if self.bought:
            out["bought"] = self.bought
        if self.orders:
            out["orders"] = self.orders
        return out


def assign(session: Session, *, slug: str, pairs: list[tuple[str, str]], buy_missing: bool = False,
           actor: Actor, now: datetime, books: Books) -> AssignResult:
    """Give each (email, licence) a seat: all or nothing. Returns one result for the batch."""
    actor.require("operator", "assign seats")
    account = for_write(session, slug, actor=actor, now=now, books=books)
    assert account.id is not None
    if account.status == "suspended":
        raise Refused(f"account '{slug}' is suspended", f"Reactivate it first: seatctl account activate {slug}")
    users: dict[str, Any] = {}
    licences: dict[str, Licence] = {}
    todo: list[tuple[Any, Licence]] = []
    result = AssignResult(slug, pairs[0][0] if len({e for e, _ in pairs}) == 1 else None)
    held = set(session.exec(select(Assignment.user_id, Assignment.licence_id).where(
        Assignment.account_id == account.id, col(Assignment.released_at).is_(None))).all())
    known = _users_by_email(session, account, {email.strip().lower() for email, _ in pairs})
    seen = set()
    for email, code in pairs:
        key = email.strip().lower()
        if key not in users:
            user = known.get(key) or find_user(session, account, key)  # NotFound names the first unknown
            if user.status != "active":
                raise Refused(f"user '{user.email}' is inactive", f"Activate first: seatctl user activate {slug} {user.email}")
            users[key] = user
        if code not in licences:
            licences[code] = catalogue.find(session, code)
        user, licence = users[key], licences[code]
        if (user.id, licence.id) in held or (user.id, licence.id) in seen:
            result.unchanged.append(code)
            continue
        seen.add((user.id, licence.id))
        todo.append((user, licence))
    if account.mode == "peak":
        book = PriceBook(session)
        for licence in {lic.code: lic for _, lic in todo}.values():
            require_schedule(book, licence, account.cycle, now)
        _insert_assignments(session, account, [(u, lic, None) for u, lic in todo], now)
    else:
        need = Counter(lic.code for _, lic in todo)
        free: dict[str, list[int]] = {}
        missing = []
        for code, count in need.items():
            licence = licences[code]
            assert licence.id is not None
            free[code] = free_seat_ids(session, account.id, licence.id, count)
            if len(free[code]) < count:
                owned = owned_now(session, account.id, licence.id)
                missing.append(Missing(licence, count - len(free[code]), in_use_now(session, account.id, licence.id), owned))
        if missing and not buy_missing:
            raise NoFreeSeat(account, missing, result.user)
        if missing:
            book = PriceBook(session)
            if not actor.can("billing"):
                # An operator may only request: file pending orders, assign nothing (all or nothing).
                for m in missing:
                    p = buy(session, slug=slug, code=m.licence.code, quantity=m.needed, actor=actor, now=now, books=books)
                    result.orders.append(p.as_dict(books))
                approvers = ", ".join(_approvers(session)) or "an operator with the billing role"
                ids = ", ".join(str(o["order"]) for o in result.orders)
                result.note = (f"{NoFreeSeat(account, missing, result.user).what}; filed order {ids}. "
                               f"{approvers} can approve it: seatctl order approve {result.orders[0]['order']}")
                result.unchanged = []
                return result
            for m in missing:
                p = confirm_purchase(session, account, m.licence, m.needed, now=now, books=books, book=book, actor=actor)
                result.bought.append(p.as_dict(books))
                assert m.licence.id is not None
                free[m.licence.code] = free_seat_ids(session, account.id, m.licence.id, need[m.licence.code])
        seats = {code: iter(ids) for code, ids in free.items()}  # each free seat once, oldest first
        _insert_assignments(session, account, [(user, licence, next(seats[licence.code])) for user, licence in todo],
                            now)
    result.assigned = [lic.code for _, lic in todo]
    audit.insert_rows(session, [
        audit.row(at=now, operator=actor.name, action="assign", account_id=account.id, licence_id=licence.id,
                  quantity=1, user=user.email, licence=licence.code)
        for user, licence in todo])
    return result


def _users_by_email(session: Session, account: Account, emails: set[str]) -> dict[str, Any]:
    """The account's users with these e-mails (id, email, status), read a few hundred at a time."""
    found: dict[str, Any] = {}
    wanted = sorted(emails)
    table = User.__table__  # type: ignore[attr-defined]
    for i in range(0, len(wanted), 500):
        for row in session.connection().execute(
            core_select(table.c.id, table.c.email, table.c.status).where(
                table.c.account_id == account.id, table.c.email.in_(wanted[i:i + 500]))
        ):
            found[row.email] = row
    return found


def _approvers(session: Session) -> list[str]:
    from seatctl.models import Operator

    return list(session.exec(select(Operator.name).where(col(Operator.role).in_(("billing", "owner")))
                             .order_by(Operator.name)).all())


def _insert_assignments(session: Session, account: Account, rows: list[tuple[Any, Licence, int | None]],
                        now: datetime) -> None:
    if rows:
        session.flush()
        session.connection().execute(Assignment.__table__.insert(), [  # type: ignore[attr-defined]
            {"account_id": account.id, "licence_id": lic.id, "user_id": user.id, "seat_id": seat,
             "assigned_at": now} for user, lic, seat in rows
        ])


def release(session: Session, *, slug: str, email: str, codes: list[str], actor: Actor, now: datetime,
            books: Books) -> AssignResult:
    actor.require("operator", "release seats")
    account = for_write(session, slug, actor=actor, now=now, books=books)
    user = find_user(session, account, email)
    result = AssignResult(slug, user.email)
    for code in codes:
        catalogue.find(session, code)
    released = _release(session, account, user, codes, now=now)
    result.released = released
    result.unchanged = [c for c in codes if c not in released]
    for code in released:
        audit.record(session, at=now, operator=actor.name, action="release", account_id=account.id,
                     licence_id=catalogue.find(session, code).id, quantity=1, user=user.email, licence=code)
    return result


def _release(session: Session, account: Account, user: User, codes: list[str] | None, *, now: datetime) -> list[str]:
    query = (select(Assignment.id, Licence.code).join(Licence, Licence.id == Assignment.licence_id)
             .where(Assignment.user_id == user.id, col(Assignment.released_at).is_(None)))
    if codes is not None:
        query = query.where(col(Licence.code).in_(codes))
    rows = session.exec(query.order_by(Licence.code)).all()
    if rows:
        session.execute(update(Assignment).where(col(Assignment.id).in_([r[0] for r in rows]))
                        .values(released_at=now))
    return [r[1] for r in rows]

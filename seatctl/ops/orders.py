
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import Session, col, select

from seatctl.errors import NotFound, Refused
from seatctl.ops import catalogue, settings, waitlist
from seatctl.ops.catalogue import PriceBook, require_schedule
from seatctl.ops.cycles import as_if_closed
from seatctl.ops.invoices import Issued, issue
from seatctl.ops.lookup import (
    current_period,
    find_account,
    invoicing_account,
    owned_now,
    period_days,
    period_start_at,
    terms,
)
from seatctl.ops.write import for_write, require_open
from seatctl.rules import bounds
from seatctl.rules.books import Books
from seatctl.rules.charges import Draft, flat_unit, seat_line, total_of
from seatctl.rules.money import format_minor
from seatctl.rules.periods import local_date
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store.tables import Account, Invoice, Licence, PurchaseOrder, Seat


def buy(session: Session, *, slug: str, code: str, quantity: int, quote: bool = False,
        request_id: str | None = None, actor: Actor, now: datetime, books: Books) -> Purchase:
    """Charge and add seats (billing), or file a pending order (operator).

    A `quote` writes nothing, so it may run in a read transaction (a viewer's): it prices against the
    account as the closes of its ended periods would leave it (`cycles.as_if_closed`, planned by the
    close's own code), as the purchase will after running those closes."""
    bounds.seats(quantity, hint=f"Buy 1 to 1,000,000 seats, e.g. seatctl buy {slug} {code} 1")  # usage (2) first
    actor.require("viewer" if quote else "operator", "buy seats")
    if request_id is not None:
        previous = session.exec(select(PurchaseOrder).where(PurchaseOrder.request_id == request_id)).first()
        if previous is not None:
            return _replay(session, previous, slug=slug, code=code, quantity=quantity, books=books)
    if quote:
        account = find_account(session, slug)
        priced, change = as_if_closed(session, account, now=now, books=books)
    else:
        account = priced = for_write(session, slug, actor=actor, now=now, books=books, allow_closed=True)
        change = {}
    licence = catalogue.find(session, code)
    require_open(account)  # after the licence: not found (3) wins over a rule (4)
    assert account.id is not None and licence.id is not None
    if account.mode == "peak":
        raise Refused(f"account '{slug}' is billed on peak usage and has no seat pool",
                      f"Assign directly: seatctl assign {slug} EMAIL {code}")
    book = PriceBook(session)
    owned = owned_now(session, account.id, licence.id) + change.get(licence.id, 0)
    draft = quote_draft(session, priced, licence, quantity, now=now, books=books, book=book, owned=owned)
    total = quote_total(session, draft, priced, books)
    if quote:
        return Purchase(slug, code, quantity, None, "quote", None, total)
    if actor.can("billing"):
        purchase = confirm_purchase(session, account, licence, quantity, now=now, books=books, book=book,
                                    actor=actor, request_id=request_id)
        waitlist.seat_waiting(session, account, actor=actor, now=now, licence_ids=[licence.id])
        return purchase
    settings.hold_currency(session, books)  # the quote is stored in the currency's minor units
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
    purchase = confirm_purchase(session, account, licence, order.quantity, now=now, books=books,
                                book=PriceBook(session), actor=actor, order=order)
    waitlist.seat_waiting(session, account, actor=actor, now=now, licence_ids=[licence.id])
    return purchase


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
             .join(Account, col(Account.id) == PurchaseOrder.account_id)
             .join(Licence, col(Licence.id) == PurchaseOrder.licence_id))
    if status:
        query = query.where(PurchaseOrder.status == status)
    return [
        {"order": o.id, "account": slug, "licence": code, "quantity": o.quantity, "status": o.status,
         "requested_by": o.requested_by, "requested_at": o.requested_at.isoformat(timespec="seconds") + "Z",
         "quote": format_minor(o.quote_minor, books.digits)}
        for o, slug, code in session.exec(query.order_by(col(PurchaseOrder.id))).all()
    ]


@dataclass
class Purchase:
    account: str
    licence: str
    quantity: int
    order: int | None
    status: str  # confirmed, pending, quote
    invoice: str | None
    total_minor: int

    def as_dict(self, books: Books) -> dict[str, object]:
        return {
            "account": self.account, "licence": self.licence, "quantity": self.quantity, "order": self.order,
            "status": self.status, "invoice": self.invoice, "total": format_minor(self.total_minor, books.digits),
        }


def quote_draft(
    session: Session, account: Account, licence: Licence, quantity: int, *, now: datetime, books: Books,
    book: PriceBook, what: str = "purchase", owned: int | None = None,
) -> Draft:
    """The purchase invoice's draft: (price(after) − price(before)) × days_left / period_days.
    `owned`: the seats owned before (default: as the ledger holds them now)."""
    assert account.id is not None and licence.id is not None
    period = current_period(account)
    schedule = require_schedule(book, licence, account.cycle, period_start_at(account))
    before = owned_now(session, account.id, licence.id) if owned is None else owned
    included = terms(session, account.plan_id).included(licence.id)  # plan seats are not charged per seat
    whole = max(Decimal(0), schedule.price(max(0, before + quantity - included))
                - schedule.price(max(0, before - included)))
    day = max(local_date(now, account.timezone), period.start)
    unit = flat_unit(schedule)
    line = seat_line(account_id=account.id, licence=licence, quantity=quantity, whole_period=whole,
                     start=day, end=period.end, period_days=period_days(account), books=books, what=what,
                     unit=unit if unit is not None and whole == unit * quantity else None)
    payer = invoicing_account(session, account)
    return Draft(account_id=int(payer.id or 0), kind="purchase", period_start=day, period_end=period.end,
                 lines=[line])


def add_seats(session: Session, account: Account, licence: Licence, quantity: int, *, now: datetime,
              order_id: int | None) -> None:
    session.execute(insert(Seat), [
        {"account_id": account.id, "licence_id": licence.id, "bought_at": now, "order_id": order_id}
        for _ in range(quantity)
    ])


def confirm_purchase(
    session: Session, account: Account, licence: Licence, quantity: int, *, now: datetime, books: Books,
    book: PriceBook, actor: Actor, order: PurchaseOrder | None = None, request_id: str | None = None,
    what: str = "purchase",
) -> Purchase:
    """Charge at once and add the seats, in the caller's transaction."""
    assert account.id is not None and licence.id is not None
    if account.mode == "peak":
        raise Refused(
            f"account '{account.slug}' is billed on peak usage and has no seat pool",
            f"Assign directly: seatctl assign {account.slug} EMAIL {licence.code}",
        )
    draft = quote_draft(session, account, licence, quantity, now=now, books=books, book=book, what=what)
    invoice: Issued | None = None
    if account.status != "trial":
        payer = invoicing_account(session, account)
        invoice = issue(session, draft, books=books, at=now, actor=actor, discount=_discount(payer))
    if invoice is None:  # a trial's, or a charge of zero: no invoice, but an order, which freezes the currency too
        settings.hold_currency(session, books)
    if order is None:
        order = PurchaseOrder(account_id=account.id, licence_id=licence.id, quantity=quantity,
                              status="confirmed", requested_by=actor.name, requested_at=now,
                              request_id=request_id)
    order.status = "confirmed"
    order.decided_by = actor.name
    order.decided_at = now
    order.invoice_id = invoice.id if invoice else None
    order.quote_minor = invoice.total_minor if invoice else 0
    session.add(order)
    session.flush()
    add_seats(session, account, licence, quantity, now=now, order_id=order.id)
    total = invoice.total_minor if invoice else 0
    audit.record(session, at=now, operator=actor.name, action="buy", account_id=account.id,
                 licence_id=licence.id, quantity=quantity, licence=licence.code, order=order.id,
                 invoice=invoice.number if invoice else None, total=format_minor(total, books.digits))
    return Purchase(account.slug, licence.code, quantity, order.id, "confirmed",
                    invoice.number if invoice else None, total)


def _discount(account: Account) -> Decimal | None:
    return Decimal(account.discount) if account.discount else None


def quote_total(session: Session, draft: Draft, account: Account, books: Books) -> int:
    """What the purchase would bill, discount and tax included (0 for a trial)."""
    if account.status == "trial":
        return 0
    return total_of(draft, books=books, discount=_discount(invoicing_account(session, account)))

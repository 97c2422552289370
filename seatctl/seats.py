"""Seat pools: counts, free seats, and purchases (the prorated charge and its invoice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from seatctl import audit
from seatctl.accounts import find_account as find_account  # re-exported: the write path imports it from here
from seatctl.catalogue import PriceBook, require_schedule
from seatctl.context import Actor, Books
from seatctl.errors import Refused
from seatctl.invoices import Draft, complete, issue, seat_line
from seatctl.models import Account, Assignment, Invoice, Licence, PurchaseOrder, Seat
from seatctl.money import format_minor
from seatctl.periods import Period, local_date, local_midnight
from seatctl.plans import terms


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


def period_start_at(account: Account) -> datetime:
    return local_midnight(account.period_start, account.timezone)


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
    held = select(Assignment.seat_id).where(
        col(Assignment.released_at).is_(None), col(Assignment.seat_id).is_not(None),
        Assignment.account_id == account_id, Assignment.licence_id == licence_id,
    )
    rows = session.exec(
        select(Seat.id).where(
            Seat.account_id == account_id, Seat.licence_id == licence_id, col(Seat.cancelled_at).is_(None),
            col(Seat.id).not_in(held),
        ).order_by(col(Seat.id)).limit(limit)
    ).all()
    return [int(r) for r in rows if r is not None]


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
    book: PriceBook, what: str = "purchase",
) -> Draft:
    """The purchase invoice's draft: (price(after) − price(before)) × days_left / period_days."""
    assert account.id is not None and licence.id is not None
    period = current_period(account)
    schedule = require_schedule(book, licence, account.cycle, period_start_at(account))
    before = owned_now(session, account.id, licence.id)
    included = terms(session, account.plan_id).included(licence.id)  # plan seats are not charged per seat
    whole = max(Decimal(0), schedule.price(max(0, before + quantity - included))
                - schedule.price(max(0, before - included)))
    day = max(local_date(now, account.timezone), period.start)
    line = seat_line(account_id=account.id, licence=licence, quantity=quantity, whole_period=whole,
                     start=day, end=period.end, period_days=period.days, books=books, what=what)
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
    invoice: Invoice | None = None
    if account.status != "trial":
        payer = invoicing_account(session, account)
        invoice = issue(session, draft, books=books, at=now, actor=actor, discount=_discount(payer))
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
    if account.status == "trial" or draft.billable_minor == 0:
        return 0
    _, subtotal, tax = complete(draft, books=books, discount=_discount(invoicing_account(session, account)))
    return subtotal + tax

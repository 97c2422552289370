"""Invoice lines and what they charge: proration by days, unit prices, discount and tax.

Every amount the ledger bills is worked out here, by the same few functions, whoever bills it (a
purchase, a plan fee, a trial's conversion, a renewal, a close's usage lines): one line bills one
licence type (or a plan's fee, or a meter) for one account and one span of days,
`round(whole_period × days / period_days)` half-up to the currency's minor unit, never below zero.

`period_days` is the length of the whole period the span is a part of (SPEC §3): for an ordinary
period, the period itself; for a short period (an anchor change leaves a stub up to the first
new-anchor date), the whole period that ends with it, counted one new-anchor date back — so a day costs
the same in a short period as in a whole one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from seatctl.rules.books import Books
from seatctl.rules.money import price_text, to_minor
from seatctl.rules.periods import Period, period_containing
from seatctl.rules.pricing import Schedule

UNIT_PLACES = Decimal("0.000001")  # a metered unit price under tiers: amount ÷ quantity, to 6 decimals


class Product(Protocol):
    """What a line names: a licence type or a meter (a stored row has these; hashable, as rows are)."""

    def __hash__(self) -> int: ...

    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class LineDraft:
    """One invoice line before it is numbered. `unit_price` is exact (what the line shows);
    `unit_price_minor` is it rounded to the minor unit (the column every line has had since 0001)."""

    account_id: int
    licence_id: int | None
    kind: str  # seat, fee, usage, discount, tax
    description: str
    quantity: int
    unit_price: Decimal
    period_start: date
    period_end: date
    days: int
    period_days: int
    amount_minor: int
    meter_id: int | None = None

    def unit_price_text(self, digits: int) -> str:
        return price_text(self.unit_price.normalize() if self.unit_price else Decimal(0), digits)

    def row(self, digits: int) -> dict[str, object]:
        """The values of its `invoice_line` row (without invoice_id and line_no)."""
        return {
            "account_id": self.account_id, "licence_id": self.licence_id, "meter_id": self.meter_id,
            "kind": self.kind, "description": self.description, "quantity": self.quantity,
            "unit_price_minor": to_minor(self.unit_price, digits), "unit_price": self.unit_price_text(digits),
            "period_start": self.period_start, "period_end": self.period_end, "days": self.days,
            "period_days": self.period_days, "amount_minor": self.amount_minor,
        }

    def for_account(self, account_id: int) -> LineDraft:
        return self if account_id == self.account_id else replace(self, account_id=account_id)


def whole_period_days(span_start: date, anchor: date, cycle: str) -> int:
    """The days of the whole period a span starting on `span_start` is priced against: the anchor
    period (of the anchor and cycle in force then) that contains it — the period itself, or for a short
    period the whole one that ends with it."""
    return _whole_period(span_start, anchor, cycle).days


@functools.lru_cache(maxsize=4096)
def _whole_period(day: date, anchor: date, cycle: str) -> Period:
    return period_containing(day, anchor, cycle)


def prorate(whole_period: Decimal, days: int, period_days: int) -> Decimal:
    """The exact share of a whole period's amount for `days` of it, never below zero."""
    return max(Decimal(0), whole_period * days / period_days)


def seat_line(*, account_id: int, licence: Product, quantity: int, whole_period: Decimal, start: date, end: date,
              period_days: int, books: Books, what: str, unit: Decimal | None = None) -> LineDraft:
    """One line for one licence and one span: round(whole_period × days / period_days). Its unit price
    is the price of one seat for a whole period: `unit` when the price is flat, else the whole-period
    amount ÷ quantity rounded to the minor unit."""
    return _seat_line(licence, quantity, whole_period, start, end, period_days, books, what, unit).for_account(account_id)


@functools.lru_cache(maxsize=4096)
def _seat_line(licence: Product, quantity: int, whole_period: Decimal, start: date, end: date, period_days: int,
               books: Books, what: str, unit: Decimal | None) -> LineDraft:
    """A close bills the same few lines (licence, quantity, span) to thousands of accounts: each is
    worked out once (lines are frozen; `for_account` copies one for its account)."""
    days = (end - start).days
    if unit is None:
        unit = (whole_period / quantity).quantize(Decimal(1).scaleb(-books.digits), ROUND_HALF_UP) if quantity \
            else Decimal(0)
    return LineDraft(
        account_id=0, licence_id=licence.id, kind="seat", description=f"{licence.name} ({licence.code}) {what}",
        quantity=quantity, unit_price=unit, period_start=start, period_end=end, days=days,
        period_days=period_days, amount_minor=to_minor(prorate(whole_period, days, period_days), books.digits),
    )


def flat_unit(schedule: Schedule) -> Decimal | None:
    """The price of one unit when a schedule is one flat price (no tiers, no blocks, no flat amount)."""
    return schedule.tiers[0].unit if schedule.is_flat else None


def fee_line(*, account_id: int, plan_code: str, plan_name: str, fee: Decimal, start: date, end: date,
             period_days: int, books: Books, what: str) -> LineDraft:
    """A plan's base fee, billed like a seat: round(fee × days / period_days)."""
    days = (end - start).days
    return LineDraft(
        account_id=account_id, licence_id=None, kind="fee", description=f"Plan {plan_name} ({plan_code}) {what}",
        quantity=1, unit_price=fee, period_start=start, period_end=end, days=days, period_days=period_days,
        amount_minor=to_minor(prorate(fee, days, period_days), books.digits),
    )


def meter_line(*, account_id: int, meter: Product, schedule: Schedule, quantity: int, start: date, end: date,
               books: Books) -> LineDraft:
    """Metered overage of one ended period, in arrears: price(quantity), quantity = max(0, used − allowance).
    Its unit price is the meter's price of one unit as given (up to 6 decimals), or under tiers
    amount ÷ quantity rounded half-up to 6 decimals — never rounded to the minor unit."""
    days = (end - start).days
    amount = schedule.price(quantity)
    unit = flat_unit(schedule)
    if unit is None:
        unit = (amount / quantity).quantize(UNIT_PLACES, ROUND_HALF_UP) if quantity else Decimal(0)
    return LineDraft(
        account_id=account_id, licence_id=None, meter_id=meter.id, kind="usage",
        description=f"{meter.name} ({meter.code}) overage", quantity=quantity, unit_price=unit,
        period_start=start, period_end=end, days=days, period_days=days, amount_minor=to_minor(amount, books.digits),
    )


@dataclass
class Draft:
    """An invoice before it is numbered: who pays, its kind and period, its lines."""

    account_id: int
    kind: str
    period_start: date
    period_end: date
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def billable_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


@dataclass(frozen=True)
class Bill:
    """A draft completed: its lines with the discount and tax lines, subtotal, tax and total (minor units)."""

    draft: Draft
    lines: tuple[LineDraft, ...]
    subtotal_minor: int
    tax_minor: int

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.tax_minor


def complete(draft: Draft, *, books: Books, discount: Decimal | None) -> Bill | None:
    """Add the discount line (−round(subtotal × pct), the invoicing account's) and the tax line
    (round(subtotal × tax_rate)); None when the lines bill nothing (no invoice is written then)."""
    if draft.billable_minor == 0:
        return None
    lines = list(draft.lines)
    first = lines[0]
    if discount:
        off = to_minor(Decimal(draft.billable_minor) * discount / 100, 0)
        lines.append(LineDraft(
            account_id=draft.account_id, licence_id=None, kind="discount", description=f"Discount {discount}%",
            quantity=1, unit_price=-Decimal(off).scaleb(-books.digits), period_start=first.period_start,
            period_end=first.period_end, days=first.days, period_days=first.period_days, amount_minor=-off,
        ))
    subtotal = sum(line.amount_minor for line in lines)
    tax = 0
    if books.tax_rate and subtotal:
        tax = to_minor(Decimal(subtotal) * books.tax_rate / 100, 0)
        days = (draft.period_end - draft.period_start).days
        lines.append(LineDraft(
            account_id=draft.account_id, licence_id=None, kind="tax", description=f"Tax {books.tax_rate}%",
            quantity=1, unit_price=Decimal(tax).scaleb(-books.digits), period_start=draft.period_start,
            period_end=draft.period_end, days=days, period_days=days, amount_minor=tax,
        ))
    return Bill(draft, tuple(lines), subtotal, tax)


def total_of(draft: Draft, *, books: Books, discount: Decimal | None) -> int:
    """What a draft would bill, discount and tax included (minor units)."""
    bill = complete(draft, books=books, discount=discount)
    return bill.total_minor if bill else 0

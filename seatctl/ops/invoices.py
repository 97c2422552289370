"""Invoices: gapless numbers, lines rounded one by one, discount and tax lines, credit notes."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update
from sqlmodel import Session, select

from seatctl.errors import NotFound, Refused, UsageError
from seatctl.rules.books import Books
from seatctl.rules.money import format_minor, to_minor
from seatctl.rules.names import clean_name
from seatctl.rules.periods import local_date
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store.tables import Account, Invoice, InvoiceCounter, InvoiceLine, Licence, Meter

CREDIT_SERIES = "CN-"


@dataclass
class LineDraft:
    account_id: int
    licence_id: int | None
    kind: str  # seat, discount, tax
    description: str
    quantity: int
    unit_price_minor: int
    period_start: date
    period_end: date
    days: int
    period_days: int
    amount_minor: int
    meter_id: int | None = None


def seat_line(
    *, account_id: int, licence: Licence, quantity: int, whole_period: Decimal, start: date, end: date,
    period_days: int, books: Books, what: str,
) -> LineDraft:
    """One line for one licence and one span: round(whole_period × days / period_days)."""
    days = (end - start).days
    amount = max(Decimal(0), whole_period * days / period_days)
    unit = whole_period / quantity if quantity else Decimal(0)
    return LineDraft(
        account_id=account_id, licence_id=licence.id, kind="seat",
        description=f"{licence.name} ({licence.code}) {what}", quantity=quantity,
        unit_price_minor=to_minor(unit, books.digits), period_start=start, period_end=end,
        days=days, period_days=period_days, amount_minor=to_minor(amount, books.digits),
    )


def fee_line(*, account_id: int, plan_code: str, plan_name: str, fee: Decimal, start: date, end: date,
             period_days: int, books: Books, what: str) -> LineDraft:
    """A plan's base fee, billed like a seat: round(fee × days / period_days)."""
    days = (end - start).days
    return LineDraft(
        account_id=account_id, licence_id=None, kind="fee", description=f"Plan {plan_name} ({plan_code}) {what}",
        quantity=1, unit_price_minor=to_minor(fee, books.digits), period_start=start, period_end=end, days=days,
        period_days=period_days, amount_minor=to_minor(max(Decimal(0), fee * days / period_days), books.digits),
    )


def meter_line(*, account_id: int, meter_id: int, meter_code: str, meter_name: str, quantity: int,
               amount: Decimal, unit: Decimal | None, start: date, end: date, books: Books) -> LineDraft:
    """Metered overage of one ended period, in arrears: price(max(0, used − allowance))."""
    days = (end - start).days
    unit_price = unit if unit is not None else (amount / quantity if quantity else Decimal(0))
    return LineDraft(
        account_id=account_id, licence_id=None, meter_id=meter_id, kind="usage",
        description=f"{meter_name} ({meter_code}) overage", quantity=quantity,
        unit_price_minor=to_minor(unit_price, books.digits), period_start=start, period_end=end, days=days,
        period_days=days, amount_minor=to_minor(amount, books.digits),
    )


@dataclass
class Draft:
    account_id: int
    kind: str
    period_start: date
    period_end: date
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def billable_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


def _next_number(session: Session, series: str, year: int) -> tuple[int, str]:
    """Take the next number of a series in the session's transaction (see `take_number`)."""
    return take_number(session.connection(), series, year)


def complete(draft: Draft, *, books: Books, discount: Decimal | None) -> tuple[list[LineDraft], int, int]:
    """The draft's lines plus its discount and tax lines; returns (lines, subtotal, tax)."""
    lines = list(draft.lines)
    first = lines[0]
    if discount and draft.billable_minor:
        off = to_minor(Decimal(draft.billable_minor) * discount / 100, 0)
        lines.append(LineDraft(
            account_id=draft.account_id, licence_id=None, kind="discount", description=f"Discount {discount}%",
            quantity=1, unit_price_minor=-off, period_start=first.period_start, period_end=first.period_end,
            days=first.days, period_days=first.period_days, amount_minor=-off,
        ))
    subtotal = sum(line.amount_minor for line in lines)
    tax = 0
    if books.tax_rate and subtotal:
        tax = to_minor(Decimal(subtotal) * books.tax_rate / 100, 0)
        days = (draft.period_end - draft.period_start).days
        lines.append(LineDraft(
            account_id=draft.account_id, licence_id=None, kind="tax", description=f"Tax {books.tax_rate}%",
            quantity=1, unit_price_minor=tax, period_start=draft.period_start, period_end=draft.period_end,
            days=days, period_days=days, amount_minor=tax,
        ))
    return lines, subtotal, tax


@functools.cache
def _counter_statements(dialect: str) -> tuple[Any, Any]:
    from sqlalchemy.dialects import postgresql, sqlite

    upsert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = InvoiceCounter.__table__  # type: ignore[attr-defined]
    bump = (update(table).where(table.c.series == bindparam("s"), table.c.year == bindparam("y"))
            .values(last=table.c.last + 1).returning(table.c.last))
    create = upsert(table).values(series=bindparam("s"), year=bindparam("y"), last=0).on_conflict_do_nothing()
    return bump, create


def take_number(conn: Connection, series: str, year: int) -> tuple[int, str]:
    """Take the next number of a series: one atomic UPDATE … RETURNING on the counter row first (it
    locks the row until the transaction ends, so numbers stay gapless under concurrent writers); only
    a series' first number of the year creates the row."""
    bump, create = _counter_statements(conn.dialect.name)
    params = {"s": series, "y": year}
    last = conn.execute(bump, params).scalar()
    if last is None:
        conn.execute(create, params)
        last = conn.execute(bump, params).scalar_one()
    return int(last), f"{series}{year}-{int(last):06d}"


@functools.cache
def _insert(table: str) -> Any:
    """A Core insert built once (SQLAlchemy then finds its compiled form at once)."""
    return insert({"invoice": Invoice, "invoice_line": InvoiceLine}[table].__table__)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=64)
def _issue_year(at: datetime, tz: str) -> int:
    return local_date(at, tz).year


@dataclass(frozen=True)
class Issued:
    """An invoice written by `write_invoice`, and its `invoice.issue` event (for the caller to write
    with its own events, in order)."""

    id: int
    number: str
    total_minor: int
    event: dict[str, Any]


def write_invoice(conn: Connection, draft: Draft, *, books: Books, at: datetime, actor: Actor,
                  discount: Decimal | None) -> Issued | None:
    """`issue` in set-based Core statements: the number, the invoice, its lines in one executemany.
    The event is returned, not written. None when the lines bill nothing."""
    if draft.billable_minor == 0:
        return None
    lines, subtotal, tax = complete(draft, books=books, discount=discount)
    year = _issue_year(at, books.timezone)
    seq, number = take_number(conn, books.invoice_prefix, year)
    key = conn.execute(_insert("invoice"), {
        "number": number, "series": books.invoice_prefix, "year": year, "seq": seq, "account_id": draft.account_id,
        "kind": draft.kind, "issued_at": at, "period_start": draft.period_start, "period_end": draft.period_end,
        "currency": books.currency, "subtotal_minor": subtotal, "tax_minor": tax, "total_minor": subtotal + tax,
        "credit_of": None, "reason": None,
    }).inserted_primary_key
    assert key is not None
    invoice_id = key[0]
    conn.execute(_insert("invoice_line"),
                 [{"invoice_id": invoice_id, "line_no": i, **line.__dict__} for i, line in enumerate(lines, 1)])
    event = audit.row(at=at, operator=actor.name, action="invoice.issue", account_id=draft.account_id,
                      number=number, kind=draft.kind, total=format_minor(subtotal + tax, books.digits))
    return Issued(int(invoice_id), number, subtotal + tax, event)


def issue(
    session: Session, draft: Draft, *, books: Books, at: datetime, actor: Actor, discount: Decimal | None,
) -> Invoice | None:
    """Write the invoice of a draft; none when its lines bill nothing."""
    if draft.billable_minor == 0:
        return None
    lines, subtotal, tax = complete(draft, books=books, discount=discount)
    year = local_date(at, books.timezone).year
    seq, number = _next_number(session, books.invoice_prefix, year)
    invoice = Invoice(
        number=number, series=books.invoice_prefix, year=year, seq=seq, account_id=draft.account_id,
        kind=draft.kind, issued_at=at, period_start=draft.period_start, period_end=draft.period_end,
        currency=books.currency, subtotal_minor=subtotal, tax_minor=tax, total_minor=subtotal + tax,
    )
    session.add(invoice)
    session.flush()
    assert invoice.id is not None
    session.add_all(
        InvoiceLine(invoice_id=invoice.id, line_no=i, **line.__dict__) for i, line in enumerate(lines, 1)
    )
    audit.record(
        session, at=at, operator=actor.name, action="invoice.issue", account_id=draft.account_id,
        number=number, kind=draft.kind, total=format_minor(subtotal + tax, books.digits),
    )
    return invoice


def void(session: Session, number: str, *, reason: str, books: Books, at: datetime, actor: Actor) -> Invoice:
    """A credit note that cancels an invoice; the invoice itself never changes."""
    actor.require("billing", "void invoices")
    original = find(session, number)
    if original.kind == "credit":
        raise Refused(f"'{number}' is a credit note", "Credit notes cannot be voided")
    if session.exec(select(Invoice).where(Invoice.credit_of == original.id)).first():
        raise Refused(f"invoice '{number}' is already voided", "See: seatctl invoice list --kind credit")
    reason = clean_name(reason, "a reason") or ""
    if not reason:
        raise UsageError("a void needs a reason", "Add --reason TEXT")
    year = local_date(at, books.timezone).year
    seq, cn_number = _next_number(session, CREDIT_SERIES, year)
    credit = Invoice(
        number=cn_number, series=CREDIT_SERIES, year=year, seq=seq, account_id=original.account_id,
        kind="credit", issued_at=at, period_start=original.period_start, period_end=original.period_end,
        currency=original.currency, subtotal_minor=-original.subtotal_minor, tax_minor=-original.tax_minor,
        total_minor=-original.total_minor, credit_of=original.id, reason=reason,
    )
    session.add(credit)
    session.flush()
    assert credit.id is not None
    for line in lines_of(session, original):
        session.add(InvoiceLine(
            invoice_id=credit.id, line_no=line.line_no, account_id=line.account_id, licence_id=line.licence_id,
            meter_id=line.meter_id, kind=line.kind, description=f"Credit: {line.description}", quantity=line.quantity,
            unit_price_minor=-line.unit_price_minor, period_start=line.period_start, period_end=line.period_end,
            days=line.days, period_days=line.period_days, amount_minor=-line.amount_minor,
        ))
    audit.record(
        session, at=at, operator=actor.name, action="invoice.void", account_id=original.account_id,
        number=number, credit_note=cn_number, reason=reason,
    )
    return credit


def find(session: Session, number: str) -> Invoice:
    invoice = session.exec(select(Invoice).where(Invoice.number == number)).first()
    if invoice is None:
        raise NotFound(f"no invoice '{number}'", "See: seatctl invoice list")
    return invoice


def lines_of(session: Session, invoice: Invoice) -> list[InvoiceLine]:
    return list(session.exec(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.line_no)
    ).all())


def invoice_row(invoice: Invoice, slug: str, books: Books) -> dict[str, object]:
    return {
        "number": invoice.number, "account": slug, "kind": invoice.kind,
        "issued_at": invoice.issued_at.isoformat(timespec="seconds") + "Z",
        "period_start": invoice.period_start.isoformat(), "period_end": invoice.period_end.isoformat(),
        "total": format_minor(invoice.total_minor, books.digits),
    }


def list_invoices(
    session: Session, *, books: Books, account: str | None = None, kind: str | None = None,
    since: date | None = None, until: date | None = None,
) -> list[dict[str, object]]:
    """Invoices by number; --from/--to filter on the issue date (local to the ledger), inclusive."""
    query = select(Invoice, Account.slug).join(Account, Account.id == Invoice.account_id)
    if account:
        acct = session.exec(select(Account).where(Account.slug == account)).first()
        if acct is None:
            raise NotFound(f"no account '{account}'", "See: seatctl account list")
        query = query.where(Invoice.account_id == acct.id)
    if kind:
        query = query.where(Invoice.kind == kind)
    rows = []
    for invoice, slug in session.exec(query.order_by(Invoice.year, Invoice.series, Invoice.seq)).all():
        issued = local_date(invoice.issued_at, books.timezone)
        if (since and issued < since) or (until and issued > until):
            continue
        rows.append(invoice_row(invoice, slug, books))
    return sorted(rows, key=lambda r: str(r["number"]))


def show_invoice(session: Session, number: str, *, books: Books) -> dict[str, object]:
    invoice = find(session, number)
    slugs = dict(session.exec(select(Account.id, Account.slug)).all())
    codes = dict(session.exec(select(Licence.id, Licence.code)).all())
    meters = dict(session.exec(select(Meter.id, Meter.code)).all())
    out = invoice_row(invoice, slugs[invoice.account_id], books)
    out["currency"] = invoice.currency
    if invoice.credit_of:
        original = session.get(Invoice, invoice.credit_of)
        out["credit_of"] = original.number if original else None
        out["reason"] = invoice.reason
    voided_by = session.exec(select(Invoice.number).where(Invoice.credit_of == invoice.id)).first()
    out["voided_by"] = voided_by
    out["lines"] = [
        {
            "account": slugs[line.account_id], "licence": codes.get(line.licence_id) if line.licence_id else None,
            "meter": meters.get(line.meter_id) if line.meter_id else None, "description": line.description,
            "quantity": line.quantity,
            "unit_price": format_minor(line.unit_price_minor, books.digits),
            "period_start": line.period_start.isoformat(), "period_end": line.period_end.isoformat(),
            "days": line.days, "period_days": line.period_days,
            "amount": format_minor(line.amount_minor, books.digits),
        }
        for line in lines_of(session, invoice)
    ]
    out["subtotal"] = format_minor(invoice.subtotal_minor, books.digits)
    out["tax"] = format_minor(invoice.tax_minor, books.digits)
    return out

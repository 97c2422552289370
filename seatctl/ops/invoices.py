"""Invoices: the one writer (gapless numbers, the invoice, its lines), credit notes, and the reads.

Every invoice — a purchase's, a plan fee's, a trial's conversion, a close's, a credit note — is written by
`write_invoice` on the fast executor (`store/executor.py`): the close passes its own executor, an
ordinary write `Executor.of(session)`. Numbers are `{prefix}{YYYY}-{NNNNNN}`, the year of issue in the
ledger's time zone, gapless per series and year; credit notes have their own series `CN-`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from seatctl.errors import NotFound, Refused, UsageError
from seatctl.ops import settings
from seatctl.rules.books import Books
from seatctl.rules.charges import Bill, Draft, LineDraft, complete
from seatctl.rules.money import format_minor, from_minor
from seatctl.rules.names import clean_name
from seatctl.rules.periods import local_date
from seatctl.rules.roles import Actor
from seatctl.store import audit, statements
from seatctl.store.executor import Executor
from seatctl.store.tables import Account, Invoice, InvoiceLine, Licence, Meter

CREDIT_SERIES = "CN-"


@dataclass(frozen=True)
class Issued:
    """An invoice as written."""

    id: int
    number: str
    total_minor: int


@functools.lru_cache(maxsize=64)
def issue_year(at: datetime, tz: str) -> int:
    """The year an invoice issued at `at` is numbered in: its issue date's, in the ledger's time zone."""
    return local_date(at, tz).year


def take_numbers(ex: Executor, series: str, year: int, count: int = 1, *, currency: str) -> list[tuple[int, str]]:
    """The next `count` numbers of a series, in the caller's transaction: the counter row is bumped by
    `count` at once (and stays locked until the transaction ends, so numbers are gapless under
    concurrent writers); a series' first number of the year creates the row. `currency`: the one the
    invoices' amounts are in, which must still be the ledger's (`settings.hold_currency`: on PostgreSQL
    the shared lock is sent first, in the same round trip as the numbers)."""
    q = statements.invoices()
    params = {"s": series, "y": year, "n": count}
    settings.share_currency_lock(ex)
    row = ex.first(q.bump, params)
    if row is None:
        ex.run(statements.create_counter(ex.dialect.name), params)
        row = ex.first(q.bump, params)
    settings.check_currency(currency, row[1])
    last = int(row[0])
    return [(seq, f"{series}{year}-{seq:06d}") for seq in range(last - count + 1, last + 1)]


def write_invoice(ex: Executor, bill: Bill, *, books: Books, at: datetime, actor: Actor, series: str | None = None,
                  credit_of: int | None = None, reason: str | None = None,
                  currency: str | None = None) -> tuple[Issued, dict[str, Any]]:
    """Number and write an invoice and its lines; returns it and its event (`invoice.issue`), for the
    caller to write with its own events, in order."""
    return write_invoices(ex, [bill], books=books, at=at, actor=actor, series=series, credit_of=credit_of,
                          reason=reason, currency=currency)[0]


def write_invoices(ex: Executor, bills: list[Bill], *, books: Books, at: datetime, actor: Actor,
                   series: str | None = None, credit_of: int | None = None, reason: str | None = None,
                   currency: str | None = None) -> list[tuple[Issued, dict[str, Any]]]:
    """Number and write invoices and their lines (the numbers in the order of `bills`, taken at once);
    returns each as written, with its event. The cron close writes a group of accounts' invoices in one
    go; every other writer one."""
    if not bills:
        return []
    q = statements.invoices()
    series = series or books.invoice_prefix
    year = issue_year(at, books.timezone)
    numbers = take_numbers(ex, series, year, len(bills), currency=books.currency)
    rows: list[dict[str, Any]] = []
    for bill, (seq, number) in zip(bills, numbers, strict=True):
        draft = bill.draft
        values: dict[str, Any] = {
            "number": number, "series": series, "year": year, "seq": seq, "account_id": draft.account_id,
            "kind": draft.kind, "issued_at": at, "period_start": draft.period_start, "period_end": draft.period_end,
            "currency": currency or books.currency, "subtotal_minor": bill.subtotal_minor,
            "tax_minor": bill.tax_minor, "total_minor": bill.total_minor,
        }
        if credit_of is not None:  # only a credit note names these (on PostgreSQL only billing roles may write them)
            values.update(credit_of=credit_of, reason=reason)
        rows.append(values)
    by_number = {number: int(invoice_id)  # matched by number: RETURNING's order is not promised
                 for invoice_id, number in ex.insert_rows(q.invoice.table, rows, returning=("id", "number"))}
    ids = [by_number[number] for _, number in numbers]
    ex.insert_rows(q.lines.table, [{"invoice_id": invoice_id, "line_no": i, **line.row(books.digits)}
                                   for invoice_id, bill in zip(ids, bills, strict=True)
                                   for i, line in enumerate(bill.lines, 1)])
    digits = books.digits
    return [(Issued(invoice_id, number, bill.total_minor),
             audit.row(at=at, operator=actor.name, action="invoice.issue", account_id=bill.draft.account_id,
                       number=number, kind=bill.draft.kind, total=format_minor(bill.total_minor, digits)))
            for invoice_id, bill, (_, number) in zip(ids, bills, numbers, strict=True)]


def issue(session: Session, draft: Draft, *, books: Books, at: datetime, actor: Actor,
          discount: Decimal | None) -> Issued | None:
    """Write the invoice of a draft in the session's transaction, with its event; none when its lines
    bill nothing."""
    bill = complete(draft, books=books, discount=discount)
    if bill is None:
        return None
    ex = Executor.of(session)
    issued, event = write_invoice(ex, bill, books=books, at=at, actor=actor)
    ex.many(statements.invoices().events, [event])
    return issued


def unit_price_text(line: InvoiceLine, digits: int) -> str:
    """What a stored line shows as its unit price."""
    return line.unit_price if line.unit_price is not None else format_minor(line.unit_price_minor, digits)


def void(session: Session, number: str, *, reason: str, books: Books, at: datetime, actor: Actor) -> Issued:
    """A credit note that cancels an invoice (its lines negated); the invoice itself never changes."""
    actor.require("billing", "void invoices")
    original = find(session, number)
    if original.kind == "credit":
        raise Refused(f"'{number}' is a credit note", "Credit notes cannot be voided")
    if session.exec(select(Invoice).where(Invoice.credit_of == original.id)).first():
        raise Refused(f"invoice '{number}' is already voided", "See: seatctl invoice list --kind credit")
    reason = clean_name(reason, "a reason") or ""
    if not reason:
        raise UsageError("a void needs a reason", "Add --reason TEXT")
    lines = tuple(
        LineDraft(account_id=line.account_id, licence_id=line.licence_id, meter_id=line.meter_id, kind=line.kind,
                  description=f"Credit: {line.description}", quantity=line.quantity,
                  unit_price=-(Decimal(line.unit_price) if line.unit_price is not None
                               else from_minor(line.unit_price_minor, books.digits)),
                  period_start=line.period_start, period_end=line.period_end, days=line.days,
                  period_days=line.period_days, amount_minor=-line.amount_minor)
        for line in lines_of(session, original))
    draft = Draft(account_id=original.account_id, kind="credit", period_start=original.period_start,
                  period_end=original.period_end, lines=list(lines))
    bill = Bill(draft, lines, -original.subtotal_minor, -original.tax_minor)
    ex = Executor.of(session)
    credit, _ = write_invoice(ex, bill, books=books, at=at, actor=actor, series=CREDIT_SERIES,
                              credit_of=original.id, reason=reason, currency=original.currency)
    ex.many(statements.invoices().events, [audit.row(
        at=at, operator=actor.name, action="invoice.void", account_id=original.account_id, number=number,
        credit_note=credit.number, reason=reason)])
    return credit


def find(session: Session, number: str) -> Invoice:
    invoice = session.exec(select(Invoice).where(Invoice.number == number)).first()
    if invoice is None:
        raise NotFound(f"no invoice '{number}'", "See: seatctl invoice list")
    return invoice


def lines_of(session: Session, invoice: Invoice) -> list[InvoiceLine]:
    return list(session.exec(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(col(InvoiceLine.line_no))
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
    query = select(Invoice, Account.slug).join(Account, col(Account.id) == Invoice.account_id)
    if account:
        acct = session.exec(select(Account).where(Account.slug == account)).first()
        if acct is None:
            raise NotFound(f"no account '{account}'", "See: seatctl account list")
        query = query.where(Invoice.account_id == acct.id)
    if kind:
        query = query.where(Invoice.kind == kind)
    rows = []
    for invoice, slug in session.exec(query.order_by(col(Invoice.year), col(Invoice.series), col(Invoice.seq))).all():
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
            "unit_price": unit_price_text(line, books.digits),
            "period_start": line.period_start.isoformat(), "period_end": line.period_end.isoformat(),
            "days": line.days, "period_days": line.period_days,
            "amount": format_minor(line.amount_minor, books.digits),
        }
        for line in lines_of(session, invoice)
    ]
    out["subtotal"] = format_minor(invoice.subtotal_minor, books.digits)
    out["tax"] = format_minor(invoice.tax_minor, books.digits)
    return out

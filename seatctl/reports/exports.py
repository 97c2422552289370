"""`invoice export`: every invoice line with its invoice's header, one row each, for accountants."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from seatctl.errors import NotFound
from seatctl.ops.invoices import unit_price_text
from seatctl.rules.books import Books
from seatctl.rules.money import format_minor
from seatctl.rules.periods import local_date
from seatctl.store.tables import Account, Invoice, InvoiceLine, Licence, Meter

COLUMNS = ["number", "kind", "issued_at", "invoice_account", "currency", "line_no", "account", "licence", "meter",
           "description", "quantity", "unit_price", "period_start", "period_end", "days", "period_days", "amount",
           "invoice_subtotal", "invoice_tax", "invoice_total", "credit_of"]


def export_rows(session: Session, *, books: Books, account: str | None = None, kind: str | None = None,
                since: date | None = None, until: date | None = None) -> list[dict[str, object]]:
    """Lines ordered by invoice number then line number; --from/--to filter on the issue date (ledger time zone)."""
    query = select(Invoice, InvoiceLine).join(InvoiceLine, col(InvoiceLine.invoice_id) == col(Invoice.id))
    if account:
        row = session.exec(select(Account).where(col(Account.slug) == account)).first()
        if row is None:
            raise NotFound(f"no account '{account}'", "See: seatctl account list")
        query = query.where(col(Invoice.account_id) == row.id)
    if kind:
        query = query.where(col(Invoice.kind) == kind)
    slugs = dict(session.exec(select(Account.id, Account.slug)).all())
    codes = dict(session.exec(select(Licence.id, Licence.code)).all())
    meters = dict(session.exec(select(Meter.id, Meter.code)).all())
    numbers = dict(session.exec(select(Invoice.id, Invoice.number)).all())
    rows = []
    for invoice, line in session.exec(query).all():
        issued = local_date(invoice.issued_at, books.timezone)
        if (since and issued < since) or (until and issued > until):
            continue
        rows.append({
            "number": invoice.number, "kind": invoice.kind,
            "issued_at": invoice.issued_at.isoformat(timespec="seconds") + "Z",
            "invoice_account": slugs[invoice.account_id], "currency": invoice.currency, "line_no": line.line_no,
            "account": slugs[line.account_id], "licence": codes.get(line.licence_id) if line.licence_id else None,
            "meter": meters.get(line.meter_id) if line.meter_id else None, "description": line.description,
            "quantity": line.quantity, "unit_price": unit_price_text(line, books.digits),
            "period_start": line.period_start.isoformat(), "period_end": line.period_end.isoformat(),
            "days": line.days, "period_days": line.period_days,
            "amount": format_minor(line.amount_minor, books.digits),
            "invoice_subtotal": format_minor(invoice.subtotal_minor, books.digits),
            "invoice_tax": format_minor(invoice.tax_minor, books.digits),
            "invoice_total": format_minor(invoice.total_minor, books.digits),
            "credit_of": numbers.get(invoice.credit_of) if invoice.credit_of else None,
        })
    return sorted(rows, key=lambda r: (str(r["number"]), int(str(r["line_no"]))))

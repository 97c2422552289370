"""`report revenue`: invoiced amounts per bucket, account, kind and licence."""

from __future__ import annotations

from sqlalchemy import select as core_select  # more columns than sqlmodel.select types
from sqlmodel import Session, col

from seatctl.ops.lookup import account_ids, in_accounts
from seatctl.rules.books import Books
from seatctl.rules.buckets import Bucket
from seatctl.rules.money import format_minor
from seatctl.rules.periods import local_date, local_midnight
from seatctl.store.tables import Account, Invoice, InvoiceLine, Licence


def revenue_rows(session: Session, *, buckets: list[Bucket], books: Books, slug: str | None = None,
                 tree: bool = False) -> list[dict[str, object]]:
    """Invoiced amounts per bucket (issue date, ledger time zone), account, kind and licence;
    discount and tax lines appear as their own 'licence' rows so the amounts add up to the invoices."""
    ids = account_ids(session, slug, tree)
    if not buckets:
        return []
    first = local_midnight(buckets[0].start, books.timezone)
    last = local_midnight(buckets[-1].end, books.timezone)
    query = (core_select(col(Invoice.issued_at), col(Account.slug), col(Invoice.kind), col(InvoiceLine.kind),
                         col(Licence.code), col(InvoiceLine.amount_minor))
             .select_from(InvoiceLine).join(Invoice, col(Invoice.id) == InvoiceLine.invoice_id)
             .join(Account, col(Account.id) == Invoice.account_id)
             .outerjoin(Licence, col(Licence.id) == InvoiceLine.licence_id)
             .where(col(Invoice.issued_at) >= first, col(Invoice.issued_at) < last,
                    in_accounts(Invoice.account_id, ids)))
    sums: dict[tuple[str, str, str, str], int] = {}
    for issued_at, account, kind, line_kind, code, amount in session.execute(query).all():
        day = local_date(issued_at, books.timezone)
        label = next(b.label for b in buckets if b.start <= day < b.end).isoformat()
        key = (label, account, kind, code or f"({line_kind})")
        sums[key] = sums.get(key, 0) + amount
    return [{"bucket": k[0], "account": k[1], "kind": k[2], "licence": k[3],
             "amount": format_minor(v, books.digits)} for k, v in sorted(sums.items())]

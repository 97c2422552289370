"""cycle show|close, invoice list|show|export|void, order list|approve|cancel."""

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date

    from seatctl.cli.render import Output

cycle_app = Group()
invoice_app = Group()
order_app = Group()
CLOSE_COLUMNS = ["account", "period_start", "period_end", "seats_cancelled", "invoice", "total"]
INVOICE_COLUMNS = ["number", "account", "kind", "issued_at", "period_start", "period_end", "total"]


@cycle_app.command("close")
@renders
def cycle_close(
    account: Annotated[str | None, typer.Option("--account", metavar="SLUG", help="Only this account.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be closed; write nothing.")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Close every ended period (oldest first): trim free seats, write renewal invoices.

    Example: seatctl cycle close
    Example: seatctl cycle close --dry-run --format json
    """
    from seatctl.cli.render import Output
    from seatctl.ops.cycles import close_all

    lg = Ledger()
    actor, books = lg.read(lambda s, a, b: (a, b))
    progress: Callable[[int, int], None] | None = None
    bar = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = shown = Progress(transient=True)
        task = shown.add_task("closing", total=None)
        shown.start()

        def tick(done: int, total: int) -> None:
            shown.update(task, completed=done, total=total)

        progress = tick
    try:
        rows = close_all(lg.engine, now=lg.now, books=books, actor=actor, slug=account, dry_run=dry_run,
                         progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    return Output(rows=[r.as_dict(books) for r in rows], columns=CLOSE_COLUMNS,
                  message="Nothing due." if not rows else None,
                  note="dry run: nothing was written" if dry_run else None)


@cycle_app.command("show")
@renders
def cycle_show(account: Annotated[str, typer.Argument(help="Account slug.")], fmt: FormatOpt = None) -> "Output":
    """The current period, and what its close would keep and bill if nothing changed before its end
    (close_total: the invoice that close writes, children billed via the account included). Periods that
    ended but are not closed yet (cron has not run) are listed first, with what each close will bill.

    Example: seatctl cycle show acme
    """
    from seatctl.cli.render import Output
    from seatctl.ops.cycles import show_cycle

    lg = Ledger()
    card = lg.read(lambda s, a, b: show_cycle(s, account, now=lg.now, books=b))
    if fmt is not None and fmt.value in ("json", "csv"):
        return Output(obj=card)
    head = {k: v for k, v in card.items() if k not in ("seats", "due_periods")}
    assert isinstance(card["seats"], list) and isinstance(card["due_periods"], list)
    extra = []
    if card["due_periods"]:
        extra.append(Output(rows=card["due_periods"], title="ended, not closed yet (the next close bills them)",
                            columns=["period_start", "period_end", "seats_cancelled", "invoice_total"]))
    extra.append(Output(rows=card["seats"], columns=["licence", "owned", "in_use", "minimum", "kept", "renewal",
                                                     "usage"]))
    return Output(obj=head, title=f"cycle of {account}", extra=extra)


AccountOpt = Annotated[str | None, typer.Option("--account", metavar="SLUG", help="Only this account's invoices.")]
KindOpt = Annotated[str | None, typer.Option("--kind", metavar="purchase|renewal|usage|credit",
                                             help="Only invoices of this kind.")]
SinceOpt = Annotated[str | None, typer.Option("--from", metavar="DATE", help="Issued on or after YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option("--to", metavar="DATE", help="Issued on or before YYYY-MM-DD.")]
NumberArg = Annotated[str, typer.Argument(metavar="NUMBER", help="Invoice number, e.g. INV-2026-000004.")]
OrderArg = Annotated[int, typer.Argument(metavar="ORDER", help="Order id (see: seatctl order list).")]


def _filters(kind: str | None, since: str | None, until: str | None) -> "tuple[date | None, date | None]":
    """Check --kind; parse --from/--to (issue dates, inclusive)."""
    from seatctl import clock
    from seatctl.errors import UsageError

    if kind and kind not in ("purchase", "renewal", "usage", "credit"):
        raise UsageError(f"unknown invoice kind '{kind}'", "Use purchase, renewal, usage or credit")
    return (clock.parse_date(since) if since else None), (clock.parse_date(until) if until else None)


@invoice_app.command("list")
@renders
def invoice_list(account: AccountOpt = None, kind: KindOpt = None, since: SinceOpt = None, until: UntilOpt = None,
                 fmt: FormatOpt = None) -> "Output":
    """Invoices and credit notes, by number.

    Example: seatctl invoice list --account acme --from 2026-01-01
    """
    from seatctl.cli.render import Output
    from seatctl.ops.invoices import list_invoices

    lo, hi = _filters(kind, since, until)
    rows = Ledger().read(lambda s, a, b: list_invoices(s, books=b, account=account, kind=kind, since=lo, until=hi))
    return Output(rows=rows, columns=INVOICE_COLUMNS)


@invoice_app.command("show")
@renders
def invoice_show(number: NumberArg, fmt: FormatOpt = None) -> "Output":
    """One invoice with its lines, subtotal, tax and total.

    Example: seatctl invoice show INV-2026-000004
    """
    from seatctl.cli.render import Output
    from seatctl.ops.invoices import show_invoice

    data = Ledger().read(lambda s, a, b: show_invoice(s, number, books=b))
    head = {k: v for k, v in data.items() if k != "lines"}
    assert isinstance(data["lines"], list)
    lines = Output(rows=data["lines"], columns=["account", "licence", "description", "quantity", "unit_price",
                                                "period_start", "period_end", "days", "period_days", "amount"])
    return Output(obj=data, message=None, title=f"invoice {number}", extra=[lines]) if fmt and fmt.value == "json" \
        else Output(obj=head, title=f"invoice {number}", extra=[lines])


@invoice_app.command("export")
@renders
def invoice_export(account: AccountOpt = None, kind: KindOpt = None, since: SinceOpt = None, until: UntilOpt = None,
                   fmt: FormatOpt = None) -> "Output":
    """Every invoice line with its invoice's number, dates and totals, for accountants (use csv or json).

    Example: seatctl invoice export --from 2026-01-01 --to 2026-03-31 --format csv > invoices-q1.csv
    """
    from seatctl.cli.render import Output
    from seatctl.reports.exports import COLUMNS, export_rows

    lo, hi = _filters(kind, since, until)
    rows = Ledger().read(lambda s, a, b: export_rows(s, books=b, account=account, kind=kind, since=lo, until=hi))
    return Output(rows=rows, columns=COLUMNS)


@invoice_app.command("void")
@renders
def invoice_void(
    number: NumberArg,
    reason: Annotated[str, typer.Option("--reason", metavar="REASON", help="Why (kept on the credit note).")],
    fmt: FormatOpt = None,
) -> "Output":
    """Cancel an invoice with a credit note (CN-…); the invoice itself never changes.

    Example: seatctl invoice void INV-2026-000003 --reason 'duplicate order'
    """
    from seatctl.cli.render import Output
    from seatctl.ops import invoices

    lg = Ledger()
    credit = lg.write(lambda s, a, b: invoices.show_invoice(
        s, invoices.void(s, number, reason=reason, books=b, at=lg.now, actor=a).number, books=b))
    return Output(obj={k: v for k, v in credit.items() if k != "lines"},
                  message=f"Voided {number} with credit note {credit['number']} ({credit['total']}).")


@order_app.command("list")
@renders
def order_list(
    all_: Annotated[bool, typer.Option("--all", help="Include confirmed and cancelled orders.")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Pending purchase requests (shown as "buying" in status).

    Example: seatctl order list
    """
    from seatctl.cli.render import Output
    from seatctl.ops.orders import list_orders

    return Output(rows=Ledger().read(lambda s, a, b: list_orders(s, books=b, status=None if all_ else "pending")),
                  columns=["order", "account", "licence", "quantity", "status", "requested_by", "requested_at",
                           "quote"])


@order_app.command("approve")
@renders
def order_approve(order: OrderArg, fmt: FormatOpt = None) -> "Output":
    """Approve a pending order: charged from today, seats added.

    Example: seatctl order approve 3
    """
    from seatctl.cli.render import Output
    from seatctl.ops import orders as ledger

    lg = Ledger()
    purchase, books = lg.write(lambda s, a, b: (ledger.approve_order(s, order_id=order, actor=a, now=lg.now,
                                                                     books=b), b))
    data = purchase.as_dict(books)
    return Output(obj=data, message=f"Approved order {order}: invoice {data['invoice']}, "
                                    f"total {data['total']} {books.currency}.")


@order_app.command("cancel")
@renders
def order_cancel(order: OrderArg, fmt: FormatOpt = None) -> "Output":
    """Cancel a pending order (its requester or a billing operator).

    Example: seatctl order cancel 3
    """
    from seatctl.cli.render import Output
    from seatctl.ops import orders as ledger

    lg = Ledger()
    lg.write(lambda s, a, b: ledger.cancel_order(s, order_id=order, actor=a, now=lg.now))
    return Output(obj={"order": order, "status": "cancelled"}, message=f"Cancelled order {order}.")


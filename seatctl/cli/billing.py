"""cycle show|close, invoice list|show|void, order list|approve|cancel."""

import sys
from typing import Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, execute

cycle_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
invoice_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
order_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
CLOSE_COLUMNS = ["account", "period_start", "period_end", "seats_cancelled", "invoice", "total"]
INVOICE_COLUMNS = ["number", "account", "kind", "issued_at", "period_start", "period_end", "total"]


@cycle_app.command("close")
def cycle_close(
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be closed; write nothing.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Close every ended period (oldest first): trim free seats, write renewal invoices."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.cycles import close_all

        lg = Ledger()
        actor, books = lg.read(lambda s, a, b: (a, b))
        progress = None
        bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress

            bar = Progress(transient=True)
            task = bar.add_task("closing", total=None)
            bar.start()

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)
        try:
            rows = close_all(lg.engine, now=lg.now, books=books, actor=actor, slug=account, dry_run=dry_run,
                             progress=progress)
        finally:
            if bar is not None:
                bar.stop()
        return Output(rows=[r.as_dict(books) for r in rows], columns=CLOSE_COLUMNS,
                      message="Nothing due." if not rows else None,
                      note="dry run: nothing was written" if dry_run else None)

    execute(fmt, produce)


@cycle_app.command("show")
def cycle_show(account: Annotated[str, typer.Argument(help="Account slug.")], fmt: FormatOpt = None) -> None:
    """The current period, days left, what the next renewal would keep and bill."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.cycles import show_cycle

        lg = Ledger()
        card = lg.read(lambda s, a, b: show_cycle(s, account, now=lg.now, books=b))
        if fmt is not None and fmt.value in ("json", "csv"):
            return Output(obj=card)
        head = {k: v for k, v in card.items() if k != "seats"}
        seats = Output(rows=card["seats"], columns=["licence", "owned", "in_use", "minimum", "kept", "renewal"])
        return Output(obj=head, title=f"cycle of {account}", extra=[seats])

    execute(fmt, produce)


AccountOpt = Annotated[str | None, typer.Option("--account")]
KindOpt = Annotated[str | None, typer.Option("--kind", help="purchase, renewal, usage or credit.")]
SinceOpt = Annotated[str | None, typer.Option("--from", help="Issued on or after YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option("--to", help="Issued on or before YYYY-MM-DD.")]


def _filters(kind: str | None, since: str | None, until: str | None):  # type: ignore[no-untyped-def]
    """Check --kind; parse --from/--to (issue dates, inclusive)."""
    from seatctl import clock
    from seatctl.errors import UsageError

    if kind and kind not in ("purchase", "renewal", "usage", "credit"):
        raise UsageError(f"unknown invoice kind '{kind}'", "Use purchase, renewal, usage or credit")
    return (clock.parse_date(since) if since else None), (clock.parse_date(until) if until else None)


@invoice_app.command("list")
def invoice_list(account: AccountOpt = None, kind: KindOpt = None, since: SinceOpt = None, until: UntilOpt = None,
                 fmt: FormatOpt = None) -> None:
    """Invoices and credit notes, by number."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.invoices import list_invoices

        lo, hi = _filters(kind, since, until)
        rows = Ledger().read(lambda s, a, b: list_invoices(s, books=b, account=account, kind=kind, since=lo, until=hi))
        return Output(rows=rows, columns=INVOICE_COLUMNS)

    execute(fmt, produce)


@invoice_app.command("show")
def invoice_show(number: Annotated[str, typer.Argument(help="Invoice number.")], fmt: FormatOpt = None) -> None:
    """One invoice with its lines, subtotal, tax and total."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.invoices import show_invoice

        data = Ledger().read(lambda s, a, b: show_invoice(s, number, books=b))
        head = {k: v for k, v in data.items() if k != "lines"}
        lines = Output(rows=data["lines"], columns=["account", "licence", "description", "quantity", "unit_price",
                                                    "period_start", "period_end", "days", "period_days", "amount"])
        return Output(obj=data, message=None, title=f"invoice {number}", extra=[lines]) if fmt and fmt.value == "json" \
            else Output(obj=head, title=f"invoice {number}", extra=[lines])

    execute(fmt, produce)


@invoice_app.command("export")
def invoice_export(account: AccountOpt = None, kind: KindOpt = None, since: SinceOpt = None, until: UntilOpt = None,
                   fmt: FormatOpt = None) -> None:
    """Every invoice line with its invoice's number, dates and totals, for accountants (use csv or json)."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.reports.exports import COLUMNS, export_rows

        lo, hi = _filters(kind, since, until)
        rows = Ledger().read(lambda s, a, b: export_rows(s, books=b, account=account, kind=kind, since=lo, until=hi))
        return Output(rows=rows, columns=COLUMNS)

    execute(fmt, produce)


@invoice_app.command("void")
def invoice_void(
    number: Annotated[str, typer.Argument(help="Invoice number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept on the credit note).")],
    fmt: FormatOpt = None,
) -> None:
    """Cancel an invoice with a credit note (CN-…); the invoice itself never changes."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import invoices

        lg = Ledger()
        credit = lg.write(lambda s, a, b: invoices.show_invoice(
            s, invoices.void(s, number, reason=reason, books=b, at=lg.now, actor=a).number, books=b))
        return Output(obj={k: v for k, v in credit.items() if k != "lines"},
                      message=f"Voided {number} with credit note {credit['number']} ({credit['total']}).")

    execute(fmt, produce)


@order_app.command("list")
def order_list(
    all_: Annotated[bool, typer.Option("--all", help="Include confirmed and cancelled orders.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Pending purchase requests (shown as "buying" in status)."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.orders import list_orders

        return Output(rows=Ledger().read(lambda s, a, b: list_orders(s, books=b, status=None if all_ else "pending")),
                      columns=["order", "account", "licence", "quantity", "status", "requested_by", "requested_at",
                               "quote"])

    execute(fmt, produce)


@order_app.command("approve")
def order_approve(order: Annotated[int, typer.Argument(help="Order id.")], fmt: FormatOpt = None) -> None:
    """Approve a pending order: charged from today, seats added."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import orders as ledger

        lg = Ledger()
        purchase, books = lg.write(lambda s, a, b: (ledger.approve_order(s, order_id=order, actor=a, now=lg.now,
                                                                         books=b), b))
        data = purchase.as_dict(books)
        return Output(obj=data, message=f"Approved order {order}: invoice {data['invoice']}, "
                                        f"total {data['total']} {books.currency}.")

    execute(fmt, produce)


@order_app.command("cancel")
def order_cancel(order: Annotated[int, typer.Argument(help="Order id.")], fmt: FormatOpt = None) -> None:
    """Cancel a pending order (its requester or a billing operator)."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import orders as ledger

        lg = Ledger()
        lg.write(lambda s, a, b: ledger.cancel_order(s, order_id=order, actor=a, now=lg.now))
        return Output(obj={"order": order, "status": "cancelled"}, message=f"Cancelled order {order}.")

    execute(fmt, produce)

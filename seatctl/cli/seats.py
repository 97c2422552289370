"""buy, assign, release, status: what operators type all day."""

import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, renders

if TYPE_CHECKING:
    from sqlmodel import Session

    from seatctl.cli.render import Output
    from seatctl.rules.books import Books
    from seatctl.rules.roles import Actor


@renders
def status(
    account: Annotated[str | None, typer.Argument(help="Account slug (default: every account).")] = None,
    tree: Annotated[bool, typer.Option("--tree", help="Include the account's subtree (its children, theirs…).")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Seats per licence type: in_use, free, total, minimum, buying.

    Example: seatctl status
    Example: seatctl status acme
    Example: seatctl status resell --tree
    """
    from seatctl.cli.render import Output
    from seatctl.reports.status import allowance_rows, status_rows

    with_use = bool(account) and (fmt is None or fmt.value not in ("json", "csv"))

    def read(s: "Session", a: "Actor", b: "Books") -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        rows = status_rows(s, slug=account, tree=tree)
        return rows, (allowance_rows(s, account) if with_use and account else [])

    rows, use = Ledger().read(read)
    out = Output(rows=rows, columns=["account", "licence", "in_use", "free", "total", "minimum", "buying", "waiting"])
    if use:
        out.extra.append(Output(rows=use, title="this period's metered use",
                                columns=["account", "plan", "meter", "used", "allowance", "overage"]))
    return out


@renders
def buy(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    licence: Annotated[str, typer.Argument(help="Licence code.")],
    quantity_text: Annotated[str, typer.Argument(metavar="QUANTITY", help="Seats to buy (1 to 1,000,000).")],
    quote: Annotated[bool, typer.Option("--quote", help="Show the charge; buy nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed when piped).")] = False,
    request_id: Annotated[str | None, typer.Option("--request-id", metavar="KEY",
                                                   help="Idempotency key: a retry with it charges nothing.")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Quote, then charge at once (prorated) and add seats; an operator files a pending order.

    Example: seatctl buy acme voip 2 --quote
    Example: seatctl buy acme voip 2 --yes
    Example: seatctl buy acme base 5 --yes --request-id po-4471
    """
    from seatctl.cli.render import Output
    from seatctl.errors import UsageError
    from seatctl.ops import orders as ledger
    from seatctl.rules import bounds

    # Usage errors first (SPEC §8: usage, permission, not found, rule), before the ledger is read.
    quantity = bounds.seats(quantity_text, hint=f"Buy 1 to 1,000,000 seats, e.g. seatctl buy {account} {licence} 1")
    if not quote and not yes and not sys.stdin.isatty():
        raise UsageError("buy needs confirmation and standard input is not a terminal",
                         "Add --yes to buy without asking")
    lg = Ledger()
    if not quote:  # refuse a role that may not buy before anything else
        lg.read(lambda s, a, b: a.require("operator", "buy seats"))
    # The quote writes nothing (a viewer may ask for it): a read transaction.
    purchase, books = lg.read(lambda s, a, b: (ledger.buy(s, slug=account, code=licence, quantity=quantity,
                                                          quote=True, actor=a, now=lg.now, books=b), b))
    if not quote and not yes:
        price = f"{purchase.as_dict(books)['total']} {books.currency}"
        typer.confirm(f"Buy {quantity} '{licence}' seat(s) for '{account}' now for {price}?", abort=True)
    if not quote:
        purchase = lg.write(lambda s, a, b: ledger.buy(s, slug=account, code=licence, quantity=quantity,
                                                        request_id=request_id, actor=a, now=lg.now, books=b))
    data = purchase.as_dict(books)
    money = f"{data['total']} {books.currency}"
    seats = f"{quantity} '{licence}' seat{'s' if quantity != 1 else ''}"
    if purchase.status == "quote":
        message = f"Quote: {seats} for '{account}' would cost {money} now."
    elif purchase.status == "pending":
        message = (f"Requested {seats} for '{account}': order {purchase.order} is pending (quote {money}). "
                   f"A billing operator can approve it: seatctl order approve {purchase.order}")
    else:
        invoice = f"invoice {purchase.invoice}" if purchase.invoice else "no invoice (nothing to charge)"
        message = f"Bought {seats} for '{account}': {invoice}, total {money} (order {purchase.order})."
    return Output(obj=data, message=message)


@renders
def assign(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    email: Annotated[str | None, typer.Argument(help="The user's e-mail.")] = None,
    licences: Annotated[list[str] | None, typer.Argument(metavar="LICENCE", show_default=False,
                                                         help="Licence codes, one or more.")] = None,
    from_csv: Annotated[str | None, typer.Option("--from-csv", metavar="FILE",
                                                 help="Instead of EMAIL LICENCE…: a CSV with header email,licence.")] = None,
    buy_missing: Annotated[bool, typer.Option("--buy", help="Buy the missing seats (an operator requests them).")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Queue what finds no free seat; it is seated when one comes "
                                       "free or is bought.")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Give seats to a user (several licence types at once), or a whole CSV file: all or nothing
    (with --wait, what finds no free seat waits on the waitlist).

    Example: seatctl assign acme ana@example.com base voip
    Example: seatctl assign acme --from-csv seats.csv
    Example: seatctl assign acme ben@example.com gsm --buy
    Example: seatctl assign acme cy@example.com base --wait
    """
    from seatctl.cli.render import Output
    from seatctl.errors import UsageError
    from seatctl.ops import seats as ledger
    from seatctl.rules.csvfile import read_csv
    from seatctl.rules.emails import email_key

    if from_csv:
        if email or licences:
            raise UsageError("give either EMAIL LICENCE… or --from-csv, not both", "See: seatctl assign --help")
        rows = read_csv(from_csv, ("email", "licence"))
        pairs = []
        for row in rows:
            if not row.get("licence"):
                raise UsageError(f"row {row['_row']} of '{from_csv}' has no licence", "Fill the licence column")
            pairs.append((email_key(row.get("email", ""), f"row {row['_row']}: "), row["licence"]))
        if not pairs:
            raise UsageError(f"'{from_csv}' has no rows", "Add rows below the header email,licence")
    else:
        if not email or not licences:
            raise UsageError("assign needs EMAIL and at least one LICENCE",
                             f"e.g. seatctl assign {account} ana@example.com base")
        pairs = [(email, code) for code in licences]
    lg = Ledger()
    result = lg.write(lambda s, a, b: ledger.assign(s, slug=account, pairs=pairs, buy_missing=buy_missing,
                                                     wait=wait, actor=a, now=lg.now, books=b))
    who = result.user or f"{len({p[0] for p in pairs})} users"
    parts = []
    if result.assigned:
        codes = ", ".join(f"{code} ×{n}" if n > 1 else code for code, n in Counter(result.assigned).items())
        parts.append(f"Assigned {codes} to {who} in '{account}'")
    if result.unchanged:
        parts.append(f"already held: {', '.join(sorted(set(result.unchanged)))}")
    if result.bought:
        parts.append("bought " + ", ".join(f"{b['quantity']} '{b['licence']}' (invoice {b['invoice']})"
                                           for b in result.bought))
    if result.waiting:
        codes = ", ".join(f"{code} ×{n}" if n > 1 else code for code, n in Counter(result.waiting).items())
        parts.append(f"waiting: {codes}" if parts else f"{who} waits for {codes} in '{account}'")
    message = "; ".join(parts) + "." if parts else "Nothing assigned."
    return Output(obj=result.as_dict(), message=message, note=result.note)


@renders
def release(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    licences: Annotated[list[str], typer.Argument(metavar="LICENCE", help="Licence codes, one or more.")],
    fmt: FormatOpt = None,
) -> "Output":
    """Take seats back from a user; the seats stay owned and free.

    Example: seatctl release acme ana@example.com voip
    """
    from seatctl.cli.render import Output
    from seatctl.ops import seats as ledger

    lg = Ledger()
    result = lg.write(lambda s, a, b: ledger.release(s, slug=account, email=email, codes=licences,
                                                      actor=a, now=lg.now, books=b))
    parts = []
    if result.released:
        parts.append(f"Released {', '.join(result.released)} from {result.user} in '{account}'")
    if result.unchanged:
        parts.append(f"not held: {', '.join(result.unchanged)}")
    note = f"from the waitlist: {', '.join(result.seated)}" if result.seated else None
    return Output(obj=result.as_dict(), message="; ".join(parts) + ".", note=note)

"""sync (a directory export -> users and seats) and waitlist list|cancel (SPEC §9)."""

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders

if TYPE_CHECKING:
    from sqlmodel import Session

    from seatctl.cli.render import Output
    from seatctl.ops.sync import SyncResult
    from seatctl.rules.books import Books
    from seatctl.rules.roles import Actor

waitlist_app = Group()
CHANGE_COLUMNS = ["email", "action", "licence", "detail"]
SHOWN_ON_TERMINAL = 200  # changes drawn in the terminal diff; every format but `table` lists them all
_SIGN = {"user.add": ("+", "green"), "assign": ("+", "green"), "user.activate": ("+", "green"),
         "user.update": ("~", "yellow"), "release": ("-", "red"), "user.deactivate": ("-", "red"),
         "wait": ("…", "cyan")}


@renders
def sync(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    file: Annotated[str, typer.Argument(help="The directory export (CSV): one row per user.")],
    profile: Annotated[str | None, typer.Option("--profile", metavar="NAME", help="A [profiles.NAME] table of the "
                                                "config file (default: the columns email,name,role,licences,status).")
                       ] = None,
    remove_missing: Annotated[bool, typer.Option("--remove-missing",
                                                 help="Deactivate active users the file does not list.")] = False,
    buy_missing: Annotated[bool, typer.Option("--buy", help="Buy the seats the file lacks (an operator requests "
                                              "them and those assignments wait).")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Queue the assignments that find no free seat.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and its quote; write nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before buying (needed when piped).")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Make an account's users and seats match a directory export (Microsoft 365, Google Workspace, HR...).

    Applied in one transaction, releases first; refused (exit 4) when seats lack and neither --buy
    nor --wait is given. The same file twice changes nothing the second time.

    Example: seatctl sync acme people.csv --dry-run
    Example: seatctl sync acme m365-users.csv --profile m365 --remove-missing --wait
    Example: seatctl sync acme people.csv --buy --yes --format json
    """
    from seatctl.cli.render import Output, choose, render
    from seatctl.errors import UsageError
    from seatctl.ops.sync import sync as run_sync
    from seatctl.rules.directory import NATIVE, profile_from_config, read_export

    lg = Ledger()  # reads the config file (its profiles), not yet the ledger
    where = f"'{lg.config.path}'" if lg.config.path else "the config file (none found)"
    layout = NATIVE if profile is None else profile_from_config(profile, lg.config.raw.get("profiles"), where)
    export = read_export(file, layout)  # a bad file is exit 2 before the ledger is opened
    shown = choose(fmt.value if fmt else None)

    def plan(apply: bool) -> "tuple[SyncResult, Books]":
        def run(s: "Session", a: "Actor", b: "Books") -> "tuple[SyncResult, Books]":
            return run_sync(s, slug=account, export=export, remove_missing=remove_missing, buy=buy_missing,
                            wait=wait, dry_run=not apply, actor=a, now=lg.now, books=b), b
        return lg.write(run) if apply else lg.preview(run)

    if dry_run:
        result, books = plan(False)
        out = _output(result, books, shown)
        if result.refusal is not None:  # the plan, then the refusal's line and exit code
            render(out, shown)
            raise result.refusal
        return out
    drawn = False
    if buy_missing and not yes:  # a sync that buys asks first, like `buy`
        preview, books = plan(False)
        if preview.bought:
            if not sys.stdin.isatty():
                raise UsageError(f"this sync would buy seats ({_bought_text(preview, books)}) and standard input "
                                 "is not a terminal", "Add --yes to buy without asking, or --dry-run to see the plan")
            if shown == "table":
                _diff(preview, books)
                drawn = True
            typer.confirm(f"{_bought_text(preview, books, verb=True)} and apply this sync?", abort=True, err=True)
    result, books = plan(True)
    if drawn:  # the plan was drawn above the question: say what happened
        return Output(obj=result.as_dict(), message=_summary(result, books))
    return _output(result, books, shown)


def _bought_text(result: "SyncResult", books: "Books", verb: bool = False) -> str:
    pending = any(b.get("order") is not None and b.get("invoice") is None for b in result.bought) and not verb
    parts = ", ".join(f"{b['quantity']} '{b['licence']}' for {b['total']} {books.currency}" for b in result.bought)
    if verb:
        return f"Buy (or request) {parts}"
    return ("requested " if pending else "") + parts


def _summary(result: "SyncResult", books: "Books") -> str:
    data = result.as_dict()
    counts = ", ".join(f"{data[k]} {k}" for k in ("added", "updated", "reactivated", "deactivated", "assigned",
                                                  "released", "waiting") if data[k])
    extra = []
    if result.unmanaged:
        extra.append(f"{result.unmanaged} active user(s) not in the file left alone (--remove-missing deactivates them)")
    if result.unmapped:
        extra.append(f"{result.unmapped} licence value(s) with no mapping ignored")
    if result.still_waiting:
        extra.append(f"{result.still_waiting} request(s) still waiting")
    tail = ("; " + "; ".join(extra)) if extra else ""
    where = f"'{result.account}' from {result.source}"
    if not counts:
        return f"{'Plan for' if result.dry_run else 'Synced'} {where}: nothing to change{tail}."
    head = "Plan for" if result.dry_run else "Synced"
    return f"{head} {where}: {counts}{tail}."


def _money_lines(result: "SyncResult", books: "Books") -> list[str]:
    lines = []
    if result.bought:
        status = "would buy" if result.dry_run else "bought"
        if any(b["invoice"] is None and b["order"] is not None for b in result.bought):
            status = "requested (pending orders)"
        for b in result.bought:
            order = f", order {b['order']}" if b.get("order") else ""
            invoice = f", invoice {b['invoice']}" if b.get("invoice") else ""
            lines.append(f"{status}: {b['quantity']} '{b['licence']}' seat(s) for {b['total']} {books.currency}"
                         f"{order}{invoice}")
        if result.dry_run and result.refusal is not None:
            lines.insert(0, "Seats lacking (refused without --buy or --wait):")
    elif result.lacking:
        parts = ", ".join(f"{n} '{code}'" for code, n in result.lacking.items())
        from seatctl.rules.money import format_minor

        lines.append(f"seats lacking: {parts} (they wait; buying them would cost "
                     f"{format_minor(result.quote_minor, books.digits)} {books.currency})")
    return lines


def _label(change: Any) -> str:
    licence = f" {change.licence}" if change.licence else ""
    words = {"user.add": "add user", "user.update": "update", "user.activate": "reactivate",
             "user.deactivate": "deactivate", "release": "release", "assign": "assign", "wait": "wait for"}
    detail = f"  ({change.detail})" if change.detail else ""
    return f"{words[change.action]}{licence}{detail}"


def _diff(result: "SyncResult", books: "Books") -> None:
    """The plan as a diff on a terminal: green adds, red removals, the purchase quote at the bottom."""
    from rich.console import Console
    from rich.text import Text

    console = Console()
    width = min(40, max((len(c.email) for c in result.changes[:SHOWN_ON_TERMINAL]), default=10))
    for change in result.changes[:SHOWN_ON_TERMINAL]:
        sign, style = _SIGN[change.action]
        console.print(Text(f"{sign} {change.email:<{width}}  {_label(change)}", style=style))
    more = len(result.changes) - SHOWN_ON_TERMINAL
    if more > 0:
        console.print(Text(f"… and {more} more change(s): --format csv lists them all", style="dim"))
    for line in _money_lines(result, books):
        console.print(Text(line, style="bold"))


def _output(result: "SyncResult", books: "Books", shown: str) -> "Output":
    from seatctl.cli.render import Output

    data = result.as_dict()
    message = _summary(result, books)
    if shown == "json":
        return Output(obj=data)
    if shown == "table":
        _diff(result, books)
        return Output(obj=data, message=message)
    rows = [{"email": c.email, "action": c.action, "licence": c.licence, "detail": c.detail} for c in result.changes]
    if shown == "csv":
        return Output(rows=rows, columns=CHANGE_COLUMNS)
    out = Output(rows=rows, columns=CHANGE_COLUMNS, message=message)
    if rows:  # (with no rows the message is printed instead of an empty table)
        out.extra.append(Output(message=message))
    if result.bought:
        out.extra.append(Output(rows=result.bought, columns=["licence", "quantity", "order", "invoice", "total"],
                                title=_money_lines(result, books)[0]))
    elif result.lacking:
        out.extra.append(Output(message=_money_lines(result, books)[0]))
    return out


@waitlist_app.command("list")
@renders
def waitlist_list(
    account: Annotated[str | None, typer.Option("--account", metavar="SLUG", help="Only this account.")] = None,
    tree: Annotated[bool, typer.Option("--tree", help="With --account: its whole subtree.")] = False,
    fmt: FormatOpt = None,
) -> "Output":
    """Waiting requests by account, licence and place in the queue (1 is seated first).

    Example: seatctl waitlist list
    Example: seatctl waitlist list --account acme
    """
    from seatctl.cli.render import Output
    from seatctl.ops.waitlist import WAITLIST_COLUMNS, waitlist_rows

    rows = Ledger().read(lambda s, a, b: waitlist_rows(s, slug=account, tree=tree))
    return Output(rows=rows, columns=WAITLIST_COLUMNS, message="Nobody is waiting for a seat.")


@waitlist_app.command("cancel")
@renders
def waitlist_cancel(
    account: Annotated[str, typer.Argument(help="Account slug.")],
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    licence: Annotated[str, typer.Argument(help="Licence code.")],
    fmt: FormatOpt = None,
) -> "Output":
    """Drop one waiting request (the user keeps the seats they hold).

    Example: seatctl waitlist cancel acme ana@example.com voip
    """
    from seatctl.cli.render import Output
    from seatctl.ops.seats import cancel_waiting as cancel

    lg = Ledger()
    data = lg.write(lambda s, a, b: cancel(s, slug=account, email=email, code=licence, actor=a, now=lg.now, books=b))
    return Output(obj=data, message=f"Cancelled: '{data['email']}' no longer waits for a '{licence}' seat "
                                    f"in '{account}'.")

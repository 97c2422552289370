"""account add|list|show|set|set-min|set-plan|suspend|activate|close."""

from typing import TYPE_CHECKING, Annotated

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, renders

if TYPE_CHECKING:
    from seatctl.cli.render import Output

app = Group()
Slug = Annotated[str, typer.Argument(metavar="SLUG", help="Account slug.")]
Cycle = Annotated[str | None, typer.Option("--cycle", metavar="monthly|annual",
                                           help="Cycle length (default: monthly).")]


@app.command("add")
@renders
def add(
    slug: Annotated[str, typer.Argument(help="Short id, e.g. acme: lower-case letters, digits and '-'.")],
    name: Annotated[str, typer.Option("--name", help="Customer name.")],
    cycle: Cycle = None,
    anchor: Annotated[str | None, typer.Option("--anchor", metavar="DATE",
                                               help="Billing anchor YYYY-MM-DD (default: the creation date).")] = None,
    mode: Annotated[str, typer.Option("--mode", metavar="allocation|peak",
                                      help="Prepaid seat pools, or billed in arrears on the peak.")] = "allocation",
    timezone: Annotated[str | None, typer.Option("--timezone", metavar="TZ",
                                                 help="IANA time zone, e.g. Europe/Madrid (default: the ledger's).")] = None,
    parent: Annotated[str | None, typer.Option("--parent", metavar="SLUG", help="Parent account (a reseller).")] = None,
    billed_via_parent: Annotated[bool, typer.Option("--billed-via-parent",
                                                    help="Share the parent's cycle; bill on the parent's invoice.")] = False,
    trial: Annotated[bool, typer.Option("--trial", help="Start as a trial (never invoiced).")] = False,
    discount: Annotated[str | None, typer.Option("--discount", metavar="PCT",
                                                 help="Percentage off every invoice, e.g. 10.")] = None,
    minimum: Annotated[list[str] | None, typer.Option("--min", metavar="LICENCE=N",
                                                      help="Contract minimum, bought at once (repeatable).")] = None,
    plan: Annotated[str | None, typer.Option("--plan", metavar="PLAN", help="Plan code.")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Create an account; minimums are bought at once.

    Example: seatctl account add acme --name 'Acme Corp' --min base=2
    Example: seatctl account add callco --name 'Call Co' --mode peak --anchor 2026-01-27
    Example: seatctl account add shop-a --name 'Shop A' --parent resell --billed-via-parent
    """
    from seatctl import clock
    from seatctl.cli.render import Output
    from seatctl.ops import accounts as ledger
    from seatctl.ops.accounts import show_account

    lg = Ledger()
    mins = ledger.parse_minimums(minimum or [])
    anchor_day = clock.parse_date(anchor) if anchor else None
    lg.write(lambda s, a, b: ledger.add_account(
        s, slug=slug, name=name, cycle=cycle, anchor=anchor_day, mode=mode, timezone=timezone, parent=parent,
        billed_via_parent=billed_via_parent, trial=trial, discount=discount, minimums=mins, plan=plan,
        actor=a, now=lg.now, books=b))
    card = lg.read(lambda s, a, b: show_account(s, slug))
    return Output(obj=card, message=f"Created account '{slug}' ({card['mode']}, {card['cycle']}, "
                                    f"period {card['period_start']} → {card['period_end']}).")


@app.command("list")
@renders
def list_(fmt: FormatOpt = None) -> "Output":
    """Every account, by slug.

    Example: seatctl account list --format csv
    """
    from seatctl.cli.render import Output
    from seatctl.ops.accounts import list_accounts

    return Output(rows=Ledger().read(lambda s, a, b: list_accounts(s)),
                  columns=["slug", "name", "mode", "cycle", "status", "parent", "period_start", "period_end"])


@app.command("show")
@renders
def show(slug: Slug, fmt: FormatOpt = None) -> "Output":
    """One account: settings, minimums, current period and pending changes.

    Example: seatctl account show acme
    """
    from seatctl.cli.render import Output
    from seatctl.ops.accounts import show_account

    card = Ledger().read(lambda s, a, b: show_account(s, slug))
    return Output(obj=card, title=f"account {slug}")


@app.command("set")
@renders
def set_(
    slug: Slug,
    name: Annotated[str | None, typer.Option("--name", help="New customer name.")] = None,
    cycle: Annotated[str | None, typer.Option("--cycle", metavar="monthly|annual",
                                              help="New cycle length, from the next period.")] = None,
    anchor: Annotated[str | None, typer.Option("--anchor", metavar="DATE",
                                               help="New anchor YYYY-MM-DD, from the next period.")] = None,
    discount: Annotated[str | None, typer.Option("--discount", metavar="PCT",
                                                 help="Percentage off every invoice from now; 0 removes it.")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Change an account; cycle and anchor changes wait for the period end.

    Example: seatctl account set acme --cycle annual
    Example: seatctl account set acme --discount 10
    """
    from seatctl import clock
    from seatctl.cli.render import Output
    from seatctl.ops import accounts as ledger
    from seatctl.ops.accounts import show_account

    lg = Ledger()
    anchor_day = clock.parse_date(anchor) if anchor else None
    lg.write(lambda s, a, b: ledger.set_account(s, slug=slug, name=name, cycle=cycle, anchor=anchor_day,
                                                 discount=discount, actor=a, now=lg.now, books=b))
    card = lg.read(lambda s, a, b: show_account(s, slug))
    pending = card["pending"]
    return Output(obj=card, message=f"Updated '{slug}'." + (f" Pending from {card['period_end']}: {pending}."
                                                             if pending else ""))


@app.command("set-min")
@renders
def set_min(
    slug: Slug,
    minimums: Annotated[list[str], typer.Argument(metavar="LICENCE=N", help="Minimums per licence code.")],
    fmt: FormatOpt = None,
) -> "Output":
    """Contract minimums: raising buys the difference now; lowering applies at the next close.

    Example: seatctl account set-min acme base=5 voip=2
    """
    from seatctl.cli.render import Output
    from seatctl.ops import accounts as ledger
    from seatctl.ops.accounts import show_account

    lg = Ledger()
    mins = ledger.parse_minimums(minimums)
    lg.write(lambda s, a, b: ledger.set_minimums(s, slug=slug, minimums=mins, actor=a, now=lg.now, books=b))
    card = lg.read(lambda s, a, b: show_account(s, slug))
    return Output(obj=card, message=f"Minimums of '{slug}': {card['minimums']}"
                                    + (f"; pending: {card['pending']}" if card["pending"] else "") + ".")


def _status(slug: str, target: str) -> "Output":
    from seatctl.cli.render import Output
    from seatctl.ops import accounts as ledger
    from seatctl.ops.accounts import show_account

    lg = Ledger()
    _, changed = lg.write(lambda s, a, b: ledger.change_status(s, slug=slug, target=target, actor=a,
                                                               now=lg.now, books=b))
    card = lg.read(lambda s, a, b: show_account(s, slug))
    if not changed:
        message = f"'{slug}' is already {target}."
    elif target == "closed":
        message = f"'{slug}' is closed; its last period ends {card['period_end']}, when every seat is released."
    else:
        message = f"'{slug}' is now {target}."
    return Output(obj=card, message=message)


@app.command("suspend")
@renders
def suspend(slug: Slug, fmt: FormatOpt = None) -> "Output":
    """No new assignments; billing continues.

    Example: seatctl account suspend acme
    """
    return _status(slug, "suspended")


@app.command("activate")
@renders
def activate(slug: Slug, fmt: FormatOpt = None) -> "Output":
    """Return a suspended account to active, or convert a trial (its seats are billed from today).

    Example: seatctl account activate acme
    """
    return _status(slug, "active")


@app.command("close")
@renders
def close(slug: Slug, fmt: FormatOpt = None) -> "Output":
    """Close for good: at the period end, usage is billed and every seat released; no renewal.

    Example: seatctl account close acme
    """
    return _status(slug, "closed")


@app.command("set-plan")
@renders
def set_plan(
    slug: Slug,
    plan: Annotated[str, typer.Argument(help="Plan code.")],
    fmt: FormatOpt = None,
) -> "Output":
    """Change plan: a higher base fee applies now (prorated), a lower one at the period end.

    Example: seatctl account set-plan acme team
    """
    from seatctl.cli.render import Output
    from seatctl.ops.plans import set_plan as change

    lg = Ledger()
    result = lg.write(lambda s, a, b: change(s, slug=slug, code=plan, actor=a, now=lg.now, books=b))
    message = {"applied": f"'{slug}' is on plan '{plan}' from today"
                          + (f"; invoice {result.invoice}." if result.invoice else "."),
               "pending": f"'{slug}' moves to plan '{plan}' on {result.effective} (pending).",
               "unchanged": f"'{slug}' is already on plan '{plan}'."}[result.status]
    return Output(obj=result.__dict__, message=message)


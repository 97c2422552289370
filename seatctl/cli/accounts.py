"""account add|list|show|set|set-min."""

from typing import Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, execute

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("add")
def add(
    slug: Annotated[str, typer.Argument(help="Short id, e.g. acme.")],
    name: Annotated[str, typer.Option("--name", help="Customer name.")],
    cycle: Annotated[str | None, typer.Option("--cycle", help="monthly (default) or annual.")] = None,
    anchor: Annotated[str | None, typer.Option("--anchor", help="Billing anchor date YYYY-MM-DD (default: today).")] = None,
    mode: Annotated[str, typer.Option("--mode", help="allocation (prepaid pools) or peak.")] = "allocation",
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA time zone (default: the ledger's).")] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent account slug.")] = None,
    billed_via_parent: Annotated[bool, typer.Option("--billed-via-parent")] = False,
    trial: Annotated[bool, typer.Option("--trial", help="Start as a trial (never invoiced).")] = False,
    discount: Annotated[str | None, typer.Option("--discount", help="Percentage discount.")] = None,
    minimum: Annotated[list[str] | None, typer.Option("--min", help="CODE=N contract minimum (repeatable).")] = None,
    plan: Annotated[str | None, typer.Option("--plan", help="Plan code.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Create an account; minimums are bought at once."""

    def produce():  # type: ignore[no-untyped-def]
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

    execute(fmt, produce)


@app.command("list")
def list_(fmt: FormatOpt = None) -> None:
    """Every account, by slug."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.accounts import list_accounts

        return Output(rows=Ledger().read(lambda s, a, b: list_accounts(s)),
                      columns=["slug", "name", "mode", "cycle", "status", "parent", "period_start", "period_end"])

    execute(fmt, produce)


@app.command("show")
def show(slug: Annotated[str, typer.Argument(help="Account slug.")], fmt: FormatOpt = None) -> None:
    """One account: settings, minimums, current period and pending changes."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.accounts import show_account

        card = Ledger().read(lambda s, a, b: show_account(s, slug))
        return Output(obj=card, title=f"account {slug}")

    execute(fmt, produce)


@app.command("set")
def set_(
    slug: Annotated[str, typer.Argument(help="Account slug.")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    cycle: Annotated[str | None, typer.Option("--cycle", help="monthly or annual, from the next period.")] = None,
    anchor: Annotated[str | None, typer.Option("--anchor", help="New anchor date, from the next period.")] = None,
    discount: Annotated[str | None, typer.Option("--discount", help="Percentage; 0 removes it.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Change an account; cycle and anchor changes wait for the period end."""

    def produce():  # type: ignore[no-untyped-def]
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

    execute(fmt, produce)


@app.command("set-min")
def set_min(
    slug: Annotated[str, typer.Argument(help="Account slug.")],
    minimums: Annotated[list[str], typer.Argument(help="CODE=N pairs.")],
    fmt: FormatOpt = None,
) -> None:
    """Contract minimums: raising buys the difference now; lowering applies at the next close."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops import accounts as ledger
        from seatctl.ops.accounts import show_account

        lg = Ledger()
        mins = ledger.parse_minimums(minimums)
        lg.write(lambda s, a, b: ledger.set_minimums(s, slug=slug, minimums=mins, actor=a, now=lg.now, books=b))
        card = lg.read(lambda s, a, b: show_account(s, slug))
        return Output(obj=card, message=f"Minimums of '{slug}': {card['minimums']}"
                                        + (f"; pending: {card['pending']}" if card["pending"] else "") + ".")

    execute(fmt, produce)


def _status(slug: str, target: str, fmt) -> None:  # type: ignore[no-untyped-def]
    def produce():  # type: ignore[no-untyped-def]
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

    execute(fmt, produce)


@app.command("suspend")
def suspend(slug: Annotated[str, typer.Argument(help="Account slug.")], fmt: FormatOpt = None) -> None:
    """No new assignments; billing continues."""
    _status(slug, "suspended", fmt)


@app.command("activate")
def activate(slug: Annotated[str, typer.Argument(help="Account slug.")], fmt: FormatOpt = None) -> None:
    """Return a suspended account to active, or convert a trial (its seats are billed from today)."""
    _status(slug, "active", fmt)


@app.command("close")
def close(slug: Annotated[str, typer.Argument(help="Account slug.")], fmt: FormatOpt = None) -> None:
    """Close for good: at the period end, usage is billed and every seat released; no renewal."""
    _status(slug, "closed", fmt)


@app.command("set-plan")
def set_plan(
    slug: Annotated[str, typer.Argument(help="Account slug.")],
    plan: Annotated[str, typer.Argument(help="Plan code.")],
    fmt: FormatOpt = None,
) -> None:
    """Change plan: a higher base fee applies now (prorated), a lower one at the period end."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.plans import set_plan as change

        lg = Ledger()
        result = lg.write(lambda s, a, b: change(s, slug=slug, code=plan, actor=a, now=lg.now, books=b))
        message = {"applied": f"'{slug}' is on plan '{plan}' from today"
                              + (f"; invoice {result.invoice}." if result.invoice else "."),
                   "pending": f"'{slug}' moves to plan '{plan}' on {result.effective} (pending).",
                   "unchanged": f"'{slug}' is already on plan '{plan}'."}[result.status]
        return Output(obj=result.__dict__, message=message)

    execute(fmt, produce)

"""init, operator add|list|remove, log, demo."""

from typing import Annotated

import typer

from seatctl.cli.common import FormatOpt, Ledger, Options, execute

operator_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def init(
    currency: Annotated[str | None, typer.Option("--currency", help="ISO 4217 code (default: config, else EUR).")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA zone (default: config, else UTC).")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Create the ledger (you become its owner) or upgrade an existing one."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl import clock, config
        from seatctl.cli.render import Output
        from seatctl.ops.ledger import init_ledger
        from seatctl.ops.operators import identity
        from seatctl.store import engine as db

        cfg = config.load(Options.config)
        location = db.Location(config.database_location(Options.db, cfg))
        result = init_ledger(location, currency=currency or cfg.currency, timezone=timezone or cfg.timezone,
                             operator=identity(), busy_timeout=cfg.busy_timeout, now=clock.now())
        message = {
            "created": f"Created ledger {location.display}; '{result.get('owner')}' is its owner.",
            "upgraded": f"Upgraded ledger {location.display} to revision {result['revision']} "
                        f"(the old one is copied at {result.get('backup')}).",
        }.get(str(result["status"]), f"Ledger {location.display} is up to date.")
        return Output(obj=result, message=message)

    execute(fmt, produce)


@operator_app.command("add")
def operator_add(
    name: Annotated[str, typer.Argument(help="Login name (SEATCTL_OPERATOR or the OS user).")],
    role: Annotated[str, typer.Option("--role", help="viewer, operator, billing or owner.")],
    fmt: FormatOpt = None,
) -> None:
    """Register an operator (owner only)."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.operators import add_operator

        lg = Ledger()
        lg.write(lambda s, a, b: add_operator(s, name=name, role=role, actor=a, now=lg.now))
        return Output(obj={"name": name, "role": role}, message=f"Added operator '{name}' ({role}).")

    execute(fmt, produce)


@operator_app.command("remove")
def operator_remove(name: Annotated[str, typer.Argument(help="Login name.")], fmt: FormatOpt = None) -> None:
    """Remove an operator (owner only; never the last owner)."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.operators import remove_operator

        lg = Ledger()
        lg.write(lambda s, a, b: remove_operator(s, name=name, actor=a, now=lg.now))
        return Output(obj={"name": name, "removed": True}, message=f"Removed operator '{name}'.")

    execute(fmt, produce)


@operator_app.command("list")
def operator_list(fmt: FormatOpt = None) -> None:
    """Operators and their roles."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.ops.operators import list_operators

        return Output(rows=Ledger().read(lambda s, a, b: list_operators(s)), columns=["name", "role", "since"])

    execute(fmt, produce)


def log(
    account: Annotated[str | None, typer.Option("--account")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO date or instant.")] = None,
    operator: Annotated[str | None, typer.Option("--operator")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. buy, assign, denial, cycle.close.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """The audit trail, by time."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl import clock
        from seatctl.cli.render import Output
        from seatctl.reports.log import log_rows

        after = clock.parse_instant(since) if since else None
        rows = Ledger().read(lambda s, a, b: log_rows(s, account=account, since=after, operator=operator,
                                                      action=action))
        return Output(rows=rows, columns=["at", "operator", "account", "action", "details"])

    execute(fmt, produce)


def demo(
    path: Annotated[str | None, typer.Option("--path", help="Folder for the sample ledger (default: a temporary one).")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Build a sample ledger and walk through every job, printing each command and its output
    (in the format given, passed on to every step)."""
    from seatctl.cli.demo import run_demo

    raise typer.Exit(run_demo(path, fmt.value if fmt else None))


def doctor(fmt: FormatOpt = None) -> None:
    """Check the ledger's integrity and every invariant; exit 4 if any check fails."""

    def produce():  # type: ignore[no-untyped-def]
        from seatctl.cli.render import Output
        from seatctl.errors import Refused
        from seatctl.ops.doctor import run_checks
        from seatctl.store import engine as db

        lg = Ledger()
        with db.read(lg.engine) as session:
            lg.actor(session)
            checks = run_checks(session)
        out = Output(rows=[c.as_dict() for c in checks], columns=["check", "status", "detail"])
        failed = [c.check for c in checks if c.status != "ok"]
        if failed:
            from seatctl.cli.render import render

            render(out, fmt.value if fmt else None)
            raise Refused(f"{len(failed)} check(s) failed: {', '.join(failed)}", "See the rows above")
        return out

    execute(fmt, produce)


def backup(
    path: Annotated[str, typer.Argument(help="New file for the copy (never overwritten).")],
    fmt: FormatOpt = None,
) -> None:
    """A consistent online copy of a SQLite ledger, readable by its owner only (owner role)."""

    def produce():  # type: ignore[no-untyped-def]
        from pathlib import Path

        from seatctl.cli.render import Output
        from seatctl.store import engine as db

        lg = Ledger()
        lg.read(lambda s, a, b: a.require("owner", "back up the ledger"))
        target = db.backup(lg.engine, db.Location(lg.location), Path(path))
        return Output(obj={"backup": str(target)}, message=f"Backed up the ledger to {target}.")

    execute(fmt, produce)

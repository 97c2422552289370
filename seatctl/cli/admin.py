"""init, operator add|list|remove, log, demo, doctor, backup."""

from typing import TYPE_CHECKING, Annotated, cast

import typer

from seatctl.cli.common import FormatOpt, Group, Ledger, Options, renders

if TYPE_CHECKING:
    from seatctl.cli.render import Output

operator_app = Group()


@renders
def init(
    currency: Annotated[str | None, typer.Option("--currency", metavar="CODE",
                                                 help="ISO 4217 code of a new ledger (default: EUR).")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", metavar="TZ",
                                                 help="IANA time zone of a new ledger (default: UTC).")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """Create the ledger (you become its owner) or upgrade an existing one.

    An existing ledger is upgraded in place when this seatctl needs a newer schema (SQLite: a copy
    is kept beside it); the first upgrade copies tax_rate and invoice_prefix from the config file.

    Example: seatctl init --currency EUR --timezone Europe/Madrid
    Example: seatctl --db postgresql+psycopg://ledger.example.com/seatctl init
    """
    import sys

    from seatctl import clock, config
    from seatctl.cli.render import Output
    from seatctl.ops.ledger import init_ledger
    from seatctl.ops.operators import identity
    from seatctl.store import engine as db

    cfg = config.load(Options.config)
    location = db.Location(config.database_location(Options.db, cfg))
    result = init_ledger(location, currency=currency, timezone=timezone, legacy=cfg.legacy,
                         operator=identity(), busy_timeout=cfg.busy_timeout, now=clock.now())
    copied = cast(dict[str, str], result["copied"])
    unused = {k: v for k, v in cfg.legacy.items() if k not in copied}
    warning = config.Config(path=cfg.path, legacy=unused).legacy_warning()
    if warning:
        print(warning, file=sys.stderr)
    if result["status"] == "created":
        message = f"Created ledger {location.display}; '{result.get('owner')}' is its owner."
    elif result["status"] == "upgraded":
        kept = f" (the old one is copied at {result['backup']})" if result.get("backup") else ""
        message = (f"Upgraded ledger {location.display} from revision {result['previous_revision']} "
                   f"to {result['revision']}{kept}.")
    else:
        message = f"Ledger {location.display} is up to date."
    if copied:
        pairs = ", ".join(f"{k}={v}" for k, v in copied.items())
        message += (f" Copied from config '{cfg.path}' into the ledger: {pairs}; the file's keys are "
                    "ignored from now on (see: seatctl settings show).")
    return Output(obj=result, message=message)


@operator_app.command("add")
@renders
def operator_add(
    name: Annotated[str, typer.Argument(help="Login name (SEATCTL_OPERATOR, or the OS user).")],
    role: Annotated[str, typer.Option("--role", metavar="viewer|operator|billing|owner",
                                      help="What they may do; each role adds to the one before.")],
    fmt: FormatOpt = None,
) -> "Output":
    """Register an operator (owner only).

    Example: seatctl operator add cron --role billing
    """
    from seatctl.cli.render import Output
    from seatctl.ops.operators import add_operator

    lg = Ledger()
    lg.write(lambda s, a, b: add_operator(s, name=name, role=role, actor=a, now=lg.now))
    return Output(obj={"name": name, "role": role}, message=f"Added operator '{name}' ({role}).")


@operator_app.command("remove")
@renders
def operator_remove(name: Annotated[str, typer.Argument(help="Login name.")], fmt: FormatOpt = None) -> "Output":
    """Remove an operator (owner only; never the last owner).

    Example: seatctl operator remove olivia
    """
    from seatctl.cli.render import Output
    from seatctl.ops.operators import remove_operator

    lg = Ledger()
    lg.write(lambda s, a, b: remove_operator(s, name=name, actor=a, now=lg.now))
    return Output(obj={"name": name, "removed": True}, message=f"Removed operator '{name}'.")


@operator_app.command("list")
@renders
def operator_list(fmt: FormatOpt = None) -> "Output":
    """Operators and their roles.

    Example: seatctl operator list
    """
    from seatctl.cli.render import Output
    from seatctl.ops.operators import list_operators

    return Output(rows=Ledger().read(lambda s, a, b: list_operators(s)), columns=["name", "role", "since"])


@renders
def log(
    account: Annotated[str | None, typer.Option("--account", metavar="SLUG", help="Only this account.")] = None,
    since: Annotated[str | None, typer.Option("--since", metavar="DATE",
                                              help="From this day (YYYY-MM-DD) or ISO-8601 instant on.")] = None,
    operator: Annotated[str | None, typer.Option("--operator", metavar="NAME", help="Only this operator.")] = None,
    action: Annotated[str | None, typer.Option("--action", metavar="ACTION",
                                               help="Only this action, e.g. buy, assign, denial, cycle.close.")] = None,
    fmt: FormatOpt = None,
) -> "Output":
    """The audit trail, by time.

    Example: seatctl log --account acme --action denial
    Example: seatctl log --since 2026-11-01 --operator olivia --format json
    """
    from seatctl import clock
    from seatctl.cli.render import Output
    from seatctl.reports.log import log_rows

    after = clock.parse_instant(since) if since else None
    rows = Ledger().read(lambda s, a, b: log_rows(s, account=account, since=after, operator=operator,
                                                  action=action))
    return Output(rows=rows, columns=["at", "operator", "account", "action", "details"])


def demo(
    path: Annotated[str | None, typer.Option("--path", metavar="DIR",
                                             help="Folder for the sample ledger (default: a temporary one).")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Build a sample ledger and walk through every job, printing each command and its output
    (in the format given, passed on to every step).

    Example: seatctl demo --path ./seatctl-demo
    """
    from seatctl.cli.demo import run_demo

    raise typer.Exit(run_demo(path, fmt.value if fmt else None))


@renders
def doctor(fmt: FormatOpt = None) -> "Output":
    """Check the ledger's integrity and every invariant; exit 4 if any check fails.

    Example: seatctl doctor
    """
    from seatctl.cli.render import Output
    from seatctl.errors import Refused
    from seatctl.ops.doctor import damaged, run_checks
    from seatctl.store import engine as db

    lg = Ledger()
    try:
        engine = lg.engine
        with db.read(engine) as session:
            lg.actor(session)
            checks = run_checks(session)
    except Refused as err:  # too damaged to read even who asks: the failing integrity row, and exit 4
        if err.what != db.DAMAGED:
            raise
        from sqlalchemy.exc import DBAPIError

        cause = err.__cause__
        checks = damaged(str(cause.orig if isinstance(cause, DBAPIError) else cause or err.what))
    out = Output(rows=[c.as_dict() for c in checks], columns=["check", "status", "detail"])
    failed = [c.check for c in checks if c.status != "ok"]
    if failed:
        from seatctl.cli.render import render

        render(out, fmt.value if fmt else None)
        raise Refused(f"{len(failed)} check(s) failed: {', '.join(failed)}", "See the rows above")
    return out


@renders
def backup(
    path: Annotated[str, typer.Argument(help="New file for the copy (never overwritten).")],
    fmt: FormatOpt = None,
) -> "Output":
    """A consistent online copy of a SQLite ledger, readable by its owner only (owner role).

    Example: seatctl backup /srv/backups/seatctl-2026-11-01.db
    """
    from pathlib import Path

    from seatctl.cli.render import Output
    from seatctl.store import engine as db

    lg = Ledger()
    lg.read(lambda s, a, b: a.require("owner", "back up the ledger"))
    target = db.backup(lg.engine, db.Location(lg.location), Path(path))
    return Output(obj={"backup": str(target)}, message=f"Backed up the ledger to {target}.")


"""The root command: global options, command groups, and the process's exit status."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from seatctl.cli import accounts, admin, billing, licences, plans, reports, seats, users
from seatctl.cli.common import Options, one_line

app = typer.Typer(
    name="seatctl",
    help="A ledger of per-seat licences: buy, assign, close billing cycles, report.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    db: Annotated[str | None, typer.Option("--db", envvar="SEATCTL_DB", metavar="URL_OR_PATH",
                                           help="Ledger: a SQLite path or a database URL.")] = None,
    config: Annotated[str | None, typer.Option("--config", envvar="SEATCTL_CONFIG", metavar="FILE",
                                               help="Config file (TOML).")] = None,
) -> None:
    Options.db = db
    Options.config = config


seats.register(app)
admin.register(app)
app.add_typer(licences.app, name="licence", help="The catalogue of licence types and prices.")
app.add_typer(accounts.app, name="account", help="Customer accounts.")
app.add_typer(users.app, name="user", help="Users of an account.")
billing.register(app)
plans.register(app)
app.add_typer(reports.app, name="report", help="Support tables: usage, users, roles, revenue, denials.")


def run(argv: list[str] | None = None) -> None:
    """Entry point: usage errors become one `error:` line with exit 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv if argv is not None else sys.argv[1:], prog_name="seatctl",
                            standalone_mode=False)
    except typer.TyperException as err:  # Typer's usage errors (bad option, missing argument)
        ctx = getattr(err, "ctx", None)
        where = f" See: {ctx.command_path} --help" if ctx is not None else ""
        print(f"error: {one_line(err.format_message()).rstrip('.')}.{where}", file=sys.stderr)
        code = err.exit_code
    except typer.Exit as err:
        code = err.exit_code
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code if isinstance(code, int) else 0)

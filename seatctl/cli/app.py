"""The root command: global options, the command registry, and the process's exit status.

Commands are built lazily. Typer turns each function's annotations into Click parameters, which
costs about 0.3 ms a command; building all sixty for every run cost more than `import typer`
itself. `COMMANDS` names each top-level command or group, where it lives and its one-line summary,
so `seatctl --help` lists them without importing any, and `seatctl status` builds only `status`.
(pip's `commands_dict` works the same way; tests/test_cli_registry.py keeps the table honest.)
"""

import sys
from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from seatctl.cli.common import Options, one_line

# name: (module, attribute, summary). The attribute is a command function or a Typer group;
# the order is the order of `seatctl --help`.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "status": ("seatctl.cli.seats", "status", "Seats per licence type: in_use, free, total, minimum, buying."),
    "buy": ("seatctl.cli.seats", "buy", "Buy seats: a quote, then a prorated charge at once."),
    "assign": ("seatctl.cli.seats", "assign", "Give seats to a user, or to every user in a CSV file."),
    "release": ("seatctl.cli.seats", "release", "Take seats back from a user; they stay owned and free."),
    "init": ("seatctl.cli.admin", "init", "Create the ledger, or upgrade an existing one."),
    "log": ("seatctl.cli.admin", "log", "The audit trail, by time."),
    "demo": ("seatctl.cli.admin", "demo", "Build a sample ledger and walk through every job."),
    "doctor": ("seatctl.cli.admin", "doctor", "Check the ledger's integrity; exit 4 if a check fails."),
    "backup": ("seatctl.cli.admin", "backup", "A consistent online copy of a SQLite ledger."),
    "operator": ("seatctl.cli.admin", "operator_app", "Who may do what (viewer < operator < billing < owner)."),
    "licence": ("seatctl.cli.licences", "app", "The catalogue of licence types and prices."),
    "account": ("seatctl.cli.accounts", "app", "Customer accounts."),
    "user": ("seatctl.cli.users", "app", "Users of an account."),
    "cycle": ("seatctl.cli.billing", "cycle_app", "Billing periods and the nightly close."),
    "invoice": ("seatctl.cli.billing", "invoice_app", "Invoices and credit notes."),
    "order": ("seatctl.cli.billing", "order_app", "Pending purchase requests."),
    "plan": ("seatctl.cli.plans", "plan_app", "Plans: a base fee, included seats, allowances."),
    "meter": ("seatctl.cli.plans", "meter_app", "Metered services (SMS, calls…) billed per use."),
    "usage": ("seatctl.cli.plans", "usage_app", "Record metered usage."),
    "report": ("seatctl.cli.reports", "app", "Support tables: usage, users, roles, revenue, denials."),
}


def build(name: str) -> typer.core.TyperCommand | TyperGroup:
    """The Click command for one registry entry, built from its module."""
    module, attribute, summary = COMMANDS[name]
    target = getattr(import_module(module), attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name, group.help, group.short_help = name, summary, summary
        return group
    single = typer.Typer(add_completion=False, rich_markup_mode=None)
    single.command(name, short_help=summary)(target)
    command = typer.main.get_command(single)
    assert isinstance(command, typer.core.TyperCommand)
    return command


class _Registry(Mapping[str, Any]):
    """`COMMANDS` as Click's `commands` mapping: names without cost, a command built on first use."""

    def __init__(self) -> None:
        self.built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.built:
            if name not in COMMANDS:
                raise KeyError(name)
            self.built[name] = build(name)
        return self.built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class Root(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Registry()  # type: ignore[assignment]

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, _, summary) in COMMANDS.items()])


app = typer.Typer(
    name="seatctl",
    cls=Root,
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


def run(argv: list[str] | None = None) -> None:
    """Entry point: usage errors become one `error:` line with exit 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv if argv is not None else sys.argv[1:], prog_name="seatctl",
                            standalone_mode=False)
    except typer.TyperException as err:  # Typer's usage errors (bad option, missing argument)
        ctx = getattr(err, "ctx", None)
        where = f" See: {ctx.command_path} --help" if ctx is not None else ""
        message = one_line(err.format_message()).rstrip(".")
        print(f"error: {message}{'' if message.endswith('?') else '.'}{where}", file=sys.stderr)
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

"""The root command: global options, the command registry, and the process's exit status.

Commands are built lazily. Typer turns each function's annotations into Click parameters, which
costs about 0.3 ms a command; building all sixty for every run cost more than `import typer`
itself. `COMMANDS` names each top-level command or group, its section of the root help, where it
lives and its one-line summary, so `seatctl --help` lists them without importing any, and
`seatctl status` builds only `status`. A new command is one line here.
(pip's `commands_dict` works the same way; tests/test_cli_registry.py keeps the table honest.)
"""

import os
import sys
from collections.abc import Iterator, MutableMapping
from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from seatctl.cli.common import HelpCommand, Options, one_line, write_examples

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter


class Entry(NamedTuple):
    section: str  # a key of SECTIONS
    module: str
    attribute: str  # a command function or a Typer group
    summary: str


# The root help lists the commands by section, in this order, each in the order of COMMANDS.
SECTIONS = {"seats": "Seats", "accounts": "Accounts", "billing": "Billing", "reports": "Reports", "admin": "Admin"}

COMMANDS: dict[str, Entry] = {
    "status": Entry("seats", "seatctl.cli.seats", "status", "Seats per licence type: in_use, free, total, minimum, buying."),
    "buy": Entry("seats", "seatctl.cli.seats", "buy", "Buy seats: a quote, then a prorated charge at once."),
    "assign": Entry("seats", "seatctl.cli.seats", "assign", "Give seats to a user, or to every user in a CSV file."),
    "release": Entry("seats", "seatctl.cli.seats", "release", "Take seats back from a user; they stay owned and free."),
    "sync": Entry("seats", "seatctl.cli.sync", "sync", "Make an account's users and seats match a directory export."),
    "waitlist": Entry("seats", "seatctl.cli.sync", "waitlist_app", "Assignments waiting for a free seat: list, cancel."),
    "order": Entry("seats", "seatctl.cli.billing", "order_app", "Pending purchase requests."),
    "account": Entry("accounts", "seatctl.cli.accounts", "app", "Customer accounts."),
    "user": Entry("accounts", "seatctl.cli.users", "app", "Users of an account."),
    "cycle": Entry("billing", "seatctl.cli.billing", "cycle_app", "Billing periods and the nightly close."),
    "invoice": Entry("billing", "seatctl.cli.billing", "invoice_app", "Invoices and credit notes."),
    "licence": Entry("billing", "seatctl.cli.licences", "app", "The catalogue of licence types and prices."),
    "plan": Entry("billing", "seatctl.cli.plans", "plan_app", "Plans: a base fee, included seats, allowances."),
    "meter": Entry("billing", "seatctl.cli.plans", "meter_app", "Metered services (SMS, calls…) billed per use."),
    "usage": Entry("billing", "seatctl.cli.plans", "usage_app", "Record metered usage."),
    "report": Entry("reports", "seatctl.cli.reports", "app",
                     "Support tables: usage, consumption, users, roles, revenue, denials."),
    "log": Entry("reports", "seatctl.cli.admin", "log", "The audit trail, by time."),
    "init": Entry("admin", "seatctl.cli.admin", "init", "Create the ledger, or upgrade an existing one."),
    "operator": Entry("admin", "seatctl.cli.admin", "operator_app", "Who may do what (viewer < operator < billing < owner)."),
    "settings": Entry("admin", "seatctl.cli.settings", "app",
                      "Ledger settings: currency, time zone, tax rate, invoice prefix."),
    "doctor": Entry("admin", "seatctl.cli.admin", "doctor", "Check the ledger's integrity; exit 4 if a check fails."),
    "backup": Entry("admin", "seatctl.cli.admin", "backup", "A consistent online copy of a SQLite ledger."),
    "demo": Entry("admin", "seatctl.cli.admin", "demo", "Build a sample ledger and walk through every job."),
    "batch": Entry("admin", "seatctl.cli.many", "batch", "Run the commands of a file (or -) in one process."),
    "shell": Entry("admin", "seatctl.cli.shell", "shell", "An interactive session on one ledger, with Tab completion."),
}

ROOT_EXAMPLES = ["Example: seatctl status acme", "Example: seatctl --db ledger.db report usage --this-month --by week"]


def build(name: str) -> TyperCommand | TyperGroup:
    """The Click command for one registry entry, built from its module."""
    from seatctl.cli.complete import attach

    entry = COMMANDS[name]
    target = getattr(import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name, group.help, group.short_help = name, entry.summary, entry.summary
        attach(group, (name,))
        return group
    single = typer.Typer(add_completion=False, rich_markup_mode=None)
    single.command(name, short_help=entry.summary, cls=HelpCommand)(target)
    command = typer.main.get_command(single)
    assert isinstance(command, TyperCommand)
    attach(command, (name,))
    return command


class _Registry(MutableMapping[str, "Command"]):
    """`COMMANDS` as Click's `commands` mapping: names without cost, a command built on first use."""

    def __init__(self) -> None:
        self.built: dict[str, Command] = {}  # Click's Command: imported for mypy only

    def __getitem__(self, name: str) -> "Command":
        if name not in self.built:
            if name not in COMMANDS:
                raise KeyError(name)
            self.built[name] = build(name)
        return self.built[name]

    def __setitem__(self, name: str, command: "Command") -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        del self.built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class Root(TyperGroup):
    """`seatctl`: its help lists the registry by section without building a command."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Registry()

    def list_commands(self, ctx: "Context") -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: "Context", formatter: "HelpFormatter") -> None:
        width = max(map(len, COMMANDS))  # one column for every section
        for section, title in SECTIONS.items():
            with formatter.section(title):
                formatter.write_dl([(name.ljust(width), entry.summary) for name, entry in COMMANDS.items()
                                    if entry.section == section])

    def format_epilog(self, ctx: "Context", formatter: "HelpFormatter") -> None:
        super().format_epilog(ctx, formatter)
        write_examples(formatter, ROOT_EXAMPLES)

    def _main_shell_completion(self, ctx_args: MutableMapping[str, Any], prog_name: str,
                               complete_var: str | None = None) -> None:
        """A completion request (`_SEATCTL_COMPLETE=complete_bash` …, the Click/Typer protocol the scripts
        of --show-completion use): answered with our shells' formats (plain help text, never Rich)."""
        if os.environ.get(complete_var or "_SEATCTL_COMPLETE"):
            from seatctl.cli.complete import register_shells

            register_shells()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)


app = typer.Typer(
    name="seatctl",
    cls=Root,
    help="A ledger of per-seat licences: buy, assign, close billing cycles, report.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish): see cli/complete.py
    rich_markup_mode=None,
    epilog="Run 'seatctl COMMAND --help' for a command's arguments, options and examples.",
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


_root: "Command | None" = None


def root_command() -> "Command":
    """The root Click command, built once per process (`batch` and `shell` run every line on it)."""
    global _root
    if _root is None:
        _root = typer.main.get_command(app)
    return _root


def invoke(argv: list[str]) -> int:
    """Run one command line in this process and return its exit code: usage errors become one `error:`
    line with exit 2. `run` exits with it; `batch` and `shell` run each line through it."""
    command = root_command()
    try:
        code = command.main(args=argv, prog_name="seatctl", standalone_mode=False)
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
    except SystemExit as err:  # --show-completion, --install-completion, a completion request
        code = err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
    return code if isinstance(code, int) else 0


def run(argv: list[str] | None = None) -> None:
    """Entry point: one command, then exit with its code."""
    sys.exit(invoke(argv if argv is not None else sys.argv[1:]))

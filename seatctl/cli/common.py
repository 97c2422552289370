"""What every command shares: the --format option, the ledger session, the error boundary (`execute`,
`renders`), and help that reads like a manual page (`Group`, `HelpCommand`)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar, cast

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Engine
    from sqlmodel import Session
    from typer._click import Context, HelpFormatter  # the Click that Typer bundles (typer.Context derives from it)

    from seatctl.cli.render import Output
    from seatctl.config import Config
    from seatctl.errors import SeatctlError
    from seatctl.rules.books import Books
    from seatctl.rules.roles import Actor

T = TypeVar("T")
P = ParamSpec("P")


class Fmt(StrEnum):
    table = "table"
    plain = "plain"
    markdown = "markdown"
    github = "github"
    csv = "csv"
    json = "json"


class Options:
    """Global options, set by the root callback."""

    db: str | None = None
    config: str | None = None
    # Set by `batch --format F` for its lines: the format of a line that names none (before the config's).
    format_default: str | None = None


def _default_format(value: Fmt | None) -> Fmt | None:
    """Without --format, the config file's `format` (then table on a terminal, plain when piped).
    A config that cannot be read is reported by the command itself, with its exit code."""
    if value is not None:
        return value
    if Options.format_default:
        return Fmt(Options.format_default)
    from seatctl import config
    from seatctl.errors import SeatctlError

    try:
        default = config.load(Options.config).format
    except SeatctlError:
        return None
    return Fmt(default) if default else None


FormatOpt = Annotated[
    Fmt | None,
    typer.Option("--format", "-f", metavar="|".join(Fmt), case_sensitive=False, show_default=False,
                 help="Output format (default: the config's format, else table on a terminal, plain when piped).",
                 callback=_default_format),
]


class Ledger:
    """The ledger a command works on: config, location, engine, clock, actor, books."""

    opened: list[Engine] = []  # disposed when the command ends (tests run many commands in one process)
    # `batch` and `shell` keep their engines from one line to the next (the start-up they save), by
    # (location, busy_timeout); None outside them. `settle` after each line drops them when it failed.
    kept: dict[tuple[str, float], Engine] | None = None

    @classmethod
    def close_all(cls) -> None:
        while cls.opened:
            cls.opened.pop().dispose()

    @classmethod
    def keep_engines(cls) -> None:
        cls.kept = {}

    @classmethod
    def settle(cls, failed: bool) -> None:
        """After a line of `batch` or `shell`: every connection must be back in its pool (its transaction
        ended: the pool rolls back whatever a failed command left). After a failed line, or if a
        connection is still out, the engines are disposed: the next line opens them afresh."""
        kept = cls.kept if cls.kept is not None else {}
        for key, engine in list(kept.items()):
            if failed or getattr(engine.pool, "checkedout", lambda: 0)():
                engine.dispose()
                del kept[key]

    @classmethod
    def release_engines(cls) -> None:
        for engine in (cls.kept or {}).values():
            engine.dispose()
        cls.kept = None

    def __init__(self) -> None:
        from seatctl import clock, config

        self.config: Config = config.load(Options.config)
        self.location = config.database_location(Options.db, self.config)
        self.now = clock.now()
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from seatctl.store import engine as db

            location, key = db.Location(self.location), (self.location, self.config.busy_timeout)
            kept = Ledger.kept.get(key) if Ledger.kept is not None else None
            if kept is not None:
                try:
                    db.check_ledger(kept, location)  # the checks a new engine gets
                except BaseException:
                    kept.dispose()
                    if Ledger.kept is not None:
                        Ledger.kept.pop(key, None)
                    raise
                self._engine = kept
            else:
                self._engine = db.open_ledger(location, busy_timeout=self.config.busy_timeout)
                if Ledger.kept is not None:
                    Ledger.kept[key] = self._engine
                else:
                    Ledger.opened.append(self._engine)
            # Once the ledger is known to be current: before its upgrade, `init` still reads these keys.
            warning = self.config.legacy_warning()
            if warning:
                print(warning, file=sys.stderr)
        return self._engine

    def books(self, session: Session) -> Books:
        from seatctl.ops.context import load_books

        return load_books(session)

    def actor(self, session: Session) -> Actor:
        from seatctl.ops.context import load_actor
        from seatctl.ops.operators import identity

        return load_actor(session, identity(session))

    def read(self, fn: Callable[[Session, Actor, Books], T]) -> T:
        from seatctl.store import engine as db

        with db.read(self.engine) as session:
            return fn(session, self.actor(session), self.books(session))

    def stream(self, rows: Callable[[Session], Iterator[T]]) -> Iterator[T]:
        """Like `read`, for rows consumed while they are printed: the read transaction stays open
        until they are all read (or the iterator is closed). The operator check and `rows(session)`
        run now, so their errors come before anything is printed."""

        def read() -> Iterator[T | None]:
            from seatctl.store import engine as db

            with db.read(self.engine) as session:
                self.actor(session)
                them = rows(session)
                yield None  # ready
                yield from them

        it = read()
        next(it)
        return cast(Iterator[T], it)

    def preview(self, fn: Callable[[Session, Actor, Books], T]) -> T:
        """Run `fn` as a write would (ended periods closed first), then roll everything back."""
        from seatctl.store import engine as db

        with db.write(self.engine) as session:
            try:
                return fn(session, self.actor(session), self.books(session))
            finally:
                session.rollback()

    def write(self, fn: Callable[[Session, Actor, Books], T]) -> T:
        """One write transaction (`ops.write.transaction`: the lock first; a refused assignment's denials
        are kept)."""
        from seatctl.ops.write import transaction

        def work(session: Session, at: datetime) -> T:
            self.now = at  # time never runs backwards: within the clock skew, the ledger's latest instant
            return fn(session, self.actor(session), self.books(session))

        return transaction(self.engine, work, now=self.now)


@contextlib.contextmanager
def steps(description: str, total: int) -> Iterator[Callable[[str], None]]:
    """A Rich progress bar of `total` steps on a terminal (drawn on stderr, gone when done); nothing at
    all when stderr is piped. Yields `step(next_description)`, called as each step ends."""
    if not sys.stderr.isatty():
        yield lambda _next: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def step(following: str) -> None:
            bar.update(task, advance=1, description=following)
            bar.refresh()

        yield step


def one_line(text: str) -> str:
    """Error text quotes what people typed; show control characters escaped, never raw."""
    import unicodedata

    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) == "Cc" else ch
                   for ch in text)


def execute(fmt: Fmt | None, produce: Callable[[], Output]) -> None:
    """The error boundary: run, render once; errors become one `error: …` line and an exit code."""
    from seatctl.errors import ExitCode, SeatctlError

    try:
        out = produce()
        from seatctl.cli.render import render

        render(out, fmt.value if fmt else None)
    except SeatctlError as err:
        _fail(err)
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        raise typer.Exit(0) from None
    except Exception as exc:  # the last line of defence: never a traceback for users
        translated = _fault(exc)
        if translated is not None:
            _fail(translated)
        if os.environ.get("SEATCTL_DEBUG"):
            raise
        print(f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}. Run again with SEATCTL_DEBUG=1 and "
              "report it", file=sys.stderr)
        raise typer.Exit(int(ExitCode.INTERNAL)) from None
    finally:
        Ledger.close_all()


def _fail(err: SeatctlError) -> NoReturn:
    if os.environ.get("SEATCTL_DEBUG"):
        traceback.print_exc()
    print(f"error: {one_line(str(err))}", file=sys.stderr)
    raise typer.Exit(int(err.exit_code)) from None


def _fault(exc: Exception) -> SeatctlError | None:
    """A database or file fault met outside the read and write transactions (the cron close's own
    connection, doctor, backup), translated where every fault is: `store.engine.fault`."""
    if "seatctl.store.engine" not in sys.modules:  # no ledger was opened: it cannot be a ledger fault
        return None
    from seatctl.store.engine import fault

    return fault(exc)


def renders(fn: Callable[P, Output]) -> Callable[P, None]:
    """A command whose function returns what it prints: run it inside `execute` (the error boundary) and
    render its `Output` in the format of its `fmt` parameter. Typer sees the function's own parameters
    and docstring; the body stays a plain function that mypy checks like any other."""
    # Typer evaluates every annotation of a command at build time; `Output` is imported for mypy only
    # (render.py loads when a command runs, not when it is built), so the return annotation goes.
    fn.__annotations__.pop("return", None)
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def command(*args: P.args, **kwargs: P.kwargs) -> None:
        fmt = signature.bind_partial(*args, **kwargs).arguments.get("fmt")
        execute(fmt, lambda: fn(*args, **kwargs))

    return command


# Help. Typer prints type names (`{account} [email] [licences]...`, `account <str>`, `--from <str>`);
# these classes print what manual pages print (`ACCOUNT [EMAIL] [LICENCE]...`, `--from DATE`) and the
# docstring's `Example:` lines, verbatim, after the options. Help is always plain text (never Rich):
# it must stay cheap, and readable when piped.

EXAMPLE = "Example:"


def _split_examples(text: str | None) -> tuple[str | None, list[str]]:
    """A docstring without its `Example:` lines, and those lines."""
    if not text:
        return text, []
    lines = inspect.cleandoc(text).splitlines()
    examples = [line.strip() for line in lines if line.strip().startswith(EXAMPLE)]
    rest = "\n".join(line for line in lines if not line.strip().startswith(EXAMPLE)).strip()
    return rest, examples


def write_examples(formatter: HelpFormatter, examples: list[str]) -> None:
    if examples:
        formatter.write_paragraph()
        for line in examples:  # not wrapped: an example is copied, not read
            formatter.write(f"{'':>{formatter.current_indent + 2}}{line}\n")


class HelpCommand(TyperCommand):
    """A command whose help shows metavars, not type names, and ends with its examples."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"], self.examples = _split_examples(kwargs.get("help"))
        kwargs["rich_markup_mode"] = None
        super().__init__(*args, **kwargs)
        for param in self.params:  # without a metavar, a parameter shows its name: ACCOUNT, --request-id REQUEST_ID
            if param.metavar is None and isinstance(param, TyperArgument):
                param.metavar = str(param.name).upper()
            elif param.metavar is None and isinstance(param, TyperOption) and not param.is_flag:
                param.metavar = max(param.opts, key=len).lstrip("-").replace("-", "_").upper()

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = str(param.metavar) if param.required else f"[{param.metavar}]"
                pieces.append(f"{name}..." if param.nargs != 1 else name)
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                arguments.append((f"{param.metavar}..." if param.nargs != 1 else str(param.metavar), param.help or ""))
            else:
                record = param.get_help_record(ctx)
                if record is not None:
                    options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        write_examples(formatter, self.examples)
        super().format_epilog(ctx, formatter)


class HelpGroup(TyperGroup):
    """A group (`seatctl account`) whose help ends with the first example of each of its commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["rich_markup_mode"] = None
        super().__init__(*args, **kwargs)

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        write_examples(formatter, [command.examples[0] for command in self.commands.values()
                                    if isinstance(command, HelpCommand) and command.examples])
        super().format_epilog(ctx, formatter)


class Group(typer.Typer):
    """The Typer of a command group: `app = Group()`, then `@app.command("add")` as usual."""

    def __init__(self) -> None:
        super().__init__(no_args_is_help=True, rich_markup_mode=None, cls=HelpGroup)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None,
                **kwargs: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or HelpCommand, **kwargs)

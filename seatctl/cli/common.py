"""What every command shares: the --format option, the ledger session, the error boundary."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar, cast

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from seatctl.cli.render import Output
    from seatctl.config import Config
    from seatctl.rules.books import Books
    from seatctl.rules.roles import Actor

T = TypeVar("T")


class Fmt(StrEnum):
    table = "table"
    plain = "plain"
    markdown = "markdown"
    github = "github"
    csv = "csv"
    json = "json"


FormatOpt = Annotated[
    Fmt | None,
    typer.Option("--format", "-f", help="table (on a terminal), plain (when piped), markdown, github, csv, json.",
                 case_sensitive=False, show_default=False),
]


class Options:
    """Global options, set by the root callback."""

    db: str | None = None
    config: str | None = None


class Ledger:
    """The ledger a command works on: config, location, engine, clock, actor, books."""

    opened: list[Engine] = []  # disposed when the command ends (tests run many commands in one process)

    @classmethod
    def close_all(cls) -> None:
        while cls.opened:
            cls.opened.pop().dispose()

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

            self._engine = db.open_ledger(db.Location(self.location), busy_timeout=self.config.busy_timeout)
            Ledger.opened.append(self._engine)
        return self._engine

    def books(self, session: Session) -> Books:
        from seatctl.ops.context import load_books

        return load_books(session, tax_rate=self.config.tax_rate, invoice_prefix=self.config.invoice_prefix)

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
        """One transaction that takes the write lock first; denials survive the rollback."""
        from seatctl.ops.seats import NoFreeSeat, record_denials
        from seatctl.store import engine as db

        try:
            with db.write(self.engine) as session:
                return fn(session, self.actor(session), self.books(session))
        except NoFreeSeat as err:
            with db.write(self.engine) as session:
                record_denials(session, err, actor=self.actor(session), now=self.now)
            raise


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
        if os.environ.get("SEATCTL_DEBUG"):
            traceback.print_exc()
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        raise typer.Exit(int(err.exit_code)) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        raise typer.Exit(0) from None
    except Exception as exc:  # the last line of defence: never a traceback for users
        if os.environ.get("SEATCTL_DEBUG"):
            raise
        print(f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}. Run again with SEATCTL_DEBUG=1 and "
              "report it", file=sys.stderr)
        raise typer.Exit(int(ExitCode.INTERNAL)) from None
    finally:
        Ledger.close_all()

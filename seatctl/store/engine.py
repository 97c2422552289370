"""The engine factory and the two kinds of transaction (read; write takes the lock first)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlmodel import Session

from seatctl.errors import Busy, NotFound, PermissionDenied, Refused, SeatctlError

# The Alembic head this code expects; a test checks it against migrations/versions.
SCHEMA_REVISION = "0002"


@dataclass(frozen=True)
class Location:
    """Where the ledger is: a SQLite file path or a database URL."""

    raw: str

    @property
    def is_sqlite(self) -> bool:
        return "://" not in self.raw or self.raw.startswith("sqlite")

    @property
    def path(self) -> Path:
        if self.raw.startswith("sqlite"):
            return Path(self.raw.split(":///", 1)[1])
        return Path(self.raw)

    @property
    def display(self) -> str:
        """The location without a password."""
        if self.is_sqlite:
            return self.raw
        from sqlalchemy.engine import make_url

        return make_url(self.raw).render_as_string(hide_password=True)

    def exists(self) -> bool:
        return self.path.is_file() if self.is_sqlite else True

    def url(self, create: bool = False) -> str:
        if not self.is_sqlite:
            return self.raw
        mode = "rwc" if create else "rw"  # rw never creates a missing file
        return f"sqlite:///file:{self.path.resolve()}?mode={mode}&uri=true"


def make_engine(location: Location, *, busy_timeout: float = 10.0, create: bool = False) -> Engine:
    if not location.is_sqlite:
        engine = create_engine(location.raw)
        _install_crash_hook(engine)
        return engine
    engine = create_engine(
        location.url(create),
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # the driver must not BEGIN on its own
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA trusted_schema = OFF")
        cur.execute("PRAGMA synchronous = FULL")
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cur.execute("PRAGMA journal_mode = WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("seatctl_write", False)
        # On the DB-API cursor: once per transaction, SQLAlchemy's execution layer would cost more
        # than the BEGIN itself (the cron close runs thousands of short transactions).
        execute_raw(conn, "BEGIN IMMEDIATE" if write else "BEGIN")

    _install_crash_hook(engine)
    return engine


def _install_crash_hook(engine: Engine) -> None:
    """For crash tests only: `SEATCTL_TEST_CRASH_AFTER=N` kills the process (SIGKILL) just before
    its N-th SQL statement, wherever that falls inside a transaction."""
    limit = int(os.environ.get("SEATCTL_TEST_CRASH_AFTER", "0") or 0)
    if limit <= 0:
        return
    import signal

    seen = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        seen[0] += 1
        if seen[0] >= limit:
            os.kill(os.getpid(), signal.SIGKILL)


def execute_raw(conn: Connection, statement: str) -> None:
    """Run a statement without parameters on the connection's DB-API cursor, as SQLAlchemy would:
    the engine's statement hooks see it, a DB-API error becomes SQLAlchemy's."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    before_raw_statement(conn, cursor, statement, (), False)
    error = conn.dialect.loaded_dbapi.Error
    try:
        cursor.execute(statement)
    except error as err:
        raise exc.DBAPIError.instance(statement, (), err, error) from err
    finally:
        cursor.close()


def before_raw_statement(conn: Connection, cursor: object, statement: str, parameters: object,
                         executemany: bool) -> None:
    """For statements a module runs on the DB-API cursor itself (below SQLAlchemy's execution layer,
    for speed): the engine's `before_cursor_execute` listeners see them as they see every other
    statement, so the crash hook above (and anything else listening) counts them too."""
    listeners = conn.dispatch.before_cursor_execute
    if listeners:
        for fn in listeners:
            fn(conn, cursor, statement, parameters, None, executemany)


def _translate(err: exc.OperationalError) -> SeatctlError:
    message = str(err.orig)
    if "locked" in message or "busy" in message:
        return Busy("the ledger is busy (another seatctl is writing)", "Try again in a moment")
    if "no such table" in message:
        return Busy("the ledger has no schema", "Run: seatctl init")
    return Busy(f"the ledger cannot be used: {message}", "Check the file and its permissions")


@contextmanager
def write(engine: Engine) -> Iterator[Session]:
    """One write transaction: the write lock first, then checks, writes and the event."""
    try:
        with Session(engine.execution_options(seatctl_write=True), expire_on_commit=False) as session:
            session.connection()  # BEGIN IMMEDIATE now, before anything is read
            yield session
            session.commit()
    except exc.OperationalError as err:
        raise _translate(err) from err
    except exc.ProgrammingError as err:
        raise _refused_by_database(err) from err


@contextmanager
def read(engine: Engine) -> Iterator[Session]:
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    except exc.OperationalError as err:
        raise _translate(err) from err
    except exc.ProgrammingError as err:
        raise _refused_by_database(err) from err


def _refused_by_database(err: exc.ProgrammingError) -> Exception:
    """PostgreSQL's grants are the boundary there: a statement the role may not run is exit 5."""
    if getattr(err.orig, "sqlstate", None) == "42501":  # insufficient_privilege
        first = str(err.orig).strip().splitlines()[0]
        return PermissionDenied(f"the database refused: {first}",
                                "An owner can give this role what it needs: seatctl operator add NAME --role R")
    return err


def stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except exc.OperationalError as err:
        if "no such table" in str(err.orig):
            return None
        raise _translate(err) from err
    except exc.ProgrammingError:  # PostgreSQL: no such table, or not visible to this role
        _check_visible(engine)
        return None
    return row[0] if row else None


def _check_visible(engine: Engine) -> None:
    """A ledger on the search path that this database role may not read is a permission problem,
    not a missing ledger (PostgreSQL hides schemas a role has no USAGE on)."""
    with engine.connect() as conn:
        hidden = conn.execute(text(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'alembic_version' AND n.nspname = ANY(string_to_array("
            "replace(current_setting('search_path'), ' ', ''), ',')) "
            "AND NOT (has_schema_privilege(n.nspname, 'USAGE') "
            "AND has_table_privilege(c.oid, 'SELECT'))")).first()
        user = conn.execute(text("SELECT current_user")).scalar()
    if hidden:
        raise PermissionDenied(f"database role '{user}' may not read this ledger",
                               f"An owner can add it: seatctl operator add {user} --role viewer")


def open_ledger(location: Location, *, busy_timeout: float = 10.0) -> Engine:
    """The engine of an existing, up-to-date ledger; never creates one."""
    if not location.exists():
        raise NotFound(f"no ledger at '{location.display}'", "Create it: seatctl init")
    engine = make_engine(location, busy_timeout=busy_timeout)
    try:
        check_ledger(engine, location)
    except BaseException:
        engine.dispose()
        raise
    return engine


def check_ledger(engine: Engine, location: Location) -> None:
    """The checks every command makes before it uses a ledger: it exists and its schema is the one
    this code expects. `open_ledger` makes them on a new engine; `batch` and `shell` again before each
    line on the engine they keep."""
    if not location.exists():
        raise NotFound(f"no ledger at '{location.display}'", "Create it: seatctl init")
    try:
        revision = stored_revision(engine)
    except exc.OperationalError as err:  # PostgreSQL: server down, database missing, role refused
        raise Busy(f"cannot connect to the ledger: {str(err.orig).strip().splitlines()[0]}",
                   "Check the URL and that the server is running") from None
    if revision is None and not location.is_sqlite:
        raise NotFound(f"no ledger at '{location.display}'", "Create it: seatctl init")
    if revision != SCHEMA_REVISION:
        raise Busy(
            f"the ledger's schema is at revision {revision or 'none'}, this seatctl needs {SCHEMA_REVISION}",
            "Upgrade it: seatctl init",
        )


def create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def backup(engine: Engine, location: Location, target: Path) -> Path:
    """An online, consistent copy (SQLite's backup API), readable by its owner only."""
    if not location.is_sqlite:
        raise Refused("backup copies SQLite ledgers only",
                           "For PostgreSQL use pg_dump, e.g. pg_dump -Fc -f seatctl.dump DBNAME")
    if target.exists():
        raise Refused(f"'{target}' already exists", "Choose a new file name")
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(target, 0o600)
    try:
        raw = engine.raw_connection()
        try:
            dest = sqlite3.connect(target)
            try:
                raw.driver_connection.backup(dest)  # type: ignore[union-attr]
            finally:
                dest.close()
        finally:
            raw.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target

"""The engine factory and the two kinds of transaction (read; write takes the lock first)."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlmodel import Session

from seatctl.errors import Busy, NotFound, PermissionDenied, Refused, SeatctlError, UsageError
from seatctl.store import closelock

# The Alembic head this code expects; a test checks it against migrations/versions.
SCHEMA_REVISION = "0003"


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
        # psycopg logs what it ignores while failing (a pipeline ended by a lost connection) through
        # Python's last-resort handler, on stderr beside the one `error:` line; the error itself is raised.
        logging.getLogger("psycopg").addHandler(logging.NullHandler())
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

    ledger = location.path.resolve()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("seatctl_write", False)
        # On the DB-API cursor: once per transaction, SQLAlchemy's execution layer would cost more
        # than the BEGIN itself (the cron close runs thousands of short transactions).
        if write:
            with closelock.turn(ledger):  # a writer and a running close take turns (store/closelock.py)
                execute_raw(conn, "BEGIN IMMEDIATE")
        else:
            execute_raw(conn, "BEGIN")

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


DAMAGED = "the ledger file is damaged"
DAMAGED_HINT = "Restore a backup; see: seatctl doctor"

# SQLite's primary result codes (https://sqlite.org/rescode.html) of the faults told apart below.
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 3, 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26


def fault(err: BaseException) -> SeatctlError | None:
    """The one translation of a database or file fault into what the person at the keyboard can act
    on (each its own WHAT and HINT, SPEC §8), or None when `err` is not one (a bug: exit 1).

    Exit codes: a damaged file is 4, like `doctor`'s failing `integrity` row (nothing will work until a
    backup is restored); a full disk, a read-only file, an I/O error and a lost or refused database
    connection are 6 (the ledger cannot be used now; run again once the machine is fixed); a number
    given that is too large for the database is 2 (out of bounds), a sum of stored numbers that
    overflows is 4 (the ledger holds a value past the bounds). Nothing is written in every case."""
    if isinstance(err, SeatctlError):
        return err
    orig = err.orig if isinstance(err, exc.DBAPIError) else err
    if isinstance(err, exc.StatementError) and not isinstance(err, exc.DBAPIError):
        orig = err.orig
    if isinstance(orig, OverflowError) and "SQLite INTEGER" in str(orig):  # the driver cannot bind this int
        return _overflow()
    if isinstance(orig, sqlite3.Error):
        return _sqlite_fault(orig)
    if orig is None:
        return None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None or (isinstance(err, exc.DBAPIError) and err.connection_invalidated):
        return _server_fault(err, orig, sqlstate)
    return None


def _overflow() -> SeatctlError:
    return UsageError("a number is too large for the ledger (integer overflow); nothing was written",
                      "Use a smaller quantity or amount")


def _stored_overflow() -> SeatctlError:
    return Refused("the ledger's sums overflow: a stored quantity is too large (integer overflow); nothing "
                   "was written", "Find it with: seatctl log --action usage.record")


def _sqlite_fault(orig: sqlite3.Error) -> SeatctlError | None:
    code = getattr(orig, "sqlite_errorcode", 0) & 0xFF
    message = str(orig)
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in message:
        return Refused(DAMAGED, DAMAGED_HINT)
    if code == _SQLITE_FULL:
        return Busy("the disk holding the ledger is full (nothing was written)",
                    "Free some space (or raise the file size limit), then run the command again")
    if code == _SQLITE_READONLY or code == _SQLITE_PERM:
        return Busy("the ledger file is read-only here (nothing was written)",
                    "Make the file, its folder and its -wal/-shm files writable by this user, or run "
                    "read-only commands only")
    if code == _SQLITE_IOERR:
        return Busy(f"the disk failed while reading or writing the ledger ({message}; nothing was written)",
                    "Check the disk (dmesg), then run: seatctl doctor")
    if code == _SQLITE_CANTOPEN:
        return Busy("the ledger file cannot be opened", "Check that its folder exists and that this user may "
                    "read and write the file and create files beside it")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in message or "busy" in message:
        return Busy("the ledger is busy (another seatctl is writing)", "Try again in a moment")
    if "no such table" in message:
        return Busy("the ledger has no schema", "Run: seatctl init")
    if "integer overflow" in message:  # SUM() past 2^63: a stored quantity is out of bounds
        return _stored_overflow()
    return None


def _server_fault(err: BaseException, orig: BaseException, sqlstate: str | None) -> SeatctlError | None:
    if sqlstate == "42501":  # insufficient_privilege: the database's grants are the boundary there
        first = str(orig).strip().splitlines()[0]
        return PermissionDenied(f"the database refused: {first}",
                                "An owner can give this role what it needs: seatctl operator add NAME --role R")
    if sqlstate == "22003":  # numeric_value_out_of_range
        return _overflow()
    if sqlstate in ("53100", "53400"):  # disk_full, configuration_limit_exceeded
        return Busy("the database server's disk is full (nothing was written)",
                    "Ask its administrator to free space, then run the command again")
    if sqlstate == "25006":  # read_only_sql_transaction: a standby, or default_transaction_read_only
        return Busy("the database server accepts no writes (read-only; nothing was written)",
                    "Point SEATCTL_DB at the primary server")
    if sqlstate in ("55P03", "40P01", "40001"):  # lock_not_available, deadlock, serialization failure
        return Busy("the ledger is busy (another seatctl is writing)", "Try again in a moment")
    lost = (isinstance(err, exc.DBAPIError) and err.connection_invalidated) or (sqlstate or "").startswith(
        ("08", "57P"))  # connection_exception, admin_shutdown / crash_shutdown / cannot_connect_now
    if lost:
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else "connection closed"
        return Busy(f"the connection to the database server was lost ({first}); nothing was written",
                    "Run the command again once the server is reachable (a write is all or nothing)")
    return None


def _translate(err: exc.DBAPIError) -> SeatctlError:
    translated = fault(err)
    if translated is not None:
        return translated
    message = str(err.orig).strip().splitlines()[0] if str(err.orig).strip() else type(err.orig).__name__
    return Busy(f"the ledger cannot be used: {message}", "Run: seatctl doctor")


@contextmanager
def write(engine: Engine) -> Iterator[Session]:
    """One write transaction: the write lock first, then checks, writes and the event."""
    try:
        with Session(engine.execution_options(seatctl_write=True), expire_on_commit=False) as session:
            session.connection()  # BEGIN IMMEDIATE now, before anything is read
            yield session
            session.commit()
    except exc.DBAPIError as err:
        translated = _faulted(err)
        if translated is err:
            raise
        raise translated from err


@contextmanager
def read(engine: Engine) -> Iterator[Session]:
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    except exc.DBAPIError as err:
        translated = _faulted(err)
        if translated is err:
            raise
        raise translated from err


def _faulted(err: exc.DBAPIError) -> Exception:
    """A fault as its error (`fault`); an operational error nothing recognises still gets one line;
    anything else (a constraint a check should have caught) stays a bug."""
    translated = fault(err)
    if translated is not None:
        return translated
    return _translate(err) if isinstance(err, exc.OperationalError) else err


_REVISION = "SELECT version_num FROM alembic_version"


def stored_revision(engine: Engine) -> str | None:
    """The ledger's schema revision (None: no schema). Read on the DB-API cursor (`batch` and `shell`
    check it before every line; SQLAlchemy's execution layer cost several times the query), its
    errors raised as SQLAlchemy's, as `conn.execute` would."""
    try:
        with engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            cursor = dbapi.cursor()
            try:
                cursor.execute(_REVISION)
                row = cursor.fetchone()
            except conn.dialect.loaded_dbapi.Error as err:
                raise exc.DBAPIError.instance(_REVISION, None, err, conn.dialect.loaded_dbapi.Error,
                                              dialect=conn.dialect) from err
            finally:
                cursor.close()
    except exc.OperationalError as err:
        if "no such table" in str(err.orig):
            return None
        raise _translate(err) from err
    except exc.ProgrammingError:  # PostgreSQL: no such table, or not visible to this role
        _check_visible(engine)
        return None
    except exc.DBAPIError as err:  # a damaged file, a lost connection…
        translated = _faulted(err)
        if translated is err:
            raise
        raise translated from err
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
    if target.is_symlink():  # a link to nothing: the copy is never written through a link
        raise UsageError(f"'{target}' is a symbolic link to '{os.readlink(target)}', which does not exist",
                         "Give the path of a new file, not of a link")
    folder = target.parent
    if not folder.exists():
        raise NotFound(f"no folder '{folder}' for the backup", f"Create it first: mkdir -p {folder}")
    if not folder.is_dir():
        raise UsageError(f"'{folder}' is not a folder", "Give the path of a new file in an existing folder")
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as err:
        raise UsageError(f"cannot create '{target}': {err.strerror or err}",
                         "Choose a folder you may write to, on a disk with room") from None
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
    except BaseException as err:
        target.unlink(missing_ok=True)
        code = getattr(err, "sqlite_errorcode", 0) & 0xFF
        if isinstance(err, sqlite3.Error) and code in (_SQLITE_FULL, _SQLITE_IOERR, _SQLITE_CANTOPEN):
            where = "is full" if code == _SQLITE_FULL else f"cannot be written ({err})"
            raise Busy(f"the disk holding '{target}' {where}; no backup was written",
                       "Free some space there or choose another folder, then run the backup again") from None
        raise
    return target

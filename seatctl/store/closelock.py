"""One `cycle close` at a time on a SQLite ledger: an exclusive OS lock (flock) on a file beside it.

SQLite's busy handler retries a blocked `BEGIN IMMEDIATE` after sleeps of up to 100 ms, and a close
leaves the write lock for microseconds between its transactions (a group of accounts each), so a second close started
meanwhile almost never gets in and exits 6 after `busy_timeout`. With this lock the second waits, in
the kernel, for the first to end (however long it runs), then finds nothing due.

The lock is on `LEDGER.close-lock`, never on the ledger file itself: SQLite holds POSIX (fcntl) locks
on the ledger and its -wal/-shm files, and a process that closes any descriptor of a file loses every
POSIX lock it holds on it; and where flock is emulated with fcntl locks (NFS) it would collide with
SQLite's own. The side file is empty; it is created with the ledger's mode (0600 for a ledger seatctl
created), beside the ledger's real path (symbolic links resolved, so every path to one ledger meets on
one lock). The lock goes with the process: a killed close releases it. Where fcntl does not exist
(Windows) there is no lock, and two closes behave as before (the second may exit 6; nothing is billed
twice either way). PostgreSQL needs none: its closes share the accounts (SKIP LOCKED).

The same busy handler would make an operator's write (`seatctl assign`) wait out `busy_timeout` behind a
long close, so writers and the close take turns at the write lock through a second file,
`LEDGER.close-turn` (`turn`): a writer holds it shared while its `BEGIN IMMEDIATE` waits, the close holds
it exclusive around its own; so after each transaction the close waits until every writer already waiting
has the write lock, and a writer that comes while the close is taking the lock waits for that one
transaction. Nobody waiting costs the close two flock calls per transaction. Writers never create the
file: until a close has run there is nothing to take turns with.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Engine

from seatctl.errors import Busy

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

SUFFIX = ".close-lock"
TURN_SUFFIX = ".close-turn"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# The ledger whose close this thread runs, and its open turn file.
_closing: ContextVar[tuple[Path, int] | None] = ContextVar("seatctl_closing", default=None)


def ledger_file(engine: Engine) -> Path | None:
    """The SQLite file an engine opens (its real path), or None (PostgreSQL, an in-memory database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if database.startswith("file:"):  # a URI filename (`Location.url`): file:/path?mode=rw&uri=true
        database = database[len("file:"):]
    if not database or database == ":memory:":
        return None
    return Path(database).resolve()


def lock_path(ledger: Path, suffix: str = SUFFIX) -> Path:
    return ledger.with_name(ledger.name + suffix)


@contextmanager
def one_close_at_a_time(engine: Engine) -> Iterator[None]:
    """Hold the ledger's close lock (waiting for it) while the block runs; a no-op on PostgreSQL and
    where fcntl is missing."""
    ledger = ledger_file(engine)
    if ledger is None or fcntl is None:
        yield
        return
    fds: list[int] = []
    path = ledger
    try:
        mode = os.stat(ledger).st_mode & 0o666
        for suffix in (SUFFIX, TURN_SUFFIX):
            path = lock_path(ledger, suffix)
            fds.append(os.open(path, os.O_RDONLY | os.O_CREAT | _NOFOLLOW, mode))
    except OSError as err:
        for fd in fds:
            os.close(fd)
        raise Busy(f"cannot open the close lock '{path}': {err.strerror or err}",
                   "It must be readable by whoever closes cycles, like the ledger (it holds nothing: "
                   "it may be removed while no close runs)") from None
    try:
        fcntl.flock(fds[0], fcntl.LOCK_EX)  # waits for the close that holds it
        token = _closing.set((ledger, fds[1]))
        try:
            yield
        finally:
            _closing.reset(token)
    finally:
        for fd in fds:
            os.close(fd)  # releases the locks


@contextmanager
def turn(ledger: Path) -> Iterator[None]:
    """Around a write transaction's `BEGIN IMMEDIATE` on SQLite: the close's (exclusive) or a writer's
    (shared) turn at the write lock (see the module's docstring). A writer goes without when the file
    is missing or cannot be opened, as before there was one."""
    if fcntl is None:
        yield
        return
    closing = _closing.get()
    fd: int | None
    if closing is not None and closing[0] == ledger:
        fd, own, mode = closing[1], False, fcntl.LOCK_EX
    else:
        try:
            fd = os.open(lock_path(ledger, TURN_SUFFIX), os.O_RDONLY | _NOFOLLOW)
        except OSError:  # no close has run here yet (or the file is not ours to read)
            fd = None
        own, mode = True, fcntl.LOCK_SH
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        if own:
            os.close(fd)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)

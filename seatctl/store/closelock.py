"""One `cycle close` at a time on a SQLite ledger: an exclusive OS lock (flock) on a file beside it.

SQLite's busy handler retries a blocked `BEGIN IMMEDIATE` after sleeps of up to 100 ms, and a close
leaves the write lock for microseconds between its per-account transactions, so a second close started
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
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from seatctl.errors import Busy

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

SUFFIX = ".close-lock"


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


def lock_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + SUFFIX)


@contextmanager
def one_close_at_a_time(engine: Engine) -> Iterator[None]:
    """Hold the ledger's close lock (waiting for it) while the block runs; a no-op on PostgreSQL and
    where fcntl is missing."""
    ledger = ledger_file(engine)
    if ledger is None or fcntl is None:
        yield
        return
    path = lock_path(ledger)
    try:
        mode = os.stat(ledger).st_mode & 0o666
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), mode)
    except OSError as err:
        raise Busy(f"cannot open the close lock '{path}': {err.strerror or err}",
                   "It must be readable by whoever closes cycles, like the ledger (it holds nothing: "
                   "it may be removed while no close runs)") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for the close that holds it
        yield
    finally:
        os.close(fd)  # releases the lock

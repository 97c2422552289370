"""Real faults on real files, met by real `seatctl` processes: a damaged or truncated ledger file, a full
disk, a file size limit, a read-only file, an integer overflow, and `backup` into a missing folder or
onto a dangling symlink. Each says what is wrong in one line, with its own hint and exit code (never
exit 1 "internal error", never the catch-all "check the file and its permissions"), and writes nothing."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Seatctl, add_account, build_template, copy_ledger, one_error_line, run_process

NOW = "2026-11-16T10:00:00Z"
DAMAGED = "error: the ledger file is damaged. Restore a backup; see: seatctl doctor"


def _build(cli: Seatctl) -> None:
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")
    cli.ok("operator", "add", "cron", "--role", "billing")
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00")
    cli.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.01")
    add_account(cli, now="2026-11-01T09:00:00Z")
    cli.now = NOW
    cli.ok("buy", "acme", "base", "3", "--yes")
    for i in range(40):  # enough events for the event table to span pages of its own
        cli.ok("user", "add", "acme", f"user{i}@example.com", "--name", f"User number {i} " + "x" * 60)


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("faults"), _build)[0]


@pytest.fixture
def ledger(_template: Path, tmp_path: Path) -> Path:
    return copy_ledger(_template, tmp_path / "ledger.db")


def _env(db: Path, operator: str = "alice", now: str = NOW) -> dict[str, str]:
    return {"SEATCTL_DB": str(db), "SEATCTL_OPERATOR": operator, "SEATCTL_NOW": now}


def _run(db: Path, *args: str, **popen: object) -> subprocess.CompletedProcess[str]:
    return run_process(list(args), _env(db), **popen)


def _error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    line = one_error_line(result.stderr, result.stdout)
    assert "internal error" not in line
    assert "permissions" not in line  # the old catch-all hint
    return line


def _garbage(db: Path, offset: int, size: int = 512) -> None:
    with db.open("r+b") as f:
        f.seek(offset)
        f.write(b"\xde\xad\xbe\xef garbage " * (size // 16))


def _root_page_offset(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    finally:
        conn.close()
    return (root - 1) * page_size


def _seats(db: Path) -> int:
    result = _run(db, "status", "acme", "--format", "json")
    assert result.returncode == 0, result.stderr
    return sum(row["total"] for row in json.loads(result.stdout))


# --- a damaged file ----------------------------------------------------------------------------

def test_doctor_on_garbage_at_offset_8192_is_a_failing_integrity_row_and_exit_4(ledger: Path) -> None:
    _garbage(ledger, 8192)
    result = _run(ledger, "doctor", "--format", "json")
    assert result.returncode == 4, (result.stdout, result.stderr)
    rows = {row["check"]: row for row in json.loads(result.stdout)}
    assert rows["integrity"]["status"] == "FAIL", rows
    assert "damaged" in rows["integrity"]["detail"]
    assert "integrity" in one_error_line(result.stderr, result.stdout)


@pytest.mark.parametrize("command", [["log"], ["user", "list", "acme"], ["buy", "acme", "base", "1", "--yes"]])
def test_a_command_that_meets_a_damaged_page_says_so_in_one_line(ledger: Path, command: list[str]) -> None:
    table = "app_user" if command[0] == "user" else "event"
    _garbage(ledger, _root_page_offset(ledger, table), 4096)
    assert _error(_run(ledger, *command), 4) == DAMAGED


def test_a_truncated_file_is_damaged_for_every_command_and_for_doctor(ledger: Path) -> None:
    with ledger.open("r+b") as f:
        f.truncate(ledger.stat().st_size // 3)
    assert _error(_run(ledger, "status"), 4) == DAMAGED
    result = _run(ledger, "doctor", "--format", "json")
    assert result.returncode == 4, result.stderr
    assert {row["check"]: row["status"] for row in json.loads(result.stdout)}["integrity"] == "FAIL"


def test_a_file_that_is_not_a_ledger_at_all(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, " * 200)
    assert _error(_run(junk, "status"), 4) == DAMAGED
    result = _run(junk, "doctor")
    assert result.returncode == 4 and "integrity" in result.stdout, result.stdout + result.stderr


# --- the disk ----------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root, where mounting is allowed; skipped elsewhere)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_its_own_error_and_writes_nothing(ledger: Path, small_disk: Path) -> None:
    db = copy_ledger(ledger, small_disk / "ledger.db")
    seats = _seats(db)
    filler = _fill(small_disk, keep_pages=16)  # room for SQLite's shared memory, not for the purchase
    line = _error(_run(db, "buy", "acme", "base", "5000", "--yes"), 6)
    assert "disk" in line and "full" in line, line
    filler.unlink()
    assert _seats(db) == seats
    assert _run(db, "doctor").returncode == 0


def _fill(folder: Path, keep_pages: int) -> Path:
    """Fill the disk of `folder`, then give back `keep_pages` pages of 4 KiB."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        written = 0
        while True:
            try:
                written += os.write(fd, b"\0" * 4096)
            except OSError:
                break
        os.ftruncate(fd, written - keep_pages * 4096)
    finally:
        os.close(fd)
    return filler


def _file_size_limit(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, not a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_write_past_the_file_size_limit_is_a_disk_error_and_writes_nothing(ledger: Path) -> None:
    seats = _seats(ledger)
    result = _run(ledger, "buy", "acme", "base", "500", "--yes", preexec_fn=lambda: _file_size_limit(40_000))
    line = _error(result, 6)
    assert "disk" in line and "I/O" in line, line
    assert _seats(ledger) == seats
    assert _run(ledger, "doctor").returncode == 0


@pytest.fixture
def read_only(ledger: Path) -> Iterator[Path]:
    """The ledger file made read-only: chmod for an ordinary user; for root, whom chmod does not stop,
    the immutable attribute (chattr +i), or a skip where the file system has none."""
    if os.geteuid() != 0:
        ledger.chmod(0o400)
        yield ledger
        ledger.chmod(0o600)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(ledger)], capture_output=True).returncode:
        pytest.skip("root ignores file modes, and chattr +i is not available here")
    try:
        yield ledger
    finally:
        subprocess.run(["chattr", "-i", str(ledger)], check=False)


def test_a_read_only_file_can_be_read_and_a_write_says_read_only(read_only: Path) -> None:
    seats = _seats(read_only)
    line = _error(_run(read_only, "buy", "acme", "base", "1", "--yes"), 6)
    assert "read-only" in line, line
    assert _seats(read_only) == seats


# --- numbers past the database's integers ----------------------------------------------------------

def test_a_stored_quantity_whose_sum_overflows_is_a_refusal_not_a_bug(ledger: Path) -> None:
    """A ledger written before the bounds (SPEC §8) may hold a usage quantity of 2^63-1: its sums overflow."""
    assert _run(ledger, "usage", "record", "acme", "sms", "5", "--id", "a").returncode == 0
    assert _run(ledger, "usage", "record", "acme", "sms", "6", "--id", "b").returncode == 0
    conn = sqlite3.connect(ledger, isolation_level=None)
    try:
        conn.execute("UPDATE usage_record SET quantity = 9223372036854775807")
    finally:
        conn.close()
    result = run_process(["cycle", "close"], _env(ledger, "cron", "2026-12-02T00:00:00Z"))
    line = _error(result, 4)
    assert "overflow" in line and "nothing was written" in line, line


def test_a_number_past_the_databases_integers_is_a_usage_error_and_writes_nothing(ledger: Path) -> None:
    events = _run(ledger, "log", "--format", "json").stdout
    _error(_run(ledger, "usage", "record", "acme", "sms", str(10**23), "--id", "big"), 2)
    assert _run(ledger, "log", "--format", "json").stdout == events


# --- backup --------------------------------------------------------------------------------------

def test_backup_onto_a_full_disk_names_that_disk_and_leaves_no_file(ledger: Path, small_disk: Path) -> None:
    _fill(small_disk, keep_pages=4)
    target = small_disk / "copy.db"
    line = _error(_run(ledger, "backup", str(target)), 6)
    assert str(target) in line and "full" in line and "no backup was written" in line, line
    assert not target.exists()


def test_backup_into_a_missing_folder_says_so(ledger: Path, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder" / "copy.db"
    line = _error(_run(ledger, "backup", str(target)), 3)
    assert "no folder" in line and "mkdir -p" in line, line
    assert not target.parent.exists()


def test_backup_onto_a_dangling_symlink_is_refused_and_writes_nowhere(ledger: Path, tmp_path: Path) -> None:
    link, aim = tmp_path / "copy.db", tmp_path / "elsewhere.db"
    link.symlink_to(aim)
    line = _error(_run(ledger, "backup", str(link)), 2)
    assert "symbolic link" in line, line
    assert link.is_symlink() and not aim.exists()


# --- a lost PostgreSQL connection ------------------------------------------------------------------

def test_a_lost_postgresql_connection_is_exit_6_with_its_own_hint(ledger_pg: Seatctl) -> None:
    """The server ends the session (pg_terminate_backend) while a purchase waits for the account's lock."""
    import time

    from sqlalchemy import create_engine, text
    from support import spawn

    cli = ledger_pg
    add_account(cli)
    admin = create_engine(cli.location("postgres"))
    try:
        with admin.connect() as holder, admin.connect() as killer:
            holder.execute(text("SELECT id FROM account WHERE slug = 'acme' FOR UPDATE"))  # the buy will wait here
            child = spawn(["buy", "acme", "base", "1", "--yes"], {**cli.env("alice"), "SEATCTL_NOW": NOW})
            try:
                waiting = None
                for _ in range(600):  # until the purchase waits on the lock (not a timing assertion: just a wait)
                    waiting = killer.execute(text(
                        "SELECT pid FROM pg_stat_activity WHERE usename = 'alice' AND wait_event_type = 'Lock' "
                        "AND datname = current_database()"  # this worker's database: xdist runs others beside it
                    )).scalar()
                    killer.commit()
                    if waiting or child.poll() is not None:
                        break
                    time.sleep(0.1)
                assert waiting, child.communicate(timeout=60)
                killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting})
                killer.commit()
                out, err = child.communicate(timeout=60)
            finally:
                if child.poll() is None:
                    child.kill()
            holder.rollback()
    finally:
        admin.dispose()
    result = subprocess.CompletedProcess(child.args, child.returncode, out, err)
    line = _error(result, 6)
    assert "connection to the database server was lost" in line and "nothing was written" in line, line
    assert [row["total"] for row in cli.json("status", "acme")] == []  # the purchase left nothing


@pytest.fixture
def ledger_pg(cli: Seatctl) -> Seatctl:
    if cli.backend != "postgresql":
        pytest.skip("a PostgreSQL session ended by the server")
    cli.now = NOW
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00")
    return cli

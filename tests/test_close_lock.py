"""SQLite: two `seatctl cycle close` started together take turns on `LEDGER.close-lock` (flock), so the
second waits for the first instead of starving on `BEGIN IMMEDIATE` (exit 6 after busy_timeout), then
finds nothing due: every account period closed once, both exit 0.

Real processes on a ledger of a few hundred due accounts; busy_timeout is cut to 0.5 s so that,
without the lock, the second close exits 6 long before the first is done."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import stat
import time
from collections import Counter
from pathlib import Path

import pytest
from support import build_template, copy_of, spawn, standard_ledger

ACCOUNTS = [f"acct-{i:03d}" for i in range(400)]
DUE = "2026-12-01T00:05:00Z"
LATE = "2027-06-01T00:05:00Z"  # cron down since November: seven periods due per account, 2,800 in all


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 accounts (monthly from 1 Nov, each with a minimum of 2 base seats), all due at 1 Dec,
    added in one `seatctl batch`."""
    def build(cli):
        standard_ledger(cli)
        lines = cli.folder / "accounts.txt"
        lines.write_text("".join(f"account add {slug} --name {slug} --anchor 2026-11-01 --min base=2\n"
                                 for slug in ACCOUNTS))
        cli.ok("batch", str(lines))

    path, _ = build_template(tmp_path_factory.mktemp("close-lock"), build)
    return path


@pytest.fixture
def due(template: Path, tmp_path: Path):
    cli = copy_of(template, tmp_path, DUE)
    (tmp_path / "seatctl.toml").write_text("busy_timeout = 0.5\n", encoding="utf-8")
    return cli


def closes_per_account(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as con:
        return Counter(slug for (slug,) in con.execute(
            "SELECT a.slug FROM closed_period c JOIN account a ON a.id = c.account_id"))


def renewals_per_account(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as con:
        return Counter(slug for (slug,) in con.execute(
            "SELECT a.slug FROM invoice i JOIN account a ON a.id = i.account_id WHERE i.kind = 'renewal'"))


def finish(proc, timeout: float = 120) -> tuple[int, list[dict[str, object]], str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, (json.loads(out) if proc.returncode == 0 else []), err


def test_two_closes_started_together_both_exit_0_and_close_each_period_once(due):
    env = due.env("cron", now=LATE)
    closes = [spawn(["cycle", "close", "--format", "json"], env) for _ in range(2)]
    results = [finish(c) for c in closes]
    for code, _, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    rows = [row for _, rows, _ in results for row in rows]
    periods = Counter((row["account"], row["period_start"]) for row in rows)
    assert set(periods.values()) == {1} and len(periods) == 7 * len(ACCOUNTS)  # each closed by one of them, once
    assert sorted(len(rows) for _, rows, _ in results) == [0, 7 * len(ACCOUNTS)]  # the second waited, found nothing
    assert closes_per_account(due.db) == Counter({slug: 7 for slug in ACCOUNTS})
    assert renewals_per_account(due.db) == Counter({slug: 7 for slug in ACCOUNTS})
    assert due.json("cycle", "close", operator="cron", now=LATE) == []
    assert due("doctor", now=LATE).code == 0


def test_a_close_waits_for_the_lock_and_the_lock_file_is_private(due):
    lock = due.db.with_name(due.db.name + ".close-lock")
    assert not lock.exists()  # made by the first close
    fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a close that runs would
        proc = spawn(["cycle", "close", "--format", "json"], due.env("cron"))
        time.sleep(3)  # long enough for the close to start and (busy_timeout 0.5 s) give up, if it did not wait
        assert proc.poll() is None, proc.communicate()
        assert closes_per_account(due.db) == Counter()
    finally:
        os.close(fd)
    code, rows, err = finish(proc)
    assert code == 0, err
    assert sorted(row["account"] for row in rows) == ACCOUNTS


def test_the_lock_file_is_made_with_the_ledger_s_mode(due):
    due.db.chmod(0o600)  # as `init` makes it (the test's copy is not)
    due.ok("cycle", "close", operator="cron")
    lock = due.db.with_name(due.db.name + ".close-lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600 == stat.S_IMODE(due.db.stat().st_mode)
    assert lock.read_bytes() == b""


def test_a_dry_run_does_not_wait_for_the_lock(due):
    lock = due.db.with_name(due.db.name + ".close-lock")
    fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        rows = due.json("cycle", "close", "--dry-run", operator="cron")
    finally:
        os.close(fd)
    assert len(rows) == len(ACCOUNTS)
    assert closes_per_account(due.db) == Counter()


def test_an_operator_s_write_during_a_long_close_gets_its_turn(due):
    """A write started while a close runs gets the write lock between two of the close's transactions
    (LEDGER.close-turn) instead of waiting out busy_timeout (0.5 s here) behind the whole close."""
    close = spawn(["cycle", "close", "--format", "json"], due.env("cron", now=LATE))
    deadline = time.monotonic() + 60
    while not closes_per_account(due.db) and time.monotonic() < deadline:  # the close is under way
        assert close.poll() is None, close.communicate()
        time.sleep(0.02)
    write = spawn(["user", "add", "acct-399", "ana@example.com"], due.env("olivia", now=LATE))
    _, err = write.communicate(timeout=60)
    assert write.returncode == 0, err
    assert close.poll() is None  # the write did not wait for the close to end
    code, rows, err = finish(close)
    assert code == 0, err
    assert len(rows) == 7 * len(ACCOUNTS) - 7  # acct-399's periods were closed by the write, before it added ana
    assert closes_per_account(due.db) == Counter({slug: 7 for slug in ACCOUNTS})
    assert renewals_per_account(due.db) == Counter({slug: 7 for slug in ACCOUNTS})
    assert due("doctor", now=LATE).code == 0

"""Real processes racing for the same ledger: no oversold seat, a held lock gives exit 6, reads still work."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

from support import add_account, one_error_line, spawn

NOW = "2026-11-02T10:00:00Z"
ROUNDS = 10


def _spawn(ledger, *args: str, operator: str = "olivia") -> subprocess.Popen[str]:
    """A real `seatctl` process on the test's ledger (SQLite file or PostgreSQL schema)."""
    return spawn(list(args), ledger.env(operator, now=NOW))


def _hold_write_lock(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    conn.execute("BEGIN IMMEDIATE")
    return conn


class _AccountLock:
    """Hold what a write takes first: the SQLite write lock, or the account's row lock on PostgreSQL."""

    def __init__(self, ledger, slug: str) -> None:
        if ledger.backend == "sqlite":
            self._sqlite = _hold_write_lock(ledger.db)
            return
        from sqlalchemy import create_engine, text

        self._engine = create_engine(ledger.location("alice"))
        self._conn = self._engine.connect()
        self._tx = self._conn.begin()
        self._conn.execute(text("SELECT id FROM account WHERE slug = :s FOR UPDATE"), {"s": slug})

    def release(self) -> None:
        if hasattr(self, "_sqlite"):
            self._sqlite.rollback()
            self._sqlite.close()
            return
        self._tx.rollback()
        self._conn.close()
        self._engine.dispose()


def test_two_processes_racing_for_the_last_seat_never_oversell(ledger):
    ledger.now = NOW
    add_account(ledger)
    for i in range(2 * ROUNDS):
        ledger.ok("user", "add", "acme", f"u{i}@example.com")
    winners: list[str] = []
    for r in range(ROUNDS):
        ledger.ok("buy", "acme", "base", "1", "--yes")  # exactly one free seat for this round
        a, b = f"u{2 * r}@example.com", f"u{2 * r + 1}@example.com"
        # Hold the write lock while both start, so both are waiting for it when it is let go.
        lock = _AccountLock(ledger, "acme")
        try:
            procs = {a: _spawn(ledger, "assign", "acme", a, "base"),
                     b: _spawn(ledger, "assign", "acme", b, "base")}
            time.sleep(0.7)  # not an assertion: only makes the race more likely
        finally:
            lock.release()
        results = {user: (p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for user, p in procs.items()}
        for p in procs.values():
            p.stdout.close()
            p.stderr.close()
        codes = sorted(code for code, _, _ in results.values())
        assert codes == [0, 4], results
        for user, (code, _out, err) in results.items():
            assert "Traceback" not in err
            if code == 0:
                winners.append(user)
            else:
                line = one_error_line(err)
                assert line.startswith(f"error: no free 'base' seat in account 'acme' ({r + 1} of {r + 1} in use)"), line
        [row] = ledger.json("status", "acme")
        assert (row["in_use"], row["free"], row["total"]) == (r + 1, 0, r + 1)

    holders = {u["email"] for u in ledger.json("user", "list", "acme") if u["licences"] == ["base"]}
    assert holders == set(winners)
    assert len(winners) == ROUNDS
    log = ledger.json("log", "--account", "acme")
    assert sum(1 for e in log if e["action"] == "assign") == ROUNDS
    assert sum(1 for e in log if e["action"] == "denial") == ROUNDS
    assert ledger("doctor").code == 0


def test_many_processes_assigning_different_users_all_land(ledger):
    """Writers queue on the lock (busy timeout) instead of failing: 4 at once, 4 free seats, 4 successes."""
    ledger.now = NOW
    add_account(ledger)
    ledger.ok("buy", "acme", "voip", "4", "--yes")
    for i in range(4):
        ledger.ok("user", "add", "acme", f"p{i}@example.com")
    procs = [_spawn(ledger, "assign", "acme", f"p{i}@example.com", "voip") for i in range(4)]
    results = [(p.wait(timeout=90), p.communicate()) for p in procs]
    assert [code for code, _ in results] == [0] * 4, results
    [row] = ledger.json("status", "acme")
    assert (row["in_use"], row["free"], row["total"]) == (4, 0, 4)
    assert ledger("doctor").code == 0


def _write_config(path: Path, busy: float) -> Path:
    path.write_text(f"busy_timeout = {busy}\n", encoding="utf-8")
    return path


def test_a_write_waiting_on_a_held_lock_exits_6_and_changes_nothing(ledger, process, tmp_path):
    ledger.now = NOW
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes")
    ledger.ok("user", "add", "acme", "ana@example.com")
    before_status = ledger.json("status", "acme")
    before_log = ledger.json("log")
    _write_config(tmp_path / "seatctl.toml", 0.5)  # ./seatctl.toml: the process runs in tmp_path

    lock = _hold_write_lock(ledger.db)
    try:
        env = ledger.env("olivia")
        assign = process(["assign", "acme", "ana@example.com", "base"], env)
        assert assign.returncode == 6, (assign.stdout, assign.stderr)
        line = one_error_line(assign.stderr)
        assert "busy" in line
        assert assign.stdout == ""

        buy = process(["buy", "acme", "base", "1", "--yes"], {**env, "SEATCTL_OPERATOR": "cron"})
        assert buy.returncode == 6, (buy.stdout, buy.stderr)
        one_error_line(buy.stderr)

        status = process(["status", "acme", "--format", "json"], env)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout) == before_status
    finally:
        lock.rollback()
        lock.close()

    assert ledger.json("status", "acme") == before_status
    assert ledger.json("log") == before_log
    assert ledger.json("user", "list", "acme")[0]["licences"] == []
    assert ledger("doctor").code == 0


def test_explicit_config_busy_timeout_applies_too(ledger, process, tmp_path):
    ledger.now = NOW
    add_account(ledger)
    cfg = _write_config(tmp_path / "elsewhere.toml", 0.3)
    lock = _hold_write_lock(ledger.db)
    try:
        env = ledger.env("olivia")
        res = process(["--config", str(cfg), "user", "add", "acme", "bob@example.com"], env)
        assert res.returncode == 6, (res.stdout, res.stderr)
        one_error_line(res.stderr)
    finally:
        lock.rollback()
        lock.close()
    assert ledger.json("user", "list", "acme") == []

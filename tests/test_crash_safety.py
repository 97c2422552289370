"""`cycle close` killed (SIGKILL) before its N-th SQL statement leaves a consistent ledger: every
account period is either fully closed (closed_period row, its invoice, its events) or untouched,
`doctor` stays clean, and a normal re-run ends exactly where a run that never crashed ends."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from support import add_account, copy_ledger, run_process

CLOSE_AT = "2027-01-02T03:00:00Z"
CRASH_POINTS = 16  # how many N to try, spread over every statement of the close


@pytest.fixture
def template(ledger, tmp_path: Path) -> Path:
    """Four accounts whose periods have ended (two each by CLOSE_AT): trimming, minimums, a trial."""
    add_account(ledger, "a1")
    add_account(ledger, "a2", "--min", "base=2")
    add_account(ledger, "a3", anchor="2026-11-15")
    add_account(ledger, "a4", "--trial")
    ledger.ok("buy", "a1", "base", "3", "--yes")
    ledger.ok("buy", "a1", "voip", "2", "--yes")
    ledger.ok("buy", "a3", "voip", "4", "--yes")
    ledger.ok("buy", "a4", "base", "2", "--yes")
    ledger.ok("user", "add", "a1", "x@example.com")
    ledger.ok("assign", "a1", "x@example.com", "base", "voip")
    ledger.ok("user", "add", "a3", "y@example.com")
    ledger.ok("assign", "a3", "y@example.com", "voip")
    ledger.ok("account", "set-min", "a2", "base=1")  # lowered: applies at the first close
    path = tmp_path / "template.db"
    copy_ledger(ledger.db, path)
    return path


def _close_process(db: Path, crash_after: int | None) -> subprocess.CompletedProcess[str]:
    env = {"SEATCTL_DB": str(db), "SEATCTL_NOW": CLOSE_AT, "SEATCTL_OPERATOR": "cron"}
    if crash_after is not None:
        env["SEATCTL_TEST_CRASH_AFTER"] = str(crash_after)
    return run_process(["cycle", "close", "--format", "json"], env, timeout=120)


def _rows(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _closed_periods(db: Path) -> dict[tuple[str, str], tuple]:  # type: ignore[type-arg]
    return {(slug, start): (end, cancelled, total, number) for slug, start, end, cancelled, total, number in _rows(db, """
        SELECT a.slug, c.period_start, c.period_end, c.seats_cancelled, c.total_minor, i.number
        FROM closed_period c JOIN account a ON a.id = c.account_id LEFT JOIN invoice i ON i.id = c.invoice_id""")}


def _snapshot(cli, db: Path) -> dict[str, object]:
    """What a user sees: invoices, seat status, accounts' current periods, every closed period."""
    return {
        "invoices": cli.json("--db", str(db), "invoice", "list", now=CLOSE_AT),
        "status": cli.json("--db", str(db), "status", now=CLOSE_AT),
        "accounts": [(a["slug"], a["period_start"], a["period_end"])
                     for a in cli.json("--db", str(db), "account", "list", now=CLOSE_AT)],
        "closed": _closed_periods(db),
    }


@pytest.fixture
def reference(ledger, template: Path, tmp_path: Path) -> dict[str, object]:
    """The result of a close that never crashed."""
    ref = tmp_path / "reference.db"
    copy_ledger(template, ref)
    seen = [0]

    def count(*_args: object) -> None:
        seen[0] += 1

    event.listen(Engine, "before_cursor_execute", count)  # what the crash hook counts, in every engine
    try:
        rows = ledger.json("--db", str(ref), "cycle", "close", now=CLOSE_AT, operator="cron")
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert len(rows) == 8  # four accounts, two ended periods each
    return {**_snapshot(ledger, ref), "statements": seen[0]}


def _assert_consistent(cli, db: Path, template: Path, reference: dict[str, object]) -> None:
    doctor = cli("--db", str(db), "doctor", now=CLOSE_AT)
    assert doctor.code == 0, doctor.out + doctor.err
    closed = _closed_periods(db)
    ref_closed = reference["closed"]
    assert isinstance(ref_closed, dict)
    # Every closed period is the one of the clean run: same end, trim, total and invoice number.
    for key, value in closed.items():
        assert ref_closed[key] == value, key
    # Per account, the closed periods are a prefix of the clean run's (oldest first), and the
    # account's current period starts where the last close ended: nothing half-applied.
    for slug, start, _end in _rows(db, "SELECT slug, period_start, period_end FROM account"):
        mine = sorted(s for (a, s) in closed if a == slug)
        theirs = sorted(s for (a, s) in ref_closed if a == slug)
        assert mine == theirs[:len(mine)], slug
        if mine:
            assert start == closed[(slug, mine[-1])][0], slug
        else:
            assert start == _rows(template, f"SELECT period_start FROM account WHERE slug = '{slug}'")[0][0]
    # Each close has its event; no invoice exists without its close (beyond the template's purchases).
    events = [(slug, json.loads(d)) for slug, d in _rows(db, """
        SELECT a.slug, e.details FROM event e JOIN account a ON a.id = e.account_id
        WHERE e.action = 'cycle.close'""")]
    assert sorted((slug, e["period_start"], e["invoice"] or "") for slug, e in events) == \
        sorted((slug, start, number or "") for (slug, start), (_, _, _, number) in closed.items())
    purchases = {n for (n,) in _rows(template, "SELECT number FROM invoice")}
    invoices = {n for (n,) in _rows(db, "SELECT number FROM invoice")}
    assert invoices - purchases == {number for (_, _, _, number) in closed.values() if number}
    assert len(_rows(db, "SELECT id FROM event WHERE action = 'invoice.issue'")) == len(invoices)
    # Seats: cancelled exactly as many as the closed periods say.
    cancelled = _rows(db, "SELECT COUNT(*) FROM seat WHERE cancelled_at IS NOT NULL")[0][0]
    assert cancelled == sum(c for (_, c, _, _) in closed.values())


def test_a_close_killed_at_any_statement_is_all_or_nothing_per_period(ledger, template, reference, tmp_path):
    total = reference.pop("statements")
    assert isinstance(total, int) and total > 30, total
    points = sorted({1 + (total - 1) * i // (CRASH_POINTS - 1) for i in range(CRASH_POINTS)})
    copies = {n: tmp_path / f"crash-{n}.db" for n in points}
    for path in copies.values():
        copy_ledger(template, path)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = dict(zip(copies, pool.map(lambda n: _close_process(copies[n], n), copies), strict=True))
    crashed = [n for n, r in results.items() if r.returncode == -9]
    assert len(crashed) >= len(copies) - 1, {n: r.returncode for n, r in results.items()}  # the hook really fired
    progress = set()
    for n, path in copies.items():
        result = results[n]
        assert result.returncode in (0, -9), (n, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr
        _assert_consistent(ledger, path, template, reference)
        progress.add(len(_closed_periods(path)))
        rerun = ledger("--db", str(path), "cycle", "close", "--format", "json", now=CLOSE_AT, operator="cron")
        assert rerun.code == 0, (n, rerun.err)
        assert _snapshot(ledger, path) == reference, n
        again = ledger.json("--db", str(path), "cycle", "close", now=CLOSE_AT, operator="cron")
        assert again == []
    # Crashes fell before, between and after the run's commits (the four accounts' first periods close in
    # one transaction, their second periods in the next: 0, 4 or 8 periods closed).
    assert progress == {0, 4, 8}, progress


def test_repeated_crashes_on_one_ledger_still_finish_the_job(ledger, template, reference, tmp_path):
    path = tmp_path / "repeated.db"
    copy_ledger(template, path)
    total = reference.pop("statements")
    assert isinstance(total, int)
    attempts, progress = [], []
    for crash_after in [total * 3 // 4, total * 2 // 3] * 6:  # past the first commit, before the run's end
        result = _close_process(path, crash_after)
        attempts.append(result.returncode)
        assert result.returncode in (0, -9), result.stderr
        _assert_consistent(ledger, path, template, reference)
        progress.append(len(_closed_periods(path)))
        if result.returncode == 0:
            break
    assert attempts[-1] == 0, attempts
    assert attempts[0] == -9, attempts  # it crashed, then finished
    assert progress == sorted(set(progress)) and progress[0] > 0, progress  # each run left more closed
    assert _snapshot(ledger, path) == reference

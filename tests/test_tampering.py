"""Raw SQL against the ledger file: triggers refuse edits of invoices, lines and events; what they
cannot stop, `doctor` finds; the file and its backups are readable by their owner only."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from support import Seatctl, add_account, build_template, copy_of, one_error_line, run_process

NOW = "2026-11-16T10:00:00Z"


def _build(cli: Seatctl) -> None:
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")
    for name, role in (("cron", "billing"), ("olivia", "operator"), ("vera", "viewer")):
        cli.ok("operator", "add", name, "--role", role)
    for code, price in (("base", "30.00"), ("voip", "5.35"), ("gsm", "12.00")):
        cli.ok("licence", "add", code, "--name", code.title(), "--monthly", price)
    add_account(cli, now="2026-11-01T09:00:00Z")
    cli.now = NOW
    cli.ok("buy", "acme", "base", "3", "--yes")
    cli.ok("buy", "acme", "voip", "2", "--yes")
    cli.ok("user", "add", "acme", "ana@example.com")
    cli.ok("user", "add", "acme", "bob@example.com")
    cli.ok("assign", "acme", "ana@example.com", "base")
    assert cli("doctor").code == 0


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module, copied for each test (building it takes a second or so)."""
    return build_template(tmp_path_factory.mktemp("tampering"), _build)[0]


@pytest.fixture
def books(_template: Path, tmp_path: Path) -> Seatctl:
    """acme: 3 base seats (one held by ana), 2 voip seats; two purchase invoices; a few events.
    Operators alice (owner), cron (billing), olivia (operator), vera (viewer)."""
    return copy_of(_template, tmp_path, NOW)


def _sql(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, isolation_level=None, timeout=10)


def _doctor_failures(cli) -> dict[str, str]:
    result = cli("doctor", "--format", "json")
    assert result.code == 4, result.out + result.err
    one_error_line(result.err, result.out)
    return {row["check"]: row["detail"] for row in result.json() if row["status"] != "ok"}


# --- triggers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE invoice SET total_minor = 1",
    "UPDATE invoice SET number = 'INV-2026-999999' WHERE seq = 1",
    "DELETE FROM invoice WHERE seq = 2",
    "UPDATE invoice_line SET amount_minor = 0",
    "DELETE FROM invoice_line",
    "UPDATE event SET operator = 'nobody'",
    "DELETE FROM event WHERE action = 'buy'",
    "DELETE FROM event",
])
def test_triggers_refuse_edits_of_append_only_tables(books, statement):
    conn = _sql(books.db)
    try:
        before = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                  for t in ("invoice", "invoice_line", "event")}
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
        after = {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                 for t in ("invoice", "invoice_line", "event")}
    finally:
        conn.close()
    assert after == before
    assert books("doctor").code == 0


def test_invoices_shown_by_the_cli_do_not_change_after_a_refused_edit(books):
    before = books.json("invoice", "list")
    conn = _sql(books.db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="invoice is append-only"):
            conn.execute("UPDATE invoice SET total_minor = total_minor * 2")
    finally:
        conn.close()
    assert books.json("invoice", "list") == before


# --- what triggers cannot stop, doctor finds ---------------------------------------------------

def test_deleting_an_invoice_counter_is_found(books):
    conn = _sql(books.db)
    conn.execute("DELETE FROM invoice_counter")
    conn.close()
    failed = _doctor_failures(books)
    assert "gapless_numbers" in failed


def test_winding_an_invoice_counter_back_is_found(books):
    conn = _sql(books.db)
    conn.execute("UPDATE invoice_counter SET last = last - 1")
    conn.close()
    assert "gapless_numbers" in _doctor_failures(books)


def test_a_second_overlapping_holder_of_one_seat_is_found(books):
    conn = _sql(books.db)
    seat_id, assigned_at, account_id, licence_id = conn.execute(
        "SELECT seat_id, assigned_at, account_id, licence_id FROM assignment WHERE released_at IS NULL").fetchone()
    bob = conn.execute("SELECT id FROM app_user WHERE email = 'bob@example.com'").fetchone()[0]
    # A closed (released) assignment slips past the partial unique index on open ones.
    conn.execute(
        "INSERT INTO assignment (account_id, licence_id, user_id, seat_id, assigned_at, released_at) "
        "VALUES (?, ?, ?, ?, datetime(?, '+1 hour'), datetime(?, '+2 hours'))",
        (account_id, licence_id, bob, seat_id, assigned_at, assigned_at))
    conn.close()
    failed = _doctor_failures(books)
    assert "one_holder_per_seat" in failed
    assert f"seat {seat_id}" in failed["one_holder_per_seat"]


def test_a_user_holding_one_licence_twice_is_found(books):
    conn = _sql(books.db)
    account_id, licence_id, user_id, assigned_at = conn.execute(
        "SELECT account_id, licence_id, user_id, assigned_at FROM assignment WHERE released_at IS NULL").fetchone()
    free_seat = conn.execute(
        "SELECT id FROM seat WHERE licence_id = ? AND id NOT IN (SELECT seat_id FROM assignment) LIMIT 1",
        (licence_id,)).fetchone()[0]
    conn.execute(
        "INSERT INTO assignment (account_id, licence_id, user_id, seat_id, assigned_at, released_at) "
        "VALUES (?, ?, ?, ?, datetime(?, '+1 hour'), datetime(?, '+2 hours'))",
        (account_id, licence_id, user_id, free_seat, assigned_at, assigned_at))
    conn.close()
    assert "one_seat_per_user_licence" in _doctor_failures(books)


def test_cancelling_a_held_seat_behind_the_ledgers_back_is_found(books):
    conn = _sql(books.db)
    seat_id = conn.execute("SELECT seat_id FROM assignment WHERE released_at IS NULL").fetchone()[0]
    conn.execute("UPDATE seat SET cancelled_at = bought_at WHERE id = ?", (seat_id,))
    conn.close()
    failed = _doctor_failures(books)
    assert "seat_owned_while_held" in failed
    assert f"seat {seat_id}" in failed["seat_owned_while_held"]


def test_an_extra_invoice_line_is_found(books):
    conn = _sql(books.db)
    invoice_id, number = conn.execute("SELECT id, number FROM invoice ORDER BY id LIMIT 1").fetchone()
    line = conn.execute("SELECT account_id, licence_id, period_start, period_end, days, period_days "
                        "FROM invoice_line WHERE invoice_id = ?", (invoice_id,)).fetchone()
    conn.execute(
        "INSERT INTO invoice_line (invoice_id, line_no, account_id, licence_id, kind, description, quantity, "
        "unit_price_minor, period_start, period_end, days, period_days, amount_minor) "
        "VALUES (?, 99, ?, ?, 'seat', 'extra', 1, 100000, ?, ?, ?, ?, 100000)", (invoice_id, *line))
    conn.close()
    failed = _doctor_failures(books)
    assert "totals_match_lines" in failed
    assert number in failed["totals_match_lines"]


def test_a_seat_removed_below_the_minimum_is_found(books):
    books.ok("account", "add", "mini", "--name", "Mini", "--min", "gsm=2")
    conn = _sql(books.db)
    conn.execute("UPDATE seat SET cancelled_at = bought_at WHERE account_id = "
                 "(SELECT id FROM account WHERE slug = 'mini')")
    conn.close()
    failed = _doctor_failures(books)
    assert "minimums_held" in failed
    assert "'mini'" in failed["minimums_held"]


def test_an_overlapping_second_close_is_found(books):
    books.ok("cycle", "close", now="2026-12-01T02:00:00Z", operator="cron")
    conn = _sql(books.db)
    conn.execute("INSERT INTO closed_period (account_id, period_start, period_end, closed_at, seats_cancelled, "
                 "total_minor) SELECT account_id, date(period_start, '+1 day'), period_end, closed_at, 0, 0 "
                 "FROM closed_period")
    conn.close()
    assert "one_close_per_period" in _doctor_failures(books)


def test_a_second_close_of_the_same_period_is_refused_by_the_schema(books):
    books.ok("cycle", "close", now="2026-12-01T02:00:00Z", operator="cron")
    conn = _sql(books.db)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO closed_period (account_id, period_start, period_end, closed_at, "
                         "seats_cancelled, total_minor) SELECT account_id, period_start, period_end, closed_at, 0, 0 "
                         "FROM closed_period")
    finally:
        conn.close()
    assert books("doctor", now="2026-12-01T02:00:00Z").code == 0


def test_a_dropped_trigger_is_found(books):
    conn = _sql(books.db)
    conn.execute("DROP TRIGGER trg_invoice_line_no_delete")
    conn.close()
    failed = _doctor_failures(books)
    assert "append_only" in failed
    assert "trg_invoice_line_no_delete" in failed["append_only"]


def test_an_assignment_without_its_event_is_found(books):
    conn = _sql(books.db)
    account_id, licence_id, seat_id, assigned_at = conn.execute(
        "SELECT account_id, licence_id, seat_id, assigned_at FROM assignment").fetchone()
    bob = conn.execute("SELECT id FROM app_user WHERE email = 'bob@example.com'").fetchone()[0]
    free_seat = conn.execute("SELECT id FROM seat WHERE licence_id = ? AND id <> ? LIMIT 1",
                             (licence_id, seat_id)).fetchone()[0]
    conn.execute("INSERT INTO assignment (account_id, licence_id, user_id, seat_id, assigned_at) "
                 "VALUES (?, ?, ?, ?, ?)", (account_id, licence_id, bob, free_seat, assigned_at))
    conn.close()
    assert "every_change_has_event" in _doctor_failures(books)


def test_doctor_output_in_plain_text_names_the_failing_check(books):
    conn = _sql(books.db)
    conn.execute("DELETE FROM invoice_counter")
    conn.close()
    result = books("doctor", "--format", "plain")
    assert result.code == 4
    row = next(line for line in result.out.splitlines() if "gapless_numbers" in line)
    assert "FAIL" in row
    assert "gapless_numbers" in one_error_line(result.err, result.out)


# --- file modes and backups ------------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run(args: list[str], env: dict[str, str], umask: int) -> subprocess.CompletedProcess[str]:
    return run_process(args, env, preexec_fn=lambda: os.umask(umask))


def test_the_ledger_is_created_owner_only_even_with_umask_0(tmp_path):
    db = tmp_path / "open" / "ledger.db"
    env = {"SEATCTL_DB": str(db), "SEATCTL_OPERATOR": "alice", "SEATCTL_NOW": NOW}
    result = _run(["init"], env, 0o000)
    assert result.returncode == 0, result.stderr
    assert _mode(db) == 0o600
    # While the ledger is open its write-ahead log and shared memory exist; they hold ledger data too.
    reader = sqlite3.connect(db)
    try:
        reader.execute("SELECT COUNT(*) FROM operator").fetchone()
        result = _run(["licence", "add", "base", "--name", "Base", "--monthly", "30"], env, 0o000)
        assert result.returncode == 0, result.stderr
        assert _mode(db) == 0o600
        for suffix in ("-wal", "-shm"):
            side = db.with_name(db.name + suffix)
            assert side.exists(), suffix
            assert _mode(side) & 0o077 == 0, (suffix, oct(_mode(side)))
    finally:
        reader.close()


def test_backup_is_an_owner_only_copy_that_doctor_accepts(books, tmp_path):
    copy = tmp_path / "copies" / "backup.db"
    copy.parent.mkdir()
    old = os.umask(0)
    try:
        result = books("backup", str(copy))
    finally:
        os.umask(old)
    assert result.code == 0, result.err
    assert _mode(copy) == 0o600
    assert books("--db", str(copy), "doctor").code == 0
    assert books.json("--db", str(copy), "invoice", "list") == books.json("invoice", "list")
    assert books.json("--db", str(copy), "status") == books.json("status")


def test_backup_refuses_an_existing_file(books, tmp_path):
    target = tmp_path / "taken.db"
    target.write_bytes(b"precious")
    result = books("backup", str(target))
    assert result.code == 4
    one_error_line(result.err, result.out)
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize("who", ["cron", "olivia", "vera"])
def test_backup_is_for_the_owner_only(books, tmp_path, who):
    target = tmp_path / f"by-{who}.db"
    result = books("backup", str(target), operator=who)
    assert result.code == 5
    assert result.err.startswith("error: ") and "'owner' role" in result.err
    assert not target.exists()

"""Time never runs backwards in the ledger (SPEC §8): a write whose clock is earlier than the ledger's
latest event is refused (exit 4, naming that instant), except within 60 seconds, where it is recorded
at the latest event's instant; `doctor` checks that events and invoice issue times never go back."""

from __future__ import annotations

import sqlite3

from support import Seatctl, invoices, one_error_line

FEB_2 = "2026-12-02T09:00:00Z"
LATEST = "2026-12-02T09:00:00Z"


def _log(cli: Seatctl) -> list[dict[str, object]]:
    return cli.json("log", now="2026-12-31T00:00:00Z")


def test_a_backdated_write_is_refused_naming_the_latest_instant(acme: Seatctl) -> None:
    acme.ok("buy", "acme", "base", "3", "--yes", now=FEB_2)
    acme.ok("user", "add", "acme", "ana@example.com", now=FEB_2)
    acme.ok("assign", "acme", "ana@example.com", "base", now=FEB_2)
    before = (invoices(acme, now=FEB_2), _log(acme))
    for command in (("buy", "acme", "base", "1", "--yes"), ("release", "acme", "ana@example.com", "base"),
                    ("user", "add", "acme", "bo@example.com"), ("licence", "add", "x", "--name", "X", "--monthly", "1")):
        result = acme(*command, now="2026-11-15T00:00:00Z")
        assert result.code == 4, (command, result.err)
        line = one_error_line(result.err, result.out)
        assert "2026-12-02T09:00:00Z" in line and "2026-11-15T00:00:00Z" in line, line
    assert (invoices(acme, now=FEB_2), _log(acme)) == before


def test_a_backdated_cycle_close_is_refused(acme: Seatctl) -> None:
    acme.ok("buy", "acme", "base", "1", "--yes", now="2026-12-05T10:00:00Z")  # closes November on the way
    result = acme("cycle", "close", now="2026-12-02T00:00:00Z", operator="cron")
    assert result.code == 4, result.err
    assert "2026-12-05T10:00:00Z" in one_error_line(result.err, result.out)


def test_a_clock_less_than_a_minute_behind_is_recorded_at_the_latest_instant(acme: Seatctl) -> None:
    acme.ok("buy", "acme", "base", "1", "--yes", now=LATEST)
    out = acme.json("buy", "acme", "base", "2", "--yes", now="2026-12-02T08:59:01Z")  # 59 s behind: clock skew
    issued = {row["number"]: row["issued_at"] for row in invoices(acme, now=LATEST)}
    assert issued[out["invoice"]] == "2026-12-02T09:00:00Z"
    assert _log(acme)[-1]["at"].startswith("2026-12-02T09:00:00")  # the event too
    assert acme("buy", "acme", "base", "1", "--yes", now="2026-12-02T08:58:59Z").code == 4  # 61 s behind
    assert acme("doctor").code == 0


def test_doctor_finds_events_and_invoices_that_go_back_in_time(acme: Seatctl) -> None:
    acme.ok("buy", "acme", "base", "1", "--yes", now="2026-11-20T10:00:00Z")
    acme.ok("buy", "acme", "base", "1", "--yes", now=LATEST)
    assert acme("doctor").code == 0
    conn = sqlite3.connect(acme.db, isolation_level=None)
    try:  # what a seatctl without the clock rule wrote: a later event and invoice dated before earlier ones
        conn.execute("INSERT INTO event (at, operator, action, details) VALUES ('2026-11-15 00:00:00.000000', "
                     "'alice', 'user.add', '{}')")
        conn.execute("INSERT INTO invoice (number, series, year, seq, account_id, kind, issued_at, period_start, "
                     "period_end, currency, subtotal_minor, tax_minor, total_minor) SELECT 'INV-2026-000099', "
                     "series, year, 99, account_id, kind, '2026-11-15 00:00:00.000000', period_start, period_end, "
                     "currency, 0, 0, 0 FROM invoice WHERE seq = 2")
    finally:
        conn.close()
    result = acme("doctor", "--format", "json")
    assert result.code == 4
    row = {r["check"]: r for r in result.json()}["time_runs_forward"]
    assert row["status"] == "FAIL"
    assert "2026-11-15T00:00:00Z" in row["detail"] and "INV-2026-000099" in row["detail"], row

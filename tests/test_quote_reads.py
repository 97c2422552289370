"""`buy --quote` writes nothing, so a viewer may ask for it on PostgreSQL too (where the database's
grants are the boundary), also when the account has an ended period cron has not closed yet: the quote
prices against the account as those closes would leave it (planned by the close's own code, like
`cycle show`), and the purchase made afterwards charges exactly the quoted total.

Before, the quote ran the close first in a transaction it rolled back: a viewer's role, which may
write nothing, got exit 5 on PostgreSQL; on SQLite it took the write lock."""

from __future__ import annotations

import sqlite3

from support import add_account, run_process

DEC5 = "2026-12-05T10:00:00Z"


def due_account(ledger):
    """acme (monthly from 1 Nov) owns 4 'tiered' seats, graduated 10.00 for the first 2, then 5.00; ana
    holds one. At 5 Dec its November period has ended, not closed: the close would keep 1 seat."""
    ledger.ok("licence", "add", "tiered", "--name", "Tiered", "--tiers", "2:10.00,inf:5.00", "--tier-mode",
              "graduated")
    add_account(ledger)
    ledger.ok("buy", "acme", "tiered", "4", "--yes", operator="cron")
    ledger.ok("user", "add", "acme", "ana@example.com")
    ledger.ok("assign", "acme", "ana@example.com", "tiered")
    ledger.now = DEC5
    return ledger


def written(ledger):
    return ledger.json("invoice", "list"), ledger.json("log"), ledger.json("cycle", "show", "acme")


def test_a_viewer_s_quote_on_an_account_due_a_close_writes_nothing_and_is_what_the_purchase_charges(ledger):
    due_account(ledger)
    before = written(ledger)
    assert before[2]["due"] is True
    quote = ledger.json("buy", "acme", "tiered", "2", "--quote", operator="vera")
    assert quote["status"] == "quote" and quote["invoice"] is None
    # After the close, 1 seat owned: seats 2 and 3 cost 10.00 + 5.00 a month, for 27 of December's 31 days.
    assert quote["total"] == "13.06"
    assert written(ledger) == before  # no close, no invoice, no event
    bought = ledger.json("buy", "acme", "tiered", "2", "--yes", operator="cron")
    assert bought["total"] == quote["total"]
    assert ledger("doctor").code == 0


def test_a_quote_does_not_wait_for_the_sqlite_write_lock(ledger, tmp_path):
    due_account(ledger)
    (tmp_path / "seatctl.toml").write_text("busy_timeout = 0.5\n", encoding="utf-8")
    lock = sqlite3.connect(ledger.db, isolation_level=None, timeout=30)
    try:
        lock.execute("BEGIN IMMEDIATE")  # another command writing
        result = run_process(["buy", "acme", "tiered", "2", "--quote", "--format", "json"], ledger.env("vera"))
    finally:
        lock.rollback()
        lock.close()
    assert result.returncode == 0, result.stderr
    assert '"total": "13.06"' in result.stdout

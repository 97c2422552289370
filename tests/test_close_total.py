"""`cycle show` and the close agree for every kind of account (issue 13's four cases, by hand).

Each test reads `cycle show` during the period, then runs the real close at its end and checks the
invoice it writes is the one `cycle show` announced (`close_total`), to the cent."""

from __future__ import annotations

import support
from support import add_account

NOV10 = "2026-11-10T09:00:00Z"
DEC1 = "2026-12-01T00:00:00Z"


def show(ledger, slug, now=NOV10):
    return ledger.json("cycle", "show", slug, now=now)


def close(ledger, slug, now=DEC1):
    return support.close(ledger, now, "--account", slug)


def test_a_plan_account_trims_to_its_included_seats_and_bills_the_fee(ledger):
    ledger.ok("plan", "add", "team", "--name", "Team", "--monthly", "50.00", "--includes", "base=5")
    add_account(ledger, "acme", "--plan", "team")
    ledger.ok("buy", "acme", "base", "2", "--yes")  # 7 seats, none in use
    card = show(ledger, "acme")
    [base] = [s for s in card["seats"] if s["licence"] == "base"]
    assert (base["owned"], base["in_use"], base["minimum"], base["kept"]) == (7, 0, 5, 5)
    assert card["close_total"] == "50.00" and card["renewal_total"] == "50.00"
    [row] = close(ledger, "acme")
    assert (row["seats_cancelled"], row["total"]) == (2, "50.00")


def test_a_discount_account_announces_the_discounted_total(ledger):
    add_account(ledger, "acme", "--discount", "10")
    ledger.ok("user", "add", "acme", "ana@example.com")
    ledger.ok("user", "add", "acme", "ben@example.com")
    ledger.ok("buy", "acme", "voip", "2", "--yes")
    ledger.ok("assign", "acme", "ana@example.com", "voip")
    ledger.ok("assign", "acme", "ben@example.com", "voip")
    card = show(ledger, "acme")
    assert card["renewal_total"] == "10.70"  # 2 × 5.35, before the discount
    assert card["close_total"] == "9.63"  # 10.70 − round(1.07) = 9.63
    [row] = close(ledger, "acme")
    assert row["total"] == "9.63"


def test_a_peak_account_announces_its_usage_in_arrears(ledger):
    ledger.ok("account", "add", "pk", "--name", "Peak", "--mode", "peak", "--anchor", "2026-11-01")
    ledger.ok("user", "add", "pk", "ana@example.com")
    ledger.ok("assign", "pk", "ana@example.com", "base")
    ledger.ok("user", "deactivate", "pk", "ana@example.com", now="2026-11-05T09:00:00Z")  # still counts
    card = show(ledger, "pk")
    [base] = card["seats"]
    assert (base["licence"], base["usage"], base["renewal"]) == ("base", "30.00", "0.00")
    assert card["close_total"] == "30.00"
    [row] = close(ledger, "pk")
    assert row["total"] == "30.00"


def test_a_reseller_announces_its_childrens_lines(ledger):
    ledger.ok("account", "add", "resell", "--name", "Reseller", "--anchor", "2026-11-01")
    ledger.ok("account", "add", "shop", "--name", "Shop", "--parent", "resell", "--billed-via-parent")
    ledger.ok("user", "add", "shop", "ana@example.com")
    ledger.ok("buy", "shop", "voip", "1", "--yes")
    ledger.ok("assign", "shop", "ana@example.com", "voip")
    assert show(ledger, "resell")["close_total"] == "5.35"
    child = show(ledger, "shop")
    assert (child["invoiced_to"], child["close_total"], child["renewal_total"]) == ("resell", "5.35", "5.35")
    [row] = close(ledger, "resell")
    assert (row["account"], row["total"]) == ("resell", "5.35")


def test_tax_is_in_the_announced_total(ledger):
    ledger.ok("settings", "set", "tax_rate", "21")
    add_account(ledger, "acme", "--min", "voip=1")
    assert show(ledger, "acme")["close_total"] == "6.47"  # 5.35 + round(1.1235)
    [row] = close(ledger, "acme")
    assert row["total"] == "6.47"


def test_periods_ended_but_not_closed_are_announced_with_their_totals(ledger):
    """cron has not run: `cycle show` lists what the next close will bill for each ended period, and
    shows the period that holds now."""
    add_account(ledger, "acme", "--min", "voip=1")
    ledger.ok("buy", "acme", "voip", "2", "--yes")  # 3 seats, none used: the close keeps 1
    card = show(ledger, "acme", now="2027-01-15T09:00:00Z")
    assert card["due"] is True
    assert card["due_periods"] == [
        {"period_start": "2026-11-01", "period_end": "2026-12-01", "seats_cancelled": 2, "invoice_total": "5.35"},
        {"period_start": "2026-12-01", "period_end": "2027-01-01", "seats_cancelled": 0, "invoice_total": "5.35"},
    ]
    assert (card["period_start"], card["period_end"], card["close_total"]) == ("2027-01-01", "2027-02-01", "5.35")
    rows = ledger.json("cycle", "close", now="2027-01-15T09:00:00Z", operator="cron")
    assert [(r["period_start"], r["seats_cancelled"], r["total"]) for r in rows] == [
        ("2026-11-01", 2, "5.35"), ("2026-12-01", 0, "5.35")]
    after = show(ledger, "acme", now="2027-01-15T09:05:00Z")
    assert (after["due"], after["due_periods"], after["close_total"]) == (False, [], "5.35")


def test_a_closing_account_announces_its_last_bill_and_no_next_period(ledger):
    ledger.ok("account", "add", "pk", "--name", "Peak", "--mode", "peak", "--anchor", "2026-11-01")
    ledger.ok("user", "add", "pk", "ana@example.com")
    ledger.ok("assign", "pk", "ana@example.com", "voip")
    ledger.ok("account", "close", "pk")
    card = show(ledger, "pk")
    assert (card["closed"], card["next_period_start"], card["close_total"]) == (False, None, "5.35")
    [row] = close(ledger, "pk")
    assert row["total"] == "5.35"
    after = show(ledger, "pk", now="2026-12-02T09:00:00Z")
    assert (after["closed"], after["close_total"], after["seats"]) == (True, "0.00", [])


def test_the_table_shows_the_due_periods_and_the_licence_rows(ledger):
    add_account(ledger, "acme", "--min", "voip=1")
    out = ledger.ok("cycle", "show", "acme", "--format", "plain", now="2026-12-05T09:00:00Z").out
    assert "ended, not closed yet" in out
    assert "close_total" in out and "5.35" in out
    assert "licence    owned    in_use    minimum    kept    renewal    usage" in out


def test_a_closed_account_has_no_minimum_after_its_last_close_and_leaves_status(ledger):
    """SPEC §5 closed: the last close releases and cancels everything and the account has no minimum
    any more; `status` shows no row for it once nothing is owned, held or pending (issue 14, item 3)."""
    add_account(ledger, "acme", "--min", "base=3")
    ledger.ok("account", "close", "acme")
    assert ledger.json("account", "show", "acme")["minimums"] == {"base": 3}  # until its period ends
    [row] = close(ledger, "acme")
    assert (row["seats_cancelled"], row["invoice"]) == (3, None)
    assert ledger.json("status", "acme", now="2026-12-02T09:00:00Z") == []
    assert ledger.json("account", "show", "acme", now="2026-12-02T09:00:00Z")["minimums"] == {}
    doctor = ledger.json("doctor", now="2026-12-02T09:00:00Z")
    assert all(check["status"] == "ok" for check in doctor)

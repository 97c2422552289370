"""Cycle close through the CLI: trimming, renewals, catch-up, cycle changes, dry runs, zero bills, credit notes."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import partial

import support
from support import add_account, close, give, standard_ledger

CLOSE_KEYS = {"account", "period_start", "period_end", "seats_cancelled", "invoice", "total"}
DEC1 = "2026-12-01T00:00:00Z"
JAN1 = "2027-01-01T00:00:00Z"

# Accounts are added and seats given at the ledger's own clock (1 Nov 2026 09:00, support.START), and
# this module reads the ledger on 1 Dec, unless a test says otherwise.
status = partial(support.status, now=DEC1)
invoices = partial(support.invoices, now=DEC1)
show = partial(support.show_invoice, now=DEC1)


# --- trimming ---------------------------------------------------------------------------------

def test_close_trims_free_seats_down_to_the_seats_in_use(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "5", "--yes")
    give(ledger, "acme", 3)
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (2, "90.00")
    base = status(ledger)["base"]
    assert (base["in_use"], base["free"], base["total"]) == (3, 0, 3)


def test_close_never_trims_below_the_minimum(ledger):
    add_account(ledger, "acme", "--min", "base=4")
    ledger.ok("buy", "acme", "base", "2", "--yes")
    give(ledger, "acme", 1)
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (2, "120.00")
    base = status(ledger)["base"]
    assert (base["in_use"], base["free"], base["total"], base["minimum"]) == (1, 3, 4, 4)


def test_close_keeps_in_use_seats_above_the_minimum(ledger):
    add_account(ledger, "acme", "--min", "base=1")
    ledger.ok("buy", "acme", "base", "3", "--yes")
    give(ledger, "acme", 3)
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (1, "90.00")
    assert status(ledger)["base"]["total"] == 3


def test_a_lowered_minimum_waits_for_the_close_then_trims(ledger):
    add_account(ledger, "acme", "--min", "base=4")
    give(ledger, "acme", 1)
    ledger.ok("account", "set-min", "acme", "base=2", now="2026-11-10T09:00:00Z")
    assert status(ledger, now="2026-11-10T09:00:00Z")["base"]["total"] == 4
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (2, "60.00")
    base = status(ledger)["base"]
    assert (base["total"], base["minimum"]) == (2, 2)


def test_one_renewal_invoice_holds_every_licence_type(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes")
    ledger.ok("buy", "acme", "voip", "3", "--yes")
    give(ledger, "acme", 2, "base")
    give(ledger, "acme", 3, "voip", start=10)
    [row] = close(ledger, DEC1)
    assert row["total"] == "76.05"
    inv = show(ledger, row["invoice"])
    assert inv["kind"] == "renewal"
    assert [(line["licence"], line["quantity"], line["amount"]) for line in inv["lines"]] == [
        ("base", 2, "60.00"), ("voip", 3, "16.05")]
    assert [i["kind"] for i in invoices(ledger, "--kind", "renewal")] == ["renewal"]


# --- in use at the period end ------------------------------------------------------------------

def test_a_seat_released_after_the_period_end_is_still_renewed(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "3", "--yes")
    give(ledger, "acme", 2)
    ledger.ok("release", "acme", "u0@acme.io", "base", now="2026-12-01T03:00:00Z", operator="olivia")
    assert close(ledger, "2026-12-01T04:00:00Z") == []  # the release already closed the period
    [renewal] = invoices(ledger, "--kind", "renewal")
    assert (renewal["period_start"], renewal["period_end"], renewal["total"]) == ("2026-12-01", "2027-01-01", "60.00")
    base = status(ledger)["base"]
    assert (base["in_use"], base["free"], base["total"]) == (1, 1, 2)


def test_the_close_a_release_triggers_is_logged_as_automatic_under_the_releasing_operator(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "3", "--yes")
    give(ledger, "acme", 2)
    ledger.ok("release", "acme", "u0@acme.io", "base", now="2026-12-01T03:00:00Z", operator="olivia")
    closes = [e for e in ledger.json("log", "--account", "acme", now=DEC1) if e["action"] == "cycle.close"]
    assert len(closes) == 1
    assert closes[0]["operator"] == "olivia"
    assert closes[0]["details"]["automatic"] is True
    assert closes[0]["details"]["seats_cancelled"] == 1


def test_a_seat_released_before_the_period_end_is_trimmed(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "3", "--yes")
    give(ledger, "acme", 2)
    ledger.ok("release", "acme", "u0@acme.io", "base", now="2026-11-30T23:59:00Z")
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (2, "30.00")


def test_a_close_run_late_bills_the_seats_in_use_at_the_period_end(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "3", "--yes")
    give(ledger, "acme", 3)
    [row] = close(ledger, "2026-12-05T02:00:00Z")
    assert (row["period_start"], row["period_end"], row["seats_cancelled"], row["total"]) == (
        "2026-11-01", "2026-12-01", 0, "90.00")


def test_seats_bought_after_the_period_end_are_not_billed_twice(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes")
    give(ledger, "acme", 2)
    bought = ledger.json("buy", "acme", "base", "1", "--yes", now="2026-12-16T10:00:00Z")
    assert bought["total"] == "15.48"  # 30.00 × 16/31, December's days left
    give(ledger, "acme", 1, now="2026-12-16T10:00:00Z", start=5)
    assert close(ledger, "2026-12-20T00:00:00Z") == []
    [dec] = [i for i in invoices(ledger, now=JAN1) if i["kind"] == "renewal"]
    assert (dec["period_start"], dec["total"]) == ("2026-12-01", "60.00")
    assert [line["quantity"] for line in show(ledger, dec["number"])["lines"]] == [2]
    [row] = close(ledger, JAN1)
    assert row["total"] == "90.00"
    december = [Decimal(i["total"]) for i in invoices(ledger, now=JAN1)
                if "2026-12-01" <= i["period_start"] and i["period_end"] == "2027-01-01"]
    assert sum(december) == Decimal("75.48")  # renewal of 2 seats + the prorated third, nothing more


# --- catch-up, annual cycles, leap years ----------------------------------------------------------

def test_catch_up_closes_three_missed_periods_oldest_first_with_anchor_31(ledger):
    ledger.ok("account", "add", "acme", "--name", "Acme", now="2027-01-31T09:00:00Z")
    ledger.ok("buy", "acme", "base", "2", "--yes", now="2027-01-31T09:00:00Z")
    give(ledger, "acme", 1, now="2027-01-31T09:00:00Z")
    rows = close(ledger, "2027-05-01T04:00:00Z")
    assert [(r["period_start"], r["period_end"]) for r in rows] == [
        ("2027-01-31", "2027-02-28"), ("2027-02-28", "2027-03-31"), ("2027-03-31", "2027-04-30")]
    assert [r["seats_cancelled"] for r in rows] == [1, 0, 0]
    assert [r["total"] for r in rows] == ["30.00", "30.00", "30.00"]
    renewals = invoices(ledger, "--kind", "renewal", now="2027-05-01T04:00:00Z")
    assert [(i["number"], i["period_start"], i["period_end"]) for i in renewals] == [
        (rows[0]["invoice"], "2027-02-28", "2027-03-31"),
        (rows[1]["invoice"], "2027-03-31", "2027-04-30"),
        (rows[2]["invoice"], "2027-04-30", "2027-05-31")]
    cycle = ledger.json("cycle", "show", "acme", now="2027-05-01T04:00:00Z")
    assert (cycle["period_start"], cycle["period_end"]) == ("2027-04-30", "2027-05-31")


def test_an_annual_cycle_renews_a_year_ahead_at_the_annual_price(ledger):
    add_account(ledger, "acme", "--cycle", "annual")
    assert ledger.json("buy", "acme", "base", "2", "--yes")["total"] == "600.00"
    give(ledger, "acme", 2)
    assert close(ledger, "2027-10-31T23:59:59Z") == []
    [row] = close(ledger, "2027-11-01T00:00:00Z")
    assert (row["period_start"], row["period_end"], row["total"]) == ("2026-11-01", "2027-11-01", "600.00")
    [line] = show(ledger, row["invoice"], now="2027-11-01T00:00:00Z")["lines"]
    assert (line["period_start"], line["period_end"], line["days"], line["unit_price"]) == (
        "2027-11-01", "2028-11-01", 366, "300.00")


def test_an_annual_cycle_from_feb_29_prorates_on_365_days_and_renews_on_feb_28(ledger):
    created = "2028-02-29T09:00:00Z"
    ledger.ok("account", "add", "leap", "--name", "Leap", "--cycle", "annual", now=created)
    cycle = ledger.json("cycle", "show", "leap", now=created)
    assert (cycle["period_start"], cycle["period_end"], cycle["days"]) == ("2028-02-29", "2029-02-28", 365)
    bought = ledger.json("buy", "leap", "base", "1", "--yes", now="2028-08-29T09:00:00Z")
    assert bought["total"] == "150.41"  # 300.00 × 183/365
    give(ledger, "leap", 1, now="2028-08-29T09:00:00Z")
    [row] = close(ledger, "2029-02-28T00:00:00Z")
    assert (row["period_start"], row["period_end"], row["total"]) == ("2028-02-29", "2029-02-28", "300.00")
    renewal = show(ledger, row["invoice"], now="2029-02-28T00:00:00Z")
    assert (renewal["period_start"], renewal["period_end"]) == ("2029-02-28", "2030-02-28")


def test_a_monthly_to_annual_change_waits_for_the_boundary(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes")
    give(ledger, "acme", 2)
    ledger.ok("account", "set", "acme", "--cycle", "annual", now="2026-11-10T09:00:00Z")
    shown = ledger.json("account", "show", "acme", now="2026-11-10T09:00:00Z")
    assert (shown["cycle"], shown["pending"]) == ("monthly", {"cycle": "annual"})
    bought = ledger.json("buy", "acme", "base", "1", "--yes", now="2026-11-16T10:00:00Z")
    assert bought["total"] == "15.00"  # still the monthly price, 15 of 30 days
    give(ledger, "acme", 1, now="2026-11-16T10:00:00Z", start=5)
    assert close(ledger, "2026-11-30T23:59:59Z") == []
    assert ledger.json("account", "show", "acme", now="2026-11-30T23:59:59Z")["cycle"] == "monthly"


def test_a_monthly_to_annual_change_renews_a_year_at_the_annual_price(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes")
    give(ledger, "acme", 2)
    ledger.ok("account", "set", "acme", "--cycle", "annual", now="2026-11-10T09:00:00Z")
    [row] = close(ledger, DEC1)
    assert (row["period_start"], row["period_end"], row["total"]) == ("2026-11-01", "2026-12-01", "600.00")
    [line] = show(ledger, row["invoice"])["lines"]
    assert (line["quantity"], line["unit_price"], line["period_start"], line["period_end"], line["amount"]) == (
        2, "300.00", "2026-12-01", "2027-12-01", "600.00")
    shown = ledger.json("account", "show", "acme", now=DEC1)
    assert (shown["cycle"], shown["pending"]) == ("annual", None)
    cycle = ledger.json("cycle", "show", "acme", now=DEC1)
    assert (cycle["period_start"], cycle["period_end"]) == ("2026-12-01", "2027-12-01")
    assert close(ledger, JAN1) == []


def test_a_cycle_change_makes_the_boundary_the_new_anchor(ledger):
    add_account(ledger, "acme", anchor="2026-10-15")
    ledger.ok("buy", "acme", "base", "1", "--yes")
    give(ledger, "acme", 1)
    ledger.ok("account", "set", "acme", "--cycle", "annual")
    [row] = close(ledger, "2026-11-15T00:00:00Z")
    renewal = show(ledger, row["invoice"], now="2026-11-15T00:00:00Z")
    assert (renewal["period_start"], renewal["period_end"], renewal["total"]) == ("2026-11-15", "2027-11-15", "300.00")


# --- reruns, dry runs, zero bills -------------------------------------------------------------

def test_a_second_close_run_finds_nothing_due(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "1", "--yes")
    give(ledger, "acme", 1)
    assert len(close(ledger, DEC1)) == 1
    assert close(ledger, DEC1) == []
    again = ledger("cycle", "close", now="2026-12-01T06:00:00Z", operator="cron")
    assert again.code == 0
    assert "nothing due" in again.out.lower()
    assert len(invoices(ledger, "--kind", "renewal")) == 1


def test_dry_run_shows_the_rows_of_the_real_run_and_writes_nothing(ledger):
    add_account(ledger)
    add_account(ledger, "bolt")
    ledger.ok("buy", "acme", "base", "3", "--yes")
    ledger.ok("buy", "bolt", "voip", "2", "--yes")
    give(ledger, "acme", 2)
    before = (invoices(ledger), ledger.json("status", now=DEC1), len(ledger.json("log", now=DEC1)))
    dry = close(ledger, DEC1, "--dry-run")
    assert [(r["account"], r["seats_cancelled"]) for r in dry] == [("acme", 1), ("bolt", 2)]
    assert (invoices(ledger), ledger.json("status", now=DEC1), len(ledger.json("log", now=DEC1))) == before
    assert close(ledger, DEC1) == dry


def test_dry_run_after_the_real_run_shows_nothing_due(ledger):
    add_account(ledger)
    close(ledger, DEC1)
    assert close(ledger, DEC1, "--dry-run") == []


def test_a_period_with_nothing_kept_closes_without_an_invoice(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes")
    [row] = close(ledger, DEC1)
    assert row == {"account": "acme", "period_start": "2026-11-01", "period_end": "2026-12-01",
                   "seats_cancelled": 2, "invoice": None, "total": "0.00"}
    assert [i["kind"] for i in invoices(ledger)] == ["purchase"]
    assert close(ledger, DEC1) == []
    assert "base" not in status(ledger)


def test_an_account_without_seats_still_closes_its_period(ledger):
    add_account(ledger, "empty")
    rows = close(ledger, JAN1)
    assert [(r["period_start"], r["invoice"], r["total"]) for r in rows] == [
        ("2026-11-01", None, "0.00"), ("2026-12-01", None, "0.00")]
    assert invoices(ledger, now=JAN1) == []


def test_close_json_rows_have_exactly_the_documented_keys(ledger):
    add_account(ledger)
    add_account(ledger, "empty")
    ledger.ok("buy", "acme", "base", "1", "--yes")
    give(ledger, "acme", 1)
    rows = close(ledger, DEC1)
    assert [set(r) for r in rows] == [CLOSE_KEYS, CLOSE_KEYS]
    acme, empty = rows
    assert acme == {"account": "acme", "period_start": "2026-11-01", "period_end": "2026-12-01",
                    "seats_cancelled": 0, "invoice": acme["invoice"], "total": "30.00"}
    assert re.fullmatch(r"INV-2026-\d{6}", acme["invoice"])
    assert empty["invoice"] is None and empty["total"] == "0.00"


def test_close_in_the_accounts_time_zone(ledger):
    add_account(ledger, "madrid", "--timezone", "Europe/Madrid")
    ledger.ok("buy", "madrid", "base", "1", "--yes")
    give(ledger, "madrid", 1)
    assert close(ledger, "2026-11-30T22:59:59Z") == []  # 23:59:59 in Madrid
    [row] = close(ledger, "2026-11-30T23:00:00Z")  # midnight in Madrid
    assert (row["period_start"], row["period_end"], row["total"]) == ("2026-11-01", "2026-12-01", "30.00")


def test_cycle_close_needs_the_billing_role(ledger):
    add_account(ledger)
    result = ledger("cycle", "close", now=DEC1, operator="olivia")
    assert result.code == 5
    assert result.err.startswith("error: ")
    assert close(ledger, DEC1, "--dry-run")[0]["account"] == "acme"  # nothing was closed


# --- credit notes ---------------------------------------------------------------------------

def test_void_writes_a_credit_note_and_leaves_the_invoice_unchanged(ledger):
    add_account(ledger)
    bought = ledger.json("buy", "acme", "base", "5", "--yes")
    number = bought["invoice"]
    original = show(ledger, number)
    credit = ledger.json("invoice", "void", number, "--reason", "sold in error", now="2026-11-02T09:00:00Z")
    assert credit["number"] == "CN-2026-000001"
    assert (credit["kind"], credit["total"]) == ("credit", "-150.00")
    after = show(ledger, number)
    assert {k: v for k, v in after.items() if k != "voided_by"} == {
        k: v for k, v in original.items() if k != "voided_by"}
    note = show(ledger, "CN-2026-000001")
    assert [line["amount"] for line in note["lines"]] == ["-150.00"]
    assert [i["number"] for i in invoices(ledger, "--kind", "credit")] == ["CN-2026-000001"]


def test_voiding_twice_is_refused(ledger):
    add_account(ledger)
    number = ledger.json("buy", "acme", "base", "1", "--yes")["invoice"]
    ledger.ok("invoice", "void", number, "--reason", "duplicate")
    again = ledger("invoice", "void", number, "--reason", "duplicate")
    assert again.code == 4
    assert again.err.startswith("error: ") and "Traceback" not in again.err
    assert [i["number"] for i in invoices(ledger, "--kind", "credit")] == ["CN-2026-000001"]


def test_a_credit_note_cannot_be_voided(ledger):
    add_account(ledger)
    number = ledger.json("buy", "acme", "base", "1", "--yes")["invoice"]
    ledger.ok("invoice", "void", number, "--reason", "wrong")
    assert ledger("invoice", "void", "CN-2026-000001", "--reason", "again").code == 4


def test_voiding_a_renewal_credits_its_total(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "voip", "3", "--yes")
    give(ledger, "acme", 3, "voip")
    [row] = close(ledger, DEC1)
    credit = ledger.json("invoice", "void", row["invoice"], "--reason", "goodwill", now=DEC1)
    assert credit["total"] == "-16.05"
    assert show(ledger, row["invoice"])["total"] == "16.05"


# --- invoice arithmetic -----------------------------------------------------------------------

def test_invoice_lines_sum_to_the_invoice_total(ledger):
    ledger.ok("licence", "add", "seat10", "--name", "Ten", "--monthly", "10.00")
    add_account(ledger)
    add_account(ledger, "disc", "--discount", "12.5")
    for slug in ("acme", "disc"):  # the clock only moves forward: each day's purchases for both accounts
        ledger.ok("buy", slug, "voip", "1", "--yes", now="2026-11-16T10:00:00Z")
    for slug in ("acme", "disc"):
        ledger.ok("buy", slug, "seat10", "3", "--yes", now="2026-11-21T10:00:00Z")
    for slug in ("acme", "disc"):
        ledger.ok("buy", slug, "messaging", "7", "--yes", now="2026-11-23T10:00:00Z")
        give(ledger, slug, 1, "voip", now="2026-11-23T10:00:00Z")
        give(ledger, slug, 2, "seat10", now="2026-11-23T10:00:00Z", start=10)
        give(ledger, slug, 5, "messaging", now="2026-11-23T10:00:00Z", start=20)
    ledger.ok("settings", "set", "tax_rate", "21", now="2026-11-27T10:00:00Z")
    ledger.ok("buy", "disc", "gsm", "1", "--yes", now="2026-11-27T10:00:00Z")
    close(ledger, DEC1)
    listed = invoices(ledger)
    assert len(listed) == 9
    for inv in listed:
        full = show(ledger, inv["number"])
        assert sum(Decimal(line["amount"]) for line in full["lines"]) == Decimal(full["total"]), inv["number"]
        assert Decimal(full["subtotal"]) + Decimal(full["tax"]) == Decimal(full["total"])


def test_purchase_lines_round_once_per_line(ledger):
    ledger.ok("licence", "add", "seat10", "--name", "Ten", "--monthly", "10.00")
    add_account(ledger)
    assert ledger.json("buy", "acme", "voip", "1", "--yes", now="2026-11-16T10:00:00Z")["total"] == "2.68"
    bought = ledger.json("buy", "acme", "seat10", "3", "--yes", now="2026-11-21T10:00:00Z")
    assert bought["total"] == "10.00"  # 3 × 10.00 × 10/30, not 3 × 3.33
    [line] = show(ledger, bought["invoice"])["lines"]
    assert (line["quantity"], line["days"], line["period_days"], line["amount"]) == (3, 10, 30, "10.00")


def test_discount_and_tax_lines_on_a_purchase(ledger):
    add_account(ledger, "disc", "--discount", "12.5")
    ledger.ok("settings", "set", "tax_rate", "21")
    bought = ledger.json("buy", "disc", "voip", "1", "--yes", now="2026-11-16T10:00:00Z")
    inv = show(ledger, bought["invoice"])
    assert [(line["licence"], line["amount"]) for line in inv["lines"]] == [
        ("voip", "2.68"), (None, "-0.34"), (None, "0.49")]
    assert (inv["subtotal"], inv["tax"], inv["total"]) == ("2.34", "0.49", "2.83")


# --- cycle show -------------------------------------------------------------------------------

def test_cycle_show_gives_the_current_period_and_days_left(ledger):
    add_account(ledger)
    cycle = ledger.json("cycle", "show", "acme", now="2026-11-10T09:00:00Z")
    assert (cycle["period_start"], cycle["period_end"], cycle["days_left"]) == ("2026-11-01", "2026-12-01", 21)


def test_cycle_show_counts_days_left_on_the_accounts_calendar(ledger):
    add_account(ledger, "madrid", "--timezone", "Europe/Madrid")
    cycle = ledger.json("cycle", "show", "madrid", now="2026-11-09T23:30:00Z")  # 10 Nov 00:30 in Madrid
    assert cycle["days_left"] == 21


def test_cycle_show_after_a_close_shows_the_new_period(ledger):
    add_account(ledger)
    close(ledger, DEC1)
    cycle = ledger.json("cycle", "show", "acme", now="2026-12-01T12:00:00Z")
    assert (cycle["period_start"], cycle["period_end"], cycle["days_left"]) == ("2026-12-01", "2027-01-01", 31)


# --- more boundaries ----------------------------------------------------------------------------

def test_an_anchor_change_renews_a_short_period_prorated_by_days(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "2", "--yes")
    give(ledger, "acme", 2)
    close(ledger, DEC1)
    ledger.ok("account", "set", "acme", "--anchor", "2027-01-16", now="2026-12-10T09:00:00Z")
    assert ledger.json("account", "show", "acme", now="2026-12-10T09:00:00Z")["pending"] == {"anchor": "2027-01-16"}
    [row] = close(ledger, JAN1)
    [line] = show(ledger, row["invoice"], now=JAN1)["lines"]
    assert (line["period_start"], line["period_end"], line["days"]) == ("2027-01-01", "2027-01-16", 15)
    assert row["total"] == "29.03"  # 2 × 30.00 × 15/31


def test_after_an_anchor_change_periods_follow_the_new_anchor(ledger):
    add_account(ledger)
    ledger.ok("account", "set", "acme", "--anchor", "2027-01-16", now="2026-11-10T09:00:00Z")
    rows = close(ledger, "2027-01-20T00:00:00Z")
    assert [(r["period_start"], r["period_end"]) for r in rows] == [
        ("2026-11-01", "2026-12-01"), ("2026-12-01", "2026-12-16"), ("2026-12-16", "2027-01-16")]


def test_setting_the_current_cycle_again_cancels_a_pending_change(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "1", "--yes")
    give(ledger, "acme", 1)
    ledger.ok("account", "set", "acme", "--cycle", "annual")
    ledger.ok("account", "set", "acme", "--cycle", "monthly")
    assert ledger.json("account", "show", "acme")["pending"] is None
    [row] = close(ledger, DEC1)
    assert row["total"] == "30.00"
    assert show(ledger, row["invoice"])["period_end"] == "2027-01-01"


def test_a_cycle_change_is_refused_while_seats_have_no_price_for_it(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "voip", "1", "--yes")
    result = ledger("account", "set", "acme", "--cycle", "annual")
    assert result.code == 4
    assert "voip" in result.err
    assert ledger.json("account", "show", "acme")["pending"] is None


def test_a_price_change_applies_from_the_next_period(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "1", "--yes")
    give(ledger, "acme", 1)
    ledger.ok("licence", "set-price", "base", "--monthly", "40.00", now="2026-11-10T09:00:00Z")
    assert ledger.json("buy", "acme", "base", "1", "--yes", now="2026-11-16T10:00:00Z")["total"] == "15.00"
    give(ledger, "acme", 1, now="2026-11-16T10:00:00Z", start=7)
    [row] = close(ledger, DEC1)
    assert row["total"] == "80.00"


def test_a_late_close_prices_the_renewal_as_of_the_period_start(ledger):
    add_account(ledger, "acme", "--min", "base=1")
    ledger.ok("licence", "set-price", "base", "--monthly", "40.00", now="2026-12-10T09:00:00Z")
    [row] = close(ledger, "2026-12-15T00:00:00Z")  # cron was down; the price changed after the period end
    assert row["total"] == "30.00"
    [jan] = close(ledger, JAN1)
    assert jan["total"] == "40.00"


def test_a_trial_period_closes_with_a_zero_bill(ledger):
    add_account(ledger, "tri", "--trial")
    ledger.ok("buy", "tri", "base", "2", "--yes")
    give(ledger, "tri", 1)
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["invoice"], row["total"]) == (1, None, "0.00")
    assert invoices(ledger) == []


def test_a_peak_account_is_billed_in_arrears_for_its_high_water_mark(ledger):
    add_account(ledger, "pk", "--mode", "peak")
    give(ledger, "pk", 3, now="2026-11-05T10:00:00Z")
    for i in (0, 1):
        ledger.ok("release", "pk", f"u{i}@pk.io", "base", now="2026-11-10T10:00:00Z")
    [row] = close(ledger, DEC1)
    assert row["total"] == "90.00"
    inv = show(ledger, row["invoice"])
    assert (inv["kind"], inv["period_start"], inv["period_end"]) == ("usage", "2026-11-01", "2026-12-01")
    [dec] = close(ledger, JAN1)
    assert dec["total"] == "30.00"


def test_close_at_local_midnight_after_a_dst_change(cli):
    cli.now = "2026-03-01T00:00:00Z"  # a ledger begun before March: its clock never runs backwards
    ledger = standard_ledger(cli)
    ledger.ok("account", "add", "madrid", "--name", "Madrid", "--anchor", "2026-03-01", "--timezone", "Europe/Madrid",
              now="2026-03-10T09:00:00Z")
    ledger.ok("buy", "madrid", "base", "1", "--yes", now="2026-03-10T09:00:00Z")
    give(ledger, "madrid", 1, now="2026-03-10T09:00:00Z")
    assert close(ledger, "2026-03-31T21:59:59Z") == []  # 23:59:59 CEST
    [row] = close(ledger, "2026-03-31T22:00:00Z")  # 1 Apr 00:00 CEST
    assert (row["period_start"], row["period_end"], row["total"]) == ("2026-03-01", "2026-04-01", "30.00")


def test_a_purchase_counts_days_left_from_the_local_date(ledger):
    add_account(ledger, "madrid", "--timezone", "Europe/Madrid")
    bought = ledger.json("buy", "madrid", "base", "1", "--yes", now="2026-11-15T23:30:00Z")  # 16 Nov in Madrid
    assert bought["total"] == "15.00"


def test_a_renewal_issued_in_a_new_year_starts_that_years_series(ledger):
    add_account(ledger)
    ledger.ok("buy", "acme", "base", "1", "--yes")
    give(ledger, "acme", 1)
    close(ledger, DEC1)
    [row] = close(ledger, JAN1)
    assert row["invoice"] == "INV-2027-000001"


def test_a_peak_account_switching_to_annual_bills_the_ended_month_at_the_monthly_price(ledger):
    add_account(ledger, "pk", "--mode", "peak")
    give(ledger, "pk", 2)
    ledger.ok("account", "set", "pk", "--cycle", "annual", now="2026-11-10T09:00:00Z")
    [row] = close(ledger, DEC1)
    assert row["total"] == "60.00"
    inv = show(ledger, row["invoice"])
    assert (inv["kind"], inv["period_start"], inv["period_end"]) == ("usage", "2026-11-01", "2026-12-01")
    cycle = ledger.json("cycle", "show", "pk", now=DEC1)
    assert (cycle["cycle"], cycle["period_start"], cycle["period_end"]) == ("annual", "2026-12-01", "2027-12-01")


def test_a_child_billed_via_its_parent_is_closed_on_the_parents_invoice(ledger):
    add_account(ledger, "acme", "--min", "base=1")
    ledger.ok("account", "add", "site", "--name", "Site", "--parent", "acme", "--billed-via-parent",
              "--min", "voip=2")
    [row] = close(ledger, DEC1)
    assert (row["account"], row["total"]) == ("acme", "40.70")
    lines = show(ledger, row["invoice"])["lines"]
    assert [(line["account"], line["licence"], line["amount"]) for line in lines] == [
        ("acme", "base", "30.00"), ("site", "voip", "10.70")]
    assert [i["account"] for i in invoices(ledger, "--kind", "renewal")] == ["acme"]


def test_the_last_close_of_a_closed_account_cancels_its_seats_and_renews_nothing(ledger):
    add_account(ledger, "clo", "--min", "base=2")
    ledger.ok("account", "close", "clo", now="2026-11-10T09:00:00Z")
    [row] = close(ledger, DEC1)
    assert (row["account"], row["seats_cancelled"], row["invoice"], row["total"]) == ("clo", 2, None, "0.00")
    assert close(ledger, "2027-03-01T00:00:00Z") == []
    assert [i["kind"] for i in invoices(ledger)] == ["purchase"]


def test_invoice_year_follows_the_ledgers_time_zone(cli):
    cli.ok("init", "--currency", "EUR", "--timezone", "Europe/Madrid", now="2026-12-01T09:00:00Z")
    cli.ok("operator", "add", "cron", "--role", "billing", now="2026-12-01T09:00:00Z")
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00", now="2026-12-01T09:00:00Z")
    cli.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2026-12-01", "--min", "base=1",
           now="2026-12-01T09:00:00Z")
    [row] = close(cli, "2026-12-31T23:00:00Z")  # already 1 Jan 2027 in Madrid
    assert row["invoice"] == "INV-2027-000001"


def test_a_jpy_renewal_is_rounded_to_whole_yen(cli):
    cli.ok("init", "--currency", "JPY", "--timezone", "UTC")
    cli.ok("operator", "add", "cron", "--role", "billing")
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "3000")
    add_account(cli, "j", "--min", "base=1")
    assert cli.json("buy", "j", "base", "1", "--yes", now="2026-11-16T10:00:00Z")["total"] == "1500"
    [row] = close(cli, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (1, "3000")

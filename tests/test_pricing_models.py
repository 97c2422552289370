"""Pricing models through the CLI: volume and graduated tiers, blocks, price changes, discounts,
peak billing, account status (trial, suspended, closed) and resellers billed for their children."""

from __future__ import annotations

from functools import partial

import support
from support import add_account, close, give

NOV1 = "2026-11-01T09:00:00Z"  # the fixtures' own clock: accounts are created and seats given then
NOV16 = "2026-11-16T10:00:00Z"
DEC1 = "2026-12-01T02:00:00Z"
JAN1 = "2027-01-01T02:00:00Z"

TIERS = "5:7.00,10:6.50+5,inf:6.00"  # volume: 7q | 6.5q+5 | 6q; graduated: 7q | 40+6.5(q-5) | 72.5+6(q-10)

# This module reads status on 1 Dec, invoices on 1 Jan 2027 and the invoice list in 2028, unless a test
# says otherwise.
status = partial(support.status, now=DEC1)
show = partial(support.show_invoice, now=JAN1)
invoices = partial(support.invoices, now="2028-01-01T00:00:00Z")


def add_tiered(ledger, code, mode, tiers=TIERS, *extra):
    ledger.ok("licence", "add", code, "--name", code.upper(), "--tiers", tiers, "--tier-mode", mode, *extra)


def buy(ledger, slug, code, qty, now=NOV1):
    return ledger.json("buy", slug, code, str(qty), "--yes", now=now)


def seat_lines(invoice):
    return [(line["licence"], line["quantity"], line["unit_price"], line["amount"])
            for line in invoice["lines"] if line["licence"] is not None]


# --- tiers ------------------------------------------------------------------------------------

def test_volume_tiers_price_purchases_at_and_across_boundaries(ledger):
    add_tiered(ledger, "tv", "volume")
    add_account(ledger)
    first = buy(ledger, "acme", "tv", 5)  # at the first boundary: 5 × 7.00
    assert (first["total"], first["quantity"]) == ("35.00", 5)
    assert seat_lines(show(ledger, first["invoice"])) == [("tv", 5, "7.00", "35.00")]
    across = buy(ledger, "acme", "tv", 1)  # 6 × 6.50 + 5 − 35.00, on the period's first day
    assert across["total"] == "9.00"
    assert seat_lines(show(ledger, across["invoice"])) == [("tv", 1, "9.00", "9.00")]
    later = buy(ledger, "acme", "tv", 4, now=NOV16)  # (70.00 − 44.00) × 15/30
    assert later["total"] == "13.00"
    inv = show(ledger, later["invoice"])
    assert seat_lines(inv) == [("tv", 4, "6.50", "13.00")]
    assert (inv["kind"], inv["period_start"], inv["period_end"]) == ("purchase", "2026-11-16", "2026-12-01")


def test_a_volume_tier_that_lowers_the_total_charges_nothing_and_writes_no_invoice(ledger):
    add_tiered(ledger, "tv", "volume")
    add_account(ledger)
    buy(ledger, "acme", "tv", 10)  # 70.00
    assert ledger.json("buy", "acme", "tv", "1", "--quote", now=NOV16)["total"] == "0.00"
    cheaper = buy(ledger, "acme", "tv", 1, now=NOV16)  # price(11) = 66.00 < price(10) = 70.00
    assert (cheaper["status"], cheaper["invoice"], cheaper["total"]) == ("confirmed", None, "0.00")
    assert status(ledger, now=NOV16)["tv"]["total"] == 11
    assert [i["total"] for i in invoices(ledger, "--account", "acme")] == ["70.00"]


def test_graduated_tiers_with_flat_amounts_price_each_unit_in_its_own_tier(ledger):
    add_tiered(ledger, "tg", "graduated")
    add_account(ledger)
    assert buy(ledger, "acme", "tg", 5)["total"] == "35.00"
    across = buy(ledger, "acme", "tg", 1)  # 6.50 + the second tier's flat 5.00
    assert across["total"] == "11.50"
    later = buy(ledger, "acme", "tg", 5, now=NOV16)  # (78.50 − 46.50) × 15/30
    assert later["total"] == "16.00"
    assert seat_lines(show(ledger, later["invoice"])) == [("tg", 5, "6.40", "16.00")]


def test_one_purchase_across_every_tier_is_one_line(ledger):
    add_tiered(ledger, "tg", "graduated")
    add_tiered(ledger, "tv", "volume")
    add_account(ledger)
    grad = buy(ledger, "acme", "tg", 12)  # 35.00 + 32.50 + 5.00 + 12.00
    assert grad["total"] == "84.50"
    assert seat_lines(show(ledger, grad["invoice"])) == [("tg", 12, "7.04", "84.50")]
    vol = buy(ledger, "acme", "tv", 12)
    assert vol["total"] == "72.00"
    assert seat_lines(show(ledger, vol["invoice"])) == [("tv", 12, "6.00", "72.00")]


def test_tiers_without_flat_amounts(ledger):
    add_tiered(ledger, "nv", "volume", "5:7.00,10:6.50,inf:6.00")
    add_tiered(ledger, "ng", "graduated", "5:7.00,10:6.50,inf:6.00")
    add_account(ledger)
    assert buy(ledger, "acme", "nv", 7)["total"] == "45.50"  # 7 × 6.50
    assert buy(ledger, "acme", "ng", 7)["total"] == "48.00"  # 5 × 7.00 + 2 × 6.50
    # one more volume seat on 20 Nov: (52.00 − 45.50) × 11/30 = 2.3833…
    assert buy(ledger, "acme", "nv", 1, now="2026-11-20T08:00:00Z")["total"] == "2.38"


def test_renewals_are_priced_with_tiers_on_the_seats_kept(ledger):
    add_tiered(ledger, "tg", "graduated")
    add_tiered(ledger, "tv", "volume")
    add_account(ledger)
    buy(ledger, "acme", "tg", 12)
    buy(ledger, "acme", "tv", 11)
    give(ledger, "acme", 6, "tg")
    give(ledger, "acme", 11, "tv", start=100)
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (6, "112.50")  # tg: 46.50 for 6; tv: 66.00 for 11
    inv = show(ledger, row["invoice"])
    assert inv["kind"] == "renewal"
    assert sorted(seat_lines(inv)) == [("tg", 6, "7.75", "46.50"), ("tv", 11, "6.00", "66.00")]


def test_licence_show_lists_one_row_per_tier(ledger):
    add_tiered(ledger, "tg", "graduated", "5:7.00,10:6.50+5.00,inf:6.00+2.50")
    rows = ledger.json("licence", "show", "tg")
    assert [(r["licence"], r["cycle"], r["mode"], r["from"], r["upto"], r["unit_price"], r["flat"], r["block"])
            for r in rows if r["flat"] != "0" and r["flat"] != "0.00"] == [
        ("tg", "monthly", "graduated", 6, 10, "6.50", "5.00", 1),
        ("tg", "monthly", "graduated", 11, None, "6.00", "2.50", 1)]
    assert [(r["from"], r["upto"], r["unit_price"]) for r in rows] == [(1, 5, "7.00"), (6, 10, "6.50"),
                                                                       (11, None, "6.00")]


def test_licence_show_of_a_flat_price_with_blocks(ledger):
    ledger.ok("licence", "add", "seat50", "--name", "Seat", "--annual", "120.00", "--block", "50")
    [row] = ledger.json("licence", "show", "seat50")
    assert (row["licence"], row["cycle"], row["mode"], row["from"], row["upto"], row["unit_price"],
            row["block"]) == ("seat50", "annual", "volume", 1, None, "120.00", 50)
    missing = ledger("licence", "show", "nosuch")
    assert missing.code == 3
    assert missing.err.startswith("error: ")


def test_tiers_need_a_tier_mode(ledger):
    result = ledger("licence", "add", "tx", "--name", "TX", "--tiers", TIERS)
    assert result.code == 2
    assert "--tier-mode" in result.err
    assert ledger("licence", "show", "tx").code == 3


# --- blocks -----------------------------------------------------------------------------------

def test_blocks_inside_a_paid_block_cost_nothing_and_crossing_one_is_prorated(ledger):
    ledger.ok("licence", "add", "seat50", "--name", "Seat", "--annual", "120.00", "--block", "50")
    add_account(ledger, "acme", "--cycle", "annual")
    first = buy(ledger, "acme", "seat50", 10)  # one whole block of 50 × 120.00
    assert first["total"] == "6000.00"
    assert seat_lines(show(ledger, first["invoice"])) == [("seat50", 10, "600.00", "6000.00")]
    inside = buy(ledger, "acme", "seat50", 40, now="2027-02-01T09:00:00Z")
    assert (inside["invoice"], inside["total"]) == (None, "0.00")
    # the 51st seat opens a second block: 6000.00 × 184/365 days left (1 May → 1 Nov 2027)
    crossing = buy(ledger, "acme", "seat50", 1, now="2027-05-01T09:00:00Z")
    assert crossing["total"] == "3024.66"
    inv = show(ledger, crossing["invoice"], now="2027-05-01T09:00:00Z")
    assert [(l["days"], l["period_days"], l["amount"]) for l in inv["lines"]] == [(184, 365, "3024.66")]
    assert status(ledger, now="2027-05-01T09:00:00Z")["seat50"]["total"] == 51


def test_a_renewal_bills_whole_blocks(ledger):
    ledger.ok("licence", "add", "seat50", "--name", "Seat", "--annual", "120.00", "--block", "50")
    add_account(ledger, "acme", "--cycle", "annual", "--min", "seat50=51")
    [bought] = invoices(ledger, "--account", "acme")
    assert bought["total"] == "12000.00"
    [row] = close(ledger, "2027-11-01T03:00:00Z")
    assert (row["period_start"], row["period_end"], row["seats_cancelled"], row["total"]) == (
        "2026-11-01", "2027-11-01", 0, "12000.00")
    assert seat_lines(show(ledger, row["invoice"], now="2027-11-02T00:00:00Z")) == [
        ("seat50", 51, "235.29", "12000.00")]


# --- price changes ----------------------------------------------------------------------------

def test_a_price_change_applies_from_the_accounts_next_period(ledger):
    add_account(ledger)
    add_account(ledger, "late", anchor="2026-10-15")  # period 15 Oct → 15 Nov
    ledger.ok("licence", "set-price", "base", "--monthly", "40.00", now="2026-11-10T09:00:00Z")
    assert buy(ledger, "late", "base", 1, now="2026-11-12T09:00:00Z")["total"] == "2.90"  # 30.00 × 3/31
    give(ledger, "late", 1, now="2026-11-12T09:00:00Z")
    [late_row] = close(ledger, "2026-11-15T01:00:00Z")
    assert (late_row["account"], late_row["period_start"], late_row["total"]) == ("late", "2026-10-15", "40.00")
    assert buy(ledger, "acme", "base", 1, now=NOV16)["total"] == "15.00"  # still 30.00 × 15/30
    give(ledger, "acme", 1, now=NOV16)
    [acme_row] = close(ledger, DEC1)
    assert (acme_row["account"], acme_row["total"]) == ("acme", "40.00")
    assert buy(ledger, "acme", "base", 1, now="2026-12-16T09:00:00Z")["total"] == "20.65"  # 40.00 × 16/31
    assert ledger.json("licence", "list", now="2026-11-10T09:00:00Z")[0]["monthly"] == "40.00"


def test_a_new_tier_schedule_applies_from_the_next_period(ledger):
    add_account(ledger)
    buy(ledger, "acme", "voip", 6)
    give(ledger, "acme", 6, "voip")
    ledger.ok("licence", "set-price", "voip", "--tiers", "5:5.00,inf:4.00", "--tier-mode", "volume",
              now="2026-11-20T09:00:00Z")
    # still 5.35 this period: one more seat on 21 Nov, 10 of 30 days left
    assert buy(ledger, "acme", "voip", 1, now="2026-11-21T09:00:00Z")["total"] == "1.78"
    give(ledger, "acme", 1, "voip", now="2026-11-21T09:00:00Z", start=6)
    [row] = close(ledger, DEC1)
    assert row["total"] == "28.00"  # 7 × 4.00


# --- discounts --------------------------------------------------------------------------------

def test_a_discount_is_one_line_on_purchase_and_renewal_invoices(ledger):
    add_account(ledger, "acme", "--discount", "10")
    bought = buy(ledger, "acme", "voip", 3)  # 16.05 − round(1.605)
    assert bought["total"] == "14.44"
    inv = show(ledger, bought["invoice"])
    assert [(l["licence"], l["amount"]) for l in inv["lines"]] == [("voip", "16.05"), (None, "-1.61")]
    assert (inv["subtotal"], inv["total"]) == ("14.44", "14.44")
    assert buy(ledger, "acme", "base", 1)["total"] == "27.00"
    give(ledger, "acme", 3, "voip")
    give(ledger, "acme", 1, "base", start=10)
    [row] = close(ledger, DEC1)
    assert row["total"] == "41.44"  # 46.05 − round(4.605)
    renewal = show(ledger, row["invoice"])
    assert [(l["licence"], l["amount"]) for l in renewal["lines"]] == [
        ("base", "30.00"), ("voip", "16.05"), (None, "-4.61")]
    assert renewal["total"] == "41.44"


def test_a_purchase_that_charges_nothing_gets_no_discount_invoice(ledger):
    add_tiered(ledger, "tv", "volume")
    add_account(ledger, "acme", "--discount", "10")
    assert buy(ledger, "acme", "tv", 10)["total"] == "63.00"
    assert buy(ledger, "acme", "tv", 1)["invoice"] is None
    assert len(invoices(ledger, "--account", "acme")) == 1


# --- peak -------------------------------------------------------------------------------------

def test_peak_bills_the_high_water_mark_in_arrears_without_proration(ledger):
    add_account(ledger, "peakco", "--mode", "peak", anchor="2026-12-27", now="2026-12-27T09:00:00Z")
    emails = give(ledger, "peakco", 20, now="2027-01-15T09:00:00Z")
    ledger.ok("user", "deactivate", "peakco", *emails[:10], now="2027-01-26T09:00:00Z")
    for email in emails[10:]:
        ledger.ok("release", "peakco", email, "base", now="2027-01-26T10:00:00Z")
    [row] = close(ledger, "2027-01-27T02:00:00Z")
    assert (row["period_start"], row["period_end"], row["total"]) == ("2026-12-27", "2027-01-27", "600.00")
    inv = show(ledger, row["invoice"], now="2027-01-27T02:00:00Z")
    assert (inv["kind"], inv["period_start"], inv["period_end"]) == ("usage", "2026-12-27", "2027-01-27")
    assert seat_lines(inv) == [("base", 20, "30.00", "600.00")]
    [after] = close(ledger, "2027-02-27T02:00:00Z")
    assert (after["period_start"], after["period_end"], after["invoice"], after["total"]) == (
        "2027-01-27", "2027-02-27", None, "0.00")
    assert len(invoices(ledger, "--account", "peakco")) == 1


def test_peak_counts_simultaneous_holders_not_every_holder(ledger):
    add_account(ledger, "peakco", "--mode", "peak")
    [first] = give(ledger, "peakco", 1, now="2026-11-05T09:00:00Z")
    ledger.ok("release", "peakco", first, "base", now="2026-11-06T09:00:00Z")
    give(ledger, "peakco", 2, now="2026-11-07T09:00:00Z", start=1)
    [row] = close(ledger, DEC1)
    assert row["total"] == "60.00"


def test_a_peak_account_refuses_buy(ledger):
    add_account(ledger, "peakco", "--mode", "peak")
    result = ledger("buy", "peakco", "base", "1", "--yes")
    assert result.code == 4
    assert result.err.startswith("error: ") and "peak" in result.err
    assert ledger.json("status", "peakco") == []
    assert invoices(ledger) == []


def test_peak_with_a_minimum_bills_the_larger_of_peak_and_minimum(ledger):
    add_account(ledger, "peakco", "--mode", "peak", "--min", "base=5")
    assert invoices(ledger) == []  # a peak minimum buys nothing up front
    give(ledger, "peakco", 3, now="2026-11-05T09:00:00Z")
    [nov] = close(ledger, DEC1)
    assert nov["total"] == "150.00"
    assert seat_lines(show(ledger, nov["invoice"])) == [("base", 5, "30.00", "150.00")]
    give(ledger, "peakco", 4, now="2026-12-05T09:00:00Z", start=3)
    [dec] = close(ledger, JAN1)
    assert dec["total"] == "210.00"


def test_peak_is_priced_with_tiers(ledger):
    add_tiered(ledger, "tv", "volume")
    add_account(ledger, "peakco", "--mode", "peak")
    give(ledger, "peakco", 11, "tv", now="2026-11-05T09:00:00Z")
    [row] = close(ledger, DEC1)
    assert row["total"] == "66.00"


# --- account status ---------------------------------------------------------------------------

def test_a_trial_is_never_invoiced_until_activated(ledger):
    add_account(ledger, "tri", "--trial")
    bought = buy(ledger, "tri", "base", 3)
    assert (bought["status"], bought["invoice"], bought["total"]) == ("confirmed", None, "0.00")
    give(ledger, "tri", 2)
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["invoice"], row["total"]) == (1, None, "0.00")
    assert invoices(ledger, "--account", "tri") == []
    assert ledger.json("account", "show", "tri", now=DEC1)["status"] == "trial"
    ledger.ok("account", "activate", "tri", now="2026-12-11T09:00:00Z")
    [inv] = invoices(ledger, "--account", "tri")
    # the 2 seats held, from 11 Dec to 1 Jan: 60.00 × 21/31
    assert (inv["kind"], inv["period_start"], inv["period_end"], inv["total"]) == (
        "purchase", "2026-12-11", "2027-01-01", "40.65")
    assert [(l["licence"], l["quantity"], l["days"], l["period_days"], l["amount"])
            for l in show(ledger, inv["number"])["lines"]] == [("base", 2, 21, 31, "40.65")]
    assert ledger.json("account", "show", "tri", now="2026-12-11T09:00:00Z")["status"] == "active"
    [jan] = close(ledger, JAN1)
    assert jan["total"] == "60.00"


def test_a_suspended_account_refuses_assignments_but_is_still_billed(ledger):
    add_account(ledger)
    buy(ledger, "acme", "base", 2)
    give(ledger, "acme", 1)
    ledger.ok("user", "add", "acme", "new@acme.io")
    ledger.ok("account", "suspend", "acme", now="2026-11-10T09:00:00Z")
    assert ledger.json("account", "suspend", "acme", now="2026-11-10T09:00:00Z")["status"] == "suspended"
    refused = ledger("assign", "acme", "new@acme.io", "base", now="2026-11-11T09:00:00Z", operator="olivia")
    assert refused.code == 4
    assert "suspended" in refused.err
    [row] = close(ledger, DEC1)
    assert (row["seats_cancelled"], row["total"]) == (1, "30.00")
    ledger.ok("account", "activate", "acme", now="2026-12-02T09:00:00Z")
    assert ledger.json("assign", "acme", "new@acme.io", "base", "--buy",
                       now="2026-12-02T09:00:00Z")["assigned"] == ["base"]


def test_suspending_a_trial_is_refused_and_the_same_status_again_is_a_no_op(ledger):
    add_account(ledger, "tri", "--trial")
    refused = ledger("account", "suspend", "tri")
    assert refused.code == 4
    assert refused.err.startswith("error: ")
    assert ledger.json("account", "show", "tri")["status"] == "trial"
    add_account(ledger)
    again = ledger("account", "activate", "acme")
    assert again.code == 0
    assert invoices(ledger) == []


def test_a_closed_account_refuses_writes_and_ends_at_the_period_end(ledger):
    add_account(ledger)
    buy(ledger, "acme", "base", 3)
    give(ledger, "acme", 2)
    closed = ledger.json("account", "close", "acme", now="2026-11-10T09:00:00Z")
    assert closed["status"] == "closed"
    later = "2026-11-11T09:00:00Z"
    for args in (("buy", "acme", "base", "1", "--yes"), ("user", "add", "acme", "x@acme.io"),
                 ("assign", "acme", "u0@acme.io", "voip"), ("release", "acme", "u0@acme.io", "base"),
                 ("account", "set-min", "acme", "base=5"), ("account", "activate", "acme")):
        result = ledger(*args, now=later)
        assert result.code == 4, args
        assert "closed" in result.err, args
    # still running until the period end
    assert status(ledger, now=later)["base"]["in_use"] == 2
    [row] = close(ledger, DEC1)
    assert (row["period_start"], row["period_end"], row["seats_cancelled"], row["invoice"], row["total"]) == (
        "2026-11-01", "2026-12-01", 3, None, "0.00")
    assert ledger.json("status", "acme", now=DEC1) == []
    assert [i["kind"] for i in invoices(ledger, "--account", "acme")] == ["purchase"]
    assert close(ledger, JAN1) == []
    assert close(ledger, "2027-03-01T00:00:00Z") == []


def test_closing_a_closed_account_again_is_a_no_op(ledger):
    add_account(ledger)
    ledger.ok("account", "close", "acme", now="2026-11-10T09:00:00Z")
    again = ledger("account", "close", "acme", now="2026-11-11T09:00:00Z")
    assert again.code == 0, again.err


def test_closing_an_account_cancels_its_pending_orders(ledger):
    add_account(ledger)
    pending = ledger.json("buy", "acme", "base", "2", "--yes", operator="olivia")
    assert pending["status"] == "pending"
    ledger.ok("account", "close", "acme", now="2026-11-10T09:00:00Z")
    assert ledger.json("order", "list", now="2026-11-10T09:00:00Z") == []
    assert ledger("order", "approve", str(pending["order"]), now="2026-11-10T10:00:00Z").code == 4


# --- hierarchy --------------------------------------------------------------------------------

def reseller(ledger, *extra):
    add_account(ledger, "resell", *extra)
    for child in ("c1", "c2"):
        ledger.ok("account", "add", child, "--name", child.upper(), "--parent", "resell", "--billed-via-parent")


def test_children_billed_via_the_parent_appear_on_its_invoices(ledger):
    reseller(ledger, "--discount", "10")
    p1 = buy(ledger, "c1", "base", 2, now=NOV16)  # 60.00 × 15/30 − 10 %
    assert p1["total"] == "27.00"
    p2 = buy(ledger, "c2", "voip", 3, now=NOV16)  # 16.05 × 15/30 = 8.025 → 8.03, − 0.80
    assert p2["total"] == "7.23"
    assert [(i["number"], i["account"], i["kind"]) for i in invoices(ledger, "--account", "resell")] == [
        (p1["invoice"], "resell", "purchase"), (p2["invoice"], "resell", "purchase")]
    assert invoices(ledger, "--account", "c1") == []
    assert [(l["account"] if l["licence"] else None, l["licence"], l["amount"])
            for l in show(ledger, p1["invoice"])["lines"]] == [("c1", "base", "30.00"), (None, None, "-3.00")]
    give(ledger, "c1", 2, now=NOV16)
    give(ledger, "c2", 3, "voip", now=NOV16)
    rows = close(ledger, DEC1)
    assert [(r["account"], r["period_start"], r["period_end"]) for r in rows] == [
        ("resell", "2026-11-01", "2026-12-01")]
    renewal = show(ledger, rows[0]["invoice"])
    assert renewal["account"] == "resell"
    assert [(l["account"], l["licence"], l["quantity"], l["amount"]) for l in renewal["lines"]
            if l["licence"]] == [("c1", "base", 2, "60.00"), ("c2", "voip", 3, "16.05")]
    assert [l["amount"] for l in renewal["lines"] if l["licence"] is None] == ["-7.61"]  # round(7.605)
    assert rows[0]["total"] == renewal["total"] == "68.44"


def test_a_child_billed_via_its_parent_has_no_cycle_of_its_own(ledger):
    add_account(ledger, "resell")
    for extra in (("--cycle", "annual"), ("--anchor", "2026-11-15")):
        result = ledger("account", "add", "kid", "--name", "Kid", "--parent", "resell", "--billed-via-parent",
                        *extra)
        assert result.code == 4, extra
        assert result.err.startswith("error: ")
    assert ledger("account", "show", "kid").code == 3
    ledger.ok("account", "add", "kid", "--name", "Kid", "--parent", "resell", "--billed-via-parent")
    for extra in (("--cycle", "annual"), ("--anchor", "2026-11-15")):
        assert ledger("account", "set", "kid", *extra).code == 4, extra
    card = ledger.json("account", "show", "kid")
    assert (card["cycle"], card["pending"]) == ("monthly", None)


def test_status_tree_rolls_up_the_children(ledger):
    reseller(ledger)
    buy(ledger, "c1", "base", 2)
    give(ledger, "c1", 1)
    buy(ledger, "c2", "voip", 3)
    assert ledger.json("status", "resell", now=NOV1) == []
    rows = ledger.json("status", "resell", "--tree", now=NOV1)
    assert [(r["account"], r["licence"], r["in_use"], r["free"], r["total"]) for r in rows] == [
        ("c1", "base", 1, 1, 2), ("c2", "voip", 0, 3, 3)]


def test_a_parent_cannot_close_while_a_billed_child_is_open(ledger):
    reseller(ledger)
    refused = ledger("account", "close", "resell")
    assert refused.code == 4
    assert "c1" in refused.err or "c2" in refused.err
    assert ledger.json("account", "show", "resell")["status"] == "active"
    ledger.ok("account", "close", "c1")
    assert ledger("account", "close", "resell").code == 4
    ledger.ok("account", "close", "c2")
    assert ledger.json("account", "close", "resell")["status"] == "closed"


def test_a_closed_child_leaves_the_parents_next_renewal(ledger):
    reseller(ledger)
    buy(ledger, "c1", "base", 2)
    buy(ledger, "c2", "voip", 3)
    give(ledger, "c1", 2)
    give(ledger, "c2", 3, "voip")
    ledger.ok("account", "close", "c1", now="2026-11-20T09:00:00Z")
    [row] = close(ledger, DEC1)
    assert (row["account"], row["seats_cancelled"], row["total"]) == ("resell", 2, "16.05")
    assert [(l["account"], l["licence"]) for l in show(ledger, row["invoice"])["lines"]] == [("c2", "voip")]
    tree = ledger.json("status", "resell", "--tree", now=DEC1)
    assert [(r["account"], r["licence"], r["total"]) for r in tree] == [("c2", "voip", 3)]
    assert ledger.json("account", "show", "c1", now=DEC1)["status"] == "closed"


# --- more peak and status rules -----------------------------------------------------------------

def test_a_closed_peak_account_is_billed_for_its_last_period_then_nothing(ledger):
    add_account(ledger, "peakco", "--mode", "peak")
    give(ledger, "peakco", 4, now="2026-11-05T09:00:00Z")
    ledger.ok("account", "close", "peakco", now="2026-11-10T09:00:00Z")
    [row] = close(ledger, DEC1)
    assert (row["period_start"], row["period_end"], row["total"]) == ("2026-11-01", "2026-12-01", "120.00")
    inv = show(ledger, row["invoice"])
    assert (inv["kind"], seat_lines(inv)) == ("usage", [("base", 4, "30.00", "120.00")])
    assert ledger.json("status", "peakco", now=DEC1) == []
    assert close(ledger, JAN1) == []


def test_a_converted_peak_trial_counts_usage_only_from_activation(ledger):
    add_account(ledger, "peakco", "--mode", "peak", "--trial")
    emails = give(ledger, "peakco", 5, now="2026-11-05T09:00:00Z")
    for email in emails[:2]:
        ledger.ok("release", "peakco", email, "base", now="2026-11-10T09:00:00Z")
    ledger.ok("account", "activate", "peakco", now="2026-11-20T09:00:00Z")
    assert invoices(ledger, "--account", "peakco") == []  # no seat pool: nothing to bill on conversion
    [row] = close(ledger, DEC1)
    assert row["total"] == "90.00"  # 3 holders from 20 Nov, not the 5 of the trial days


def test_a_peak_price_change_applies_from_the_next_period(ledger):
    add_account(ledger, "peakco", "--mode", "peak")
    give(ledger, "peakco", 2, now="2026-11-05T09:00:00Z")
    ledger.ok("licence", "set-price", "base", "--monthly", "40.00", now="2026-11-10T09:00:00Z")
    [nov] = close(ledger, DEC1)
    assert nov["total"] == "60.00"
    [dec] = close(ledger, JAN1)
    assert dec["total"] == "80.00"


def test_a_licence_without_a_price_for_the_accounts_cycle_cannot_be_sold(ledger):
    add_account(ledger, "yearly", "--cycle", "annual")
    refused = ledger("buy", "yearly", "voip", "1", "--yes")
    assert refused.code == 4
    assert "annual" in refused.err
    assert buy(ledger, "yearly", "base", 1)["total"] == "300.00"
    assert ledger.json("status", "yearly")[0]["licence"] == "base"


def test_the_invoicing_accounts_discount_applies_not_the_childs(ledger):
    add_account(ledger, "resell")
    ledger.ok("account", "add", "kid", "--name", "Kid", "--parent", "resell", "--billed-via-parent",
              "--discount", "50")
    bought = buy(ledger, "kid", "base", 1)
    assert bought["total"] == "30.00"
    assert [l["licence"] for l in show(ledger, bought["invoice"])["lines"]] == ["base"]


def test_a_childs_write_after_the_period_end_first_closes_the_parents_period(ledger):
    reseller(ledger)
    buy(ledger, "c1", "base", 1)
    give(ledger, "c1", 1)
    late = buy(ledger, "c1", "base", 1, now="2026-12-16T09:00:00Z")  # December: 30.00 × 16/31
    assert late["total"] == "15.48"
    assert [(i["kind"], i["period_start"], i["total"]) for i in invoices(ledger, "--account", "resell")] == [
        ("purchase", "2026-11-01", "30.00"), ("renewal", "2026-12-01", "30.00"),
        ("purchase", "2026-12-16", "15.48")]
    assert close(ledger, "2026-12-20T00:00:00Z") == []


def test_licence_show_prints_tier_money_to_the_minor_unit(ledger):
    add_tiered(ledger, "tg", "graduated", "5:7,10:6.5+5,inf:6")
    rows = ledger.json("licence", "show", "tg")
    assert [(r["unit_price"], r["flat"]) for r in rows] == [("7.00", "0.00"), ("6.50", "5.00"), ("6.00", "0.00")]

"""A short period is a part of the whole period that ends with it (SPEC §3, issue 18).

After an anchor change the account runs a short period up to the first new-anchor date. Its renewal,
every purchase inside it and its plan fee are prorated against the whole period that ends with it
(counted one new-anchor date back), so a day costs the same in a short period as in a whole one; the
invoice lines show that whole period's length as `period_days`. Amounts worked out by hand below."""

from __future__ import annotations

import pytest
from support import standard_ledger


def _lines(ledger, number, now):
    return ledger.json("invoice", "show", number, now=now)["lines"]


@pytest.fixture
def ledger(cli):
    """The standard ledger, begun on 29 Apr 2025 (time never runs backwards in a ledger)."""
    cli.now = "2025-04-29T00:00:00Z"
    return standard_ledger(cli)


@pytest.fixture
def shop(ledger):
    """base: 10.00 a month, 105.00 a year; plan 'flat': 31.00 a month, 365.00 a year, nothing included.
    Account acme from 29 Apr 2025, monthly on the 29th, with one base seat (its minimum)."""
    at = "2025-04-29T00:00:00Z"
    ledger.ok("licence", "add", "seat", "--name", "Seat", "--monthly", "10.00", "--annual", "105.00", now=at)
    ledger.ok("plan", "add", "flat", "--name", "Flat", "--monthly", "31.00", "--annual", "365.00", now=at)
    ledger.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2025-04-29", "--min", "seat=1",
              "--plan", "flat", now=at)
    return ledger


def test_an_annual_short_period_prices_its_days_as_a_whole_year_does(shop):
    # Switch to annual on the 1st: at the 29 May boundary the account enters 29 May → 1 Jun (3 days),
    # a part of the year 1 Jun 2024 → 1 Jun 2025 (365 days).
    shop.ok("account", "set", "acme", "--anchor", "2025-06-01", "--cycle", "annual", now="2025-04-29T00:00:00Z")
    [row] = shop.json("cycle", "close", now="2025-05-29T00:00:00Z", operator="cron")
    lines = _lines(shop, row["invoice"], "2025-05-29T00:00:00Z")
    fee, seat = lines
    assert (fee["period_start"], fee["period_end"], fee["days"], fee["period_days"], fee["amount"]) == (
        "2025-05-29", "2025-06-01", 3, 365, "3.00")  # 365.00 × 3/365
    assert (seat["quantity"], seat["days"], seat["period_days"], seat["amount"]) == (1, 3, 365, "0.86")  # 105 × 3/365
    assert row["total"] == "3.86"
    # A seat bought on 30 May: 2 days left of the same 365-day year: 105.00 × 2/365 = 0.575… → 0.58 (not 70.00).
    quote = shop.json("buy", "acme", "seat", "1", "--quote", now="2025-05-30T00:00:00Z")
    assert quote["total"] == "0.58"
    bought = shop.json("buy", "acme", "seat", "1", "--yes", now="2025-05-30T00:00:00Z")
    assert bought["total"] == "0.58"
    [line] = _lines(shop, bought["invoice"], "2025-05-30T00:00:00Z")
    assert (line["days"], line["period_days"], line["unit_price"], line["amount"]) == (2, 365, "105.00", "0.58")
    # cycle show during the stub announces the whole year's renewal at 1 Jun: the fee and the one seat the
    # minimum keeps (the seat bought on 30 May is free and trimmed): 365.00 + 105.00.
    card = shop.json("cycle", "show", "acme", now="2025-05-30T12:00:00Z")
    assert (card["period_start"], card["period_end"], card["days"]) == ("2025-05-29", "2025-06-01", 3)
    assert (card["next_period_start"], card["next_period_end"]) == ("2025-06-01", "2026-06-01")
    assert card["close_total"] == "470.00"
    [after] = shop.json("cycle", "close", now="2025-06-01T00:00:00Z", operator="cron")
    assert (after["total"], after["seats_cancelled"]) == ("470.00", 1)


def test_a_monthly_short_period_prices_its_days_as_a_whole_month_does(shop):
    # Move the anchor from the 29th to the 1st: 29 May → 1 Jun is a part of May (1 May → 1 Jun, 31 days).
    shop.ok("account", "set", "acme", "--anchor", "2025-06-01", now="2025-05-02T00:00:00Z")
    assert shop.json("account", "show", "acme", now="2025-05-02T00:00:00Z")["pending"] == {"anchor": "2025-06-01"}
    [row] = shop.json("cycle", "close", now="2025-05-29T00:00:00Z", operator="cron")
    fee, seat = _lines(shop, row["invoice"], "2025-05-29T00:00:00Z")
    assert (fee["days"], fee["period_days"], fee["amount"]) == (3, 31, "3.00")  # 31.00 × 3/31
    assert (seat["days"], seat["period_days"], seat["amount"]) == (3, 31, "0.97")  # 10.00 × 3/31 = 0.967…
    bought = shop.json("buy", "acme", "seat", "1", "--yes", now="2025-05-30T00:00:00Z")
    assert bought["total"] == "0.65"  # 10.00 × 2/31 = 0.645… (not 10.00 × 2/3 = 6.67)
    [after] = shop.json("cycle", "close", now="2025-06-01T00:00:00Z", operator="cron")
    assert after["total"] == "41.00"  # June, a whole month: 31.00 + the one seat kept, 10.00
    june_fee, june_seat = _lines(shop, after["invoice"], "2025-06-01T00:00:00Z")
    assert (june_fee["period_days"], june_seat["period_days"], june_seat["amount"]) == (30, 30, "10.00")


def test_a_plan_joined_inside_a_short_period_pays_its_fee_by_the_whole_period(shop):
    shop.ok("plan", "add", "big", "--name", "Big", "--monthly", "62.00", "--annual", "730.00",
            now="2025-05-01T00:00:00Z")
    shop.ok("account", "set", "acme", "--anchor", "2025-06-01", "--cycle", "annual", now="2025-05-01T00:00:00Z")
    shop.ok("cycle", "close", now="2025-05-29T00:00:00Z", operator="cron")
    # An upgrade on 30 May: the fee difference (730.00 − 365.00) for 2 days of a 365-day year = 2.00.
    change = shop.json("account", "set-plan", "acme", "big", now="2025-05-30T00:00:00Z")
    [line] = _lines(shop, change["invoice"], "2025-05-30T00:00:00Z")
    assert (line["days"], line["period_days"], line["amount"]) == (2, 365, "2.00")


def test_a_trial_converted_inside_a_short_period_pays_by_the_whole_period(ledger):
    at = "2025-04-29T00:00:00Z"
    ledger.ok("licence", "add", "seat", "--name", "Seat", "--monthly", "10.00", "--annual", "105.00", now=at)
    ledger.ok("account", "add", "tri", "--name", "Trial", "--anchor", "2025-04-29", "--trial", "--min", "seat=2",
              now=at)
    ledger.ok("account", "set", "tri", "--anchor", "2025-06-01", "--cycle", "annual", now=at)
    ledger.ok("cycle", "close", now="2025-05-29T00:00:00Z", operator="cron")
    ledger.ok("account", "activate", "tri", now="2025-05-30T00:00:00Z")
    [invoice] = ledger.json("invoice", "list", "--account", "tri", now="2025-05-30T00:00:00Z")
    [line] = _lines(ledger, invoice["number"], "2025-05-30T00:00:00Z")
    assert (line["quantity"], line["days"], line["period_days"], line["amount"]) == (2, 2, 365, "1.15")  # 210 × 2/365

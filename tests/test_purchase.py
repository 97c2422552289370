"""Buying seats: proration to the cent (SPEC §2, §3, §5), quotes, confirmation, minimums, invoices,
pending orders, idempotency and permissions (§6, §8)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from support import add_account, invoices

NOV_1 = "2026-11-01T09:00:00Z"
NOV_16 = "2026-11-16T10:00:00Z"
NOV_21 = "2026-11-21T10:00:00Z"
BUY_KEYS = {"account", "licence", "quantity", "order", "status", "invoice", "total"}
LINE_KEYS = {"account", "licence", "meter", "description", "quantity", "unit_price", "period_start", "period_end",
             "days", "period_days", "amount"}


def log_length(cli):
    return len(cli.json("log"))


# --- proration ------------------------------------------------------------------------------

def test_one_seat_at_30_bought_on_16_nov_costs_15_00(acme):
    out = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16)
    assert out["total"] == "15.00"
    assert invoices(acme)[0]["total"] == "15.00"


def test_5_35_bought_on_16_nov_rounds_half_up_to_2_68(acme):
    out = acme.json("buy", "acme", "voip", "1", "--yes", now=NOV_16)
    assert out["total"] == "2.68"
    line = acme.json("invoice", "show", out["invoice"])["lines"][0]
    assert (line["amount"], line["unit_price"], line["days"], line["period_days"]) == ("2.68", "5.35", 15, 30)


def test_three_seats_are_one_line_rounded_once_not_per_seat(acme):
    acme.ok("licence", "add", "ten", "--name", "Ten", "--monthly", "10.00")
    out = acme.json("buy", "acme", "ten", "3", "--yes", now=NOV_21)
    assert out["total"] == "10.00"
    lines = acme.json("invoice", "show", out["invoice"])["lines"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["quantity"], line["unit_price"], line["amount"]) == (3, "10.00", "10.00")
    assert (line["period_start"], line["period_end"], line["days"], line["period_days"]) == \
        ("2026-11-21", "2026-12-01", 10, 30)


@pytest.mark.parametrize(
    ("anchor", "bought", "days", "period_days", "amount"),
    [
        # 28 days: Feb 2027
        ("2027-02-01", "2027-02-01", 28, 28, "30.00"),
        ("2027-02-01", "2027-02-15", 14, 28, "15.00"),
        ("2027-02-01", "2027-02-28", 1, 28, "1.07"),     # 30/28 = 1.0714
        # 29 days: Feb 2028 (leap year)
        ("2028-02-01", "2028-02-01", 29, 29, "30.00"),
        ("2028-02-01", "2028-02-15", 15, 29, "15.52"),   # 30*15/29 = 15.517
        ("2028-02-01", "2028-02-29", 1, 29, "1.03"),     # 30/29 = 1.0345
        # 30 days: Nov 2026
        ("2026-11-01", "2026-11-01", 30, 30, "30.00"),
        ("2026-11-01", "2026-11-16", 15, 30, "15.00"),
        ("2026-11-01", "2026-11-30", 1, 30, "1.00"),
        # 31 days: Dec 2026
        ("2026-12-01", "2026-12-01", 31, 31, "30.00"),
        ("2026-12-01", "2026-12-16", 16, 31, "15.48"),   # 30*16/31 = 15.484
        ("2026-12-01", "2026-12-31", 1, 31, "0.97"),     # 30/31 = 0.9677
    ],
)
def test_purchase_is_prorated_by_days_left_in_the_period(ledger, anchor, bought, days, period_days, amount):
    now = f"{bought}T10:00:00Z"
    add_account(ledger, anchor=anchor, now=now)
    out = ledger.json("buy", "acme", "base", "1", "--yes", now=now)
    assert out["total"] == amount
    line = ledger.json("invoice", "show", out["invoice"])["lines"][0]
    assert (line["period_start"], line["days"], line["period_days"], line["amount"]) == \
        (bought, days, period_days, amount)


def test_period_of_anchor_31_is_clamped_to_the_end_of_february(ledger):
    now = "2027-02-15T10:00:00Z"
    add_account(ledger, anchor="2027-01-31", now=now)
    out = ledger.json("buy", "acme", "base", "1", "--yes", now=now)
    line = ledger.json("invoice", "show", out["invoice"])["lines"][0]
    # period 31 Jan → 28 Feb (28 days), 13 left: 30 × 13/28 = 13.928…
    assert (line["period_end"], line["days"], line["period_days"], out["total"]) == ("2027-02-28", 13, 28, "13.93")


def test_days_left_are_counted_on_the_accounts_local_calendar(ledger):
    ledger.ok("account", "add", "kiwi", "--name", "Kiwi", "--anchor", "2026-11-01", "--timezone",
              "Pacific/Auckland", now="2026-11-01T09:00:00Z")
    # 15 Nov 12:00 UTC is 16 Nov 01:00 in Auckland: 15 days left, not 16.
    out = ledger.json("buy", "kiwi", "base", "1", "--yes", now="2026-11-15T12:00:00Z")
    assert out["total"] == "15.00"


def test_purchase_after_an_unclosed_period_end_is_prorated_in_the_new_period(acme):
    # nobody ran `cycle close` on 1 Dec: the purchase closes November first, then prices December
    out = acme.json("buy", "acme", "base", "1", "--yes", now="2026-12-16T10:00:00Z")
    assert out["total"] == "15.48"  # 30.00 × 16/31
    line = acme.json("invoice", "show", out["invoice"])["lines"][0]
    assert (line["period_start"], line["period_end"], line["days"], line["period_days"]) == \
        ("2026-12-16", "2027-01-01", 16, 31)


def test_purchase_inside_a_paid_block_writes_no_invoice(acme):
    acme.ok("licence", "add", "blk", "--name", "Block", "--monthly", "2.00", "--block", "10")
    first = acme.json("buy", "acme", "blk", "1", "--yes", now=NOV_16)
    assert first["total"] == "10.00"  # one block of 10 × 2.00 × 15/30
    second = acme.json("buy", "acme", "blk", "1", "--yes", now=NOV_21)
    assert (second["status"], second["invoice"], second["total"]) == ("confirmed", None, "0.00")
    assert len(invoices(acme)) == 1
    assert acme.json("status", "acme")[0]["total"] == 2


# --- quotes and confirmation ----------------------------------------------------------------

def test_quote_shows_the_charge_and_writes_nothing(acme):
    events = log_length(acme)
    out = acme.json("buy", "acme", "base", "2", "--quote", now=NOV_16)
    assert out == {"account": "acme", "licence": "base", "quantity": 2, "order": None, "status": "quote",
                   "invoice": None, "total": "30.00"}
    assert acme.json("status", "acme") == []
    assert invoices(acme) == []
    assert log_length(acme) == events


def test_piped_buy_without_yes_is_refused_and_changes_nothing(acme):
    events = log_length(acme)
    result = acme("buy", "acme", "base", "1", now=NOV_16)
    assert result.code == 2
    assert result.err.startswith("error: ") and "--yes" in result.err
    assert acme.json("status", "acme") == []
    assert invoices(acme) == []
    assert log_length(acme) == events


def test_buy_json_has_exactly_the_documented_shape(acme):
    out = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16)
    assert set(out) == BUY_KEYS
    assert isinstance(out["order"], int)
    assert {k: v for k, v in out.items() if k != "order"} == {
        "account": "acme", "licence": "base", "quantity": 1, "status": "confirmed",
        "invoice": "INV-2026-000001", "total": "15.00"}


def test_bought_seats_show_as_free_in_status(acme):
    acme.ok("buy", "acme", "base", "3", "--yes", now=NOV_16)
    assert acme.json("status", "acme") == [
        {"account": "acme", "licence": "base", "in_use": 0, "free": 3, "total": 3, "minimum": 0, "buying": 0, "waiting": 0}]


# --- minimums -------------------------------------------------------------------------------

def test_minimum_on_account_add_buys_the_seats_at_once_prorated(ledger):
    add_account(ledger, "acme", "--min", "base=2", now=NOV_16)
    [invoice] = invoices(ledger)
    assert (invoice["kind"], invoice["total"]) == ("purchase", "30.00")  # 2 × 30.00 × 15/30
    assert ledger.json("status", "acme") == [{
        "account": "acme", "licence": "base", "in_use": 0, "free": 2, "total": 2, "minimum": 2, "buying": 0, "waiting": 0}]


def test_raising_a_minimum_buys_the_difference_at_once(ledger):
    add_account(ledger, "acme", "--min", "base=2", now=NOV_16)
    ledger.ok("account", "set-min", "acme", "base=5", now=NOV_21)
    totals = [i["total"] for i in invoices(ledger)]
    assert totals == ["30.00", "30.00"]  # then 3 × 30.00 × 10/30
    row = ledger.json("status", "acme")[0]
    assert (row["total"], row["minimum"]) == (5, 5)
    assert ledger.json("account", "show", "acme")["minimums"] == {"base": 5}


def test_lowering_a_minimum_is_pending_and_buys_or_cancels_nothing(ledger):
    add_account(ledger, "acme", "--min", "base=3", now=NOV_16)
    ledger.ok("account", "set-min", "acme", "base=1", now=NOV_21)
    card = ledger.json("account", "show", "acme")
    assert card["minimums"] == {"base": 3}
    assert card["pending"] == {"minimums": {"base": 1}}
    assert len(invoices(ledger)) == 1
    assert ledger.json("status", "acme")[0]["total"] == 3


def test_minimum_of_a_licence_without_a_price_for_the_cycle_creates_no_account(ledger):
    result = ledger("account", "add", "ann", "--name", "Ann", "--cycle", "annual", "--min", "voip=1", now=NOV_16)
    assert result.code == 4
    assert ledger.json("account", "list") == []
    assert invoices(ledger) == []


def test_licence_without_a_price_for_the_cycle_cannot_be_bought(ledger):
    ledger.ok("account", "add", "ann", "--name", "Ann", "--cycle", "annual", "--anchor", "2026-11-01", now=NOV_1)
    result = ledger("buy", "ann", "voip", "1", "--yes", now=NOV_16)
    assert result.code == 4
    assert result.err.startswith("error: ")
    assert ledger.json("status", "ann") == []
    assert invoices(ledger) == []


# --- invoices -------------------------------------------------------------------------------

def test_invoice_numbers_are_gapless_and_skip_quotes_trials_and_failures(acme):
    acme.ok("account", "add", "demo", "--name", "Demo", "--trial", now=NOV_16)
    acme.ok("buy", "acme", "base", "1", "--yes", now=NOV_16)
    acme.ok("buy", "acme", "voip", "1", "--quote", now=NOV_16)
    trial = acme.json("buy", "demo", "base", "1", "--yes", now=NOV_16)
    assert (trial["invoice"], trial["total"]) == (None, "0.00")
    assert acme("buy", "acme", "nope", "1", "--yes", now=NOV_16).code == 3
    acme.ok("buy", "acme", "voip", "2", "--yes", now=NOV_21)
    acme.ok("buy", "acme", "gsm", "1", "--yes", now=NOV_21)
    assert [i["number"] for i in invoices(acme)] == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]


def test_invoice_numbers_restart_at_one_each_year_and_stay_gapless(ledger):
    ledger.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2026-12-01", "--min", "base=1",
              now="2026-12-10T10:00:00Z")
    ledger.ok("buy", "acme", "voip", "1", "--yes", now="2026-12-20T10:00:00Z")
    ledger.ok("buy", "acme", "gsm", "1", "--yes", now="2027-01-05T10:00:00Z")
    ledger.ok("buy", "acme", "gsm", "1", "--yes", now="2027-01-06T10:00:00Z")
    numbers = [i["number"] for i in invoices(ledger)]
    assert all(re.fullmatch(r"INV-\d{4}-\d{6}", n) for n in numbers)
    for year in ("2026", "2027"):
        seqs = [int(n[-6:]) for n in numbers if n[4:8] == year]
        assert seqs == list(range(1, len(seqs) + 1)), numbers
    assert numbers[:2] == ["INV-2026-000001", "INV-2026-000002"]
    assert "INV-2027-000001" in numbers


def test_invoice_year_is_the_year_of_issue_in_the_ledgers_time_zone(cli):
    now = "2026-12-31T23:30:00Z"  # already 1 Jan 2027 in Madrid
    cli.ok("init", "--currency", "EUR", "--timezone", "Europe/Madrid", now=now)
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00", now=now)
    add_account(cli, anchor="2027-01-01", now=now)
    out = cli.json("buy", "acme", "base", "1", "--yes", now=now)
    assert (out["invoice"], out["total"]) == ("INV-2027-000001", "30.00")


def test_invoice_show_json_has_the_documented_line_fields_and_totals(acme):
    out = acme.json("buy", "acme", "voip", "1", "--yes", now=NOV_16)
    shown = acme.json("invoice", "show", out["invoice"])
    assert {"number", "account", "kind", "issued_at", "period_start", "period_end", "total", "lines", "subtotal",
            "tax"} <= set(shown)
    assert (shown["number"], shown["kind"], shown["period_start"], shown["period_end"]) == \
        (out["invoice"], "purchase", "2026-11-16", "2026-12-01")
    [line] = shown["lines"]
    assert set(line) == LINE_KEYS
    assert line == {"account": "acme", "licence": "voip", "meter": None, "description": line["description"],
                    "quantity": 1, "unit_price": "5.35", "period_start": "2026-11-16", "period_end": "2026-12-01",
                    "days": 15, "period_days": 30, "amount": "2.68"}
    assert (shown["subtotal"], shown["tax"], shown["total"]) == ("2.68", "0.00", "2.68")


def test_the_ledgers_tax_rate_adds_a_tax_line(acme):
    acme.ok("settings", "set", "tax_rate", "21")
    out = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16)
    shown = acme.json("invoice", "show", out["invoice"])
    assert (shown["subtotal"], shown["tax"], shown["total"]) == ("15.00", "3.15", "18.15")
    assert out["total"] == "18.15"
    seat, tax = shown["lines"]
    assert (seat["licence"], seat["amount"]) == ("base", "15.00")
    assert (tax["licence"], tax["meter"], tax["amount"]) == (None, None, "3.15")
    assert sum(Decimal(line["amount"]) for line in shown["lines"]) == Decimal(shown["total"])


# --- orders, idempotency, permissions -------------------------------------------------------

def test_operator_buy_is_a_pending_order_shown_as_buying(acme):
    out = acme.json("buy", "acme", "base", "2", "--yes", now=NOV_16, operator="olivia")
    assert (out["status"], out["invoice"], out["total"]) == ("pending", None, "30.00")
    assert acme.json("status", "acme") == [
        {"account": "acme", "licence": "base", "in_use": 0, "free": 0, "total": 0, "minimum": 0, "buying": 2, "waiting": 0}]
    assert invoices(acme) == []


def test_approving_an_order_charges_from_the_approval_day(acme):
    order = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16, operator="olivia")["order"]
    approved = acme.json("order", "approve", str(order), now=NOV_21, operator="alice")
    assert (approved["status"], approved["total"]) == ("confirmed", "10.00")  # 30.00 × 10/30
    assert [(i["number"], i["total"]) for i in invoices(acme)] == [(approved["invoice"], "10.00")]
    row = acme.json("status", "acme")[0]
    assert (row["total"], row["free"], row["buying"]) == (1, 1, 0)


def test_approval_after_the_period_end_charges_in_the_new_period(acme):
    order = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16, operator="olivia")["order"]
    approved = acme.json("order", "approve", str(order), now="2026-12-16T10:00:00Z")
    assert approved["total"] == "15.48"  # 30.00 × 16/31
    line = acme.json("invoice", "show", approved["invoice"])["lines"][0]
    assert (line["period_start"], line["period_end"]) == ("2026-12-16", "2027-01-01")


def test_retried_request_id_returns_the_first_result_and_charges_nothing(acme):
    first = acme.json("buy", "acme", "base", "1", "--yes", "--request-id", "k-1", now=NOV_16)
    again = acme.json("buy", "acme", "base", "1", "--yes", "--request-id", "k-1", now=NOV_21)
    assert again == first
    assert len(invoices(acme)) == 1
    assert acme.json("status", "acme")[0]["total"] == 1


def test_retried_request_id_of_an_operator_files_one_order(acme):
    first = acme.json("buy", "acme", "base", "1", "--yes", "--request-id", "k-2", now=NOV_16, operator="olivia")
    again = acme.json("buy", "acme", "base", "1", "--yes", "--request-id", "k-2", now=NOV_16, operator="olivia")
    assert again == first
    assert [o["order"] for o in acme.json("order", "list")] == [first["order"]]
    assert acme.json("status", "acme")[0]["buying"] == 1


def test_operator_may_not_approve_an_order(acme):
    order = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16, operator="olivia")["order"]
    result = acme("order", "approve", str(order), now=NOV_16, operator="olivia")
    assert result.code == 5
    assert invoices(acme) == []


def test_request_id_reused_with_other_arguments_is_refused(acme):
    acme.ok("buy", "acme", "base", "1", "--yes", "--request-id", "k-1", now=NOV_16)
    events = log_length(acme)
    result = acme("buy", "acme", "base", "2", "--yes", "--request-id", "k-1", now=NOV_16)
    assert result.code == 4
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert acme.json("status", "acme")[0]["total"] == 1
    assert len(invoices(acme)) == 1
    assert log_length(acme) == events


def test_request_id_retried_after_approval_returns_the_confirmed_result(acme):
    order = acme.json("buy", "acme", "base", "1", "--yes", "--request-id", "k-9", now=NOV_16,
                      operator="olivia")["order"]
    approved = acme.json("order", "approve", str(order), now=NOV_21)
    again = acme.json("buy", "acme", "base", "1", "--yes", "--request-id", "k-9", now=NOV_21, operator="olivia")
    assert (again["status"], again["invoice"], again["total"]) == ("confirmed", approved["invoice"], "10.00")
    assert len(invoices(acme)) == 1


def test_viewer_may_not_buy(acme):
    result = acme("buy", "acme", "base", "1", "--yes", now=NOV_16, operator="vera")
    assert result.code == 5
    assert result.err.startswith("error: ")
    assert acme.json("status", "acme") == []


def test_unregistered_operator_may_not_buy(acme):
    result = acme("buy", "acme", "base", "1", "--yes", now=NOV_16, operator="mallory")
    assert result.code == 5
    assert result.err.startswith("error: ") and "mallory" in result.err
    assert acme.json("status", "acme") == []

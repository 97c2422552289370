"""An invoice line's unit price is the price it charged (issue 19).

A metered line's `unit_price` is the meter's price of one unit as given (up to 6 decimals), or under
tiers amount ÷ quantity rounded half-up to 6 decimals; only amounts, subtotal, tax and total are
rounded to the minor unit. A seat line's unit price is one seat for a whole period (a flat price as
given; under tiers or blocks the whole-period amount ÷ quantity, rounded to the minor unit)."""

from __future__ import annotations

import csv
import io

JAN5 = "2024-01-05T10:00:00Z"
FEB6 = "2024-02-06T10:00:00Z"


def _usage_invoice(ledger, *meter_args, quantity=1000):
    ledger.ok("meter", "add", "sms", "--name", "SMS", *meter_args, now="2024-01-05T10:01:00Z")
    ledger.ok("account", "add", "acme", "--name", "Acme", now="2024-01-05T10:02:00Z")
    ledger.ok("usage", "record", "acme", "sms", str(quantity), "--id", "a1", now="2024-01-10T10:00:00Z")
    [row] = ledger.json("cycle", "close", now=FEB6, operator="cron")
    return row["invoice"]


def test_a_sub_cent_meter_price_is_shown_as_charged_in_every_format(cli):
    cli.ok("init", now=JAN5)
    cli.ok("operator", "add", "cron", "--role", "billing", now=JAN5)
    number = _usage_invoice(cli, "--unit-price", "0.0375")
    [line] = cli.json("invoice", "show", number, now=FEB6)["lines"]
    assert (line["meter"], line["quantity"], line["unit_price"], line["amount"]) == ("sms", 1000, "0.0375", "37.50")
    plain = cli.ok("invoice", "show", number, "--format", "plain", now=FEB6).out
    assert "0.0375" in plain and "0.04 " not in plain
    exported = list(csv.DictReader(io.StringIO(cli.ok("invoice", "export", "--format", "csv", now=FEB6).out)))
    assert [(r["unit_price"], r["amount"]) for r in exported] == [("0.0375", "37.50")]
    [exported_json] = cli.json("invoice", "export", now=FEB6)
    assert exported_json["unit_price"] == "0.0375"
    cli.ok("invoice", "void", number, "--reason", "test", now=FEB6)
    [credit] = cli.json("invoice", "show", "CN-2024-000001", now=FEB6)["lines"]
    assert (credit["unit_price"], credit["amount"]) == ("-0.0375", "-37.50")
    assert cli.json("meter", "list", now=FEB6)[0]["unit_price"] == "0.0375"


def test_a_tiered_meter_shows_amount_over_quantity_to_six_decimals(cli):
    cli.ok("init", now=JAN5)
    cli.ok("operator", "add", "cron", "--role", "billing", now=JAN5)
    number = _usage_invoice(cli, "--tiers", "100:0.011,inf:0.0075+0.01", "--tier-mode", "volume", quantity=300)
    [line] = cli.json("invoice", "show", number, now=FEB6)["lines"]
    # volume: all 300 at 0.0075, plus the tier's flat 0.01 = 2.26; 2.26 / 300 = 0.0075333…
    assert (line["quantity"], line["unit_price"], line["amount"]) == (300, "0.007533", "2.26")


def test_seat_lines_show_one_seat_for_a_whole_period(ledger):
    ledger.ok("licence", "add", "tiny", "--name", "Tiny", "--monthly", "0.125")
    ledger.ok("licence", "add", "msg2", "--name", "Msg", "--tiers", "2:7.00,inf:6.55", "--tier-mode", "graduated")
    ledger.ok("account", "add", "acme", "--name", "Acme", "--anchor", "2026-11-01")
    voip = ledger.json("buy", "acme", "voip", "3", "--yes")
    tiny = ledger.json("buy", "acme", "tiny", "10", "--yes")
    msg = ledger.json("buy", "acme", "msg2", "3", "--yes")
    [v] = ledger.json("invoice", "show", voip["invoice"])["lines"]
    [t] = ledger.json("invoice", "show", tiny["invoice"])["lines"]
    [m] = ledger.json("invoice", "show", msg["invoice"])["lines"]
    assert (v["unit_price"], v["amount"]) == ("5.35", "16.05")
    assert (t["unit_price"], t["amount"]) == ("0.125", "1.25")  # a flat price as given
    # graduated: 2 × 7.00 + 1 × 6.55 = 20.55 for the whole period; 20.55 / 3 = 6.85 (minor unit)
    assert (m["unit_price"], m["amount"]) == ("6.85", "20.55")

"""`invoice export`: one row per invoice line, with its invoice's header, for accountants."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from support import add_account


def _ledger_with_invoices(ledger):
    add_account(ledger, "acme", "--min", "base=2")
    ledger.ok("buy", "acme", "voip", "3", "--yes", now="2026-11-16T10:00:00Z")
    ledger.ok("invoice", "void", "INV-2026-000002", "--reason", "wrong licence", now="2026-11-17T10:00:00Z")
    return ledger


def test_export_lists_every_line_with_its_invoice(ledger):
    _ledger_with_invoices(ledger)
    rows = ledger.json("invoice", "export")
    assert [(r["number"], r["line_no"], r["licence"], r["amount"]) for r in rows] == [
        ("CN-2026-000001", 1, "voip", "-8.03"),
        ("INV-2026-000001", 1, "base", "60.00"),
        ("INV-2026-000002", 1, "voip", "8.03"),
    ]
    assert rows[0]["credit_of"] == "INV-2026-000002"
    assert rows[1]["invoice_total"] == "60.00" and rows[1]["currency"] == "EUR"


def test_export_lines_add_up_to_the_invoice_totals(ledger):
    _ledger_with_invoices(ledger)
    rows = ledger.json("invoice", "export")
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["number"]] = totals.get(row["number"], Decimal(0)) + Decimal(row["amount"])
    listed = {i["number"]: Decimal(i["total"]) for i in ledger.json("invoice", "list")}
    assert totals == listed


def test_export_csv_has_the_same_rows_as_json(ledger):
    _ledger_with_invoices(ledger)
    as_json = ledger.json("invoice", "export", "--kind", "purchase")
    as_csv = list(csv.DictReader(io.StringIO(ledger.ok("invoice", "export", "--kind", "purchase",
                                                       "--format", "csv").out)))
    assert [r["number"] for r in as_csv] == [r["number"] for r in as_json] == ["INV-2026-000001", "INV-2026-000002"]
    assert [r["amount"] for r in as_csv] == [r["amount"] for r in as_json]


def test_export_filters_by_issue_date(ledger):
    _ledger_with_invoices(ledger)
    rows = ledger.json("invoice", "export", "--from", "2026-11-16", "--to", "2026-11-16")
    assert [r["number"] for r in rows] == ["INV-2026-000002"]


def test_export_of_an_unknown_account_exits_3(ledger):
    result = ledger("invoice", "export", "--account", "nope")
    assert result.code == 3
    assert result.err == "error: no account 'nope'. See: seatctl account list\n"


def test_licence_show_prints_the_tier_table(ledger):
    ledger.ok("licence", "add", "sms", "--name", "SMS", "--tiers", "5:7.00,10:6.50+5,inf:6.00",
              "--tier-mode", "graduated")
    rows = ledger.json("licence", "show", "sms")
    assert [(r["from"], r["upto"], r["unit_price"], r["flat"], r["mode"]) for r in rows] == [
        (1, 5, "7.00", "0.00", "graduated"), (6, 10, "6.50", "5.00", "graduated"), (11, None, "6.00", "0.00", "graduated"),
    ]

"""CSV output is safe to open in a spreadsheet (SPEC §8): a text cell that begins with `=`, `+`, `-`,
`@`, a tab or a carriage return gets a leading `'`; numbers (negative amounts included) stay as they are."""

from __future__ import annotations

import csv
import io

from support import Seatctl, add_account

FORMULA = '=HYPERLINK("http://evil.example")'
RISKY = ("=", "+", "-", "@", "\t", "\r")


def _csv(cli: Seatctl, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(cli.ok(*args, "--format", "csv").out, newline="")))


def _no_formula(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for key, cell in row.items():
            assert not cell.startswith(RISKY) or _is_number(cell), (key, cell)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_text_cells_that_look_like_formulas_get_a_quote_and_numbers_stay(ledger: Seatctl) -> None:
    ledger.ok("licence", "add", "evil", "--name", FORMULA, "--monthly", "10.00")
    add_account(ledger, "acme", name="+acme")
    ledger.ok("user", "add", "acme", "ana@example.com", "--name", "-2+3")
    ledger.ok("user", "add", "acme", "bo@example.com", "--name", "@SUM(A1)")
    ledger.ok("buy", "acme", "evil", "2", "--yes")
    ledger.ok("invoice", "void", "INV-2026-000001", "--reason", "=1+1")

    users = _csv(ledger, "user", "list", "acme")
    assert {u["email"]: u["name"] for u in users} == {"ana@example.com": "'-2+3", "bo@example.com": "'@SUM(A1)"}
    assert _csv(ledger, "report", "users", "acme") == users
    _no_formula(users)
    accounts = _csv(ledger, "account", "list")
    assert [a["name"] for a in accounts] == ["'+acme"]
    _no_formula(accounts)
    licences = {row["code"]: row for row in _csv(ledger, "licence", "list")}
    assert licences["evil"]["name"] == "'" + FORMULA
    _no_formula(list(licences.values()))

    lines = {row["number"]: row for row in _csv(ledger, "invoice", "export")}
    _no_formula(list(lines.values()))
    assert lines["INV-2026-000001"]["description"].startswith("'" + FORMULA)
    credit = lines["CN-2026-000001"]
    assert credit["amount"] == credit["invoice_total"] == "-20.00"  # a negative amount stays a number
    assert credit["unit_price"] == "-10.00"
    assert lines["INV-2026-000001"]["amount"] == "20.00"
    # JSON is not a spreadsheet format: it shows the text as it is stored.
    assert ledger.json("account", "show", "acme")["name"] == "+acme"

from decimal import Decimal

from support import add_account


def test_buy_mid_period_prorates_to_the_cent(ledger):
    add_account(ledger)
    out = ledger.json("buy", "acme", "base", "1", "--yes", now="2026-11-16T10:00:00Z")
    assert out["total"] == "15.00"
    assert out["status"] == "confirmed"
    assert Decimal(out["total"]) == Decimal("15.00")

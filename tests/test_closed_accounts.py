"""A closed account after its final close (SPEC §5 account status): no minimum any more, not even a
plan's included seats, and no `status` row once nothing is owned, held or pending (issue 14, item 3)."""

from __future__ import annotations

from support import add_account, close

DEC1 = "2026-12-01T02:00:00Z"


def test_a_closed_account_keeps_its_minimum_until_its_final_close_and_then_leaves_status(ledger):
    ledger.ok("plan", "add", "team", "--name", "Team", "--monthly", "5.00", "--includes", "base=2")
    add_account(ledger, "acme", "--min", "base=3")
    add_account(ledger, "planco", "--plan", "team")
    add_account(ledger, "open", "--min", "voip=1")
    for slug in ("acme", "planco"):
        ledger.ok("account", "close", slug)
    before = {(r["account"], r["licence"]): r["minimum"] for r in ledger.json("status")}
    assert before == {("acme", "base"): 3, ("planco", "base"): 2, ("open", "voip"): 1}
    close(ledger, DEC1)
    after = ledger.json("status", now=DEC1)
    assert [(r["account"], r["licence"], r["minimum"], r["total"]) for r in after] == [("open", "voip", 1, 1)]
    assert ledger.json("status", "planco", now=DEC1) == []
    assert ledger.json("account", "show", "planco", now=DEC1)["minimums"] == {}
    assert ledger("doctor", now=DEC1).code == 0

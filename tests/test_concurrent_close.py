"""Two real `seatctl cycle close` processes at once: one invoice per account period, no traceback."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import add_account

ACCOUNTS = [f"acct-{i:02d}" for i in range(30)]
DUE = "2026-12-01T00:05:00Z"


@pytest.fixture
def due_ledger(ledger):
    """30 accounts, each holding 2 base seats (its minimum), all due at 1 Dec."""
    for slug in ACCOUNTS:
        add_account(ledger, slug, "--min", "base=2", name=slug)
    return ledger


def env_of(ledger, operator="cron"):
    return ledger.env(operator, now=DUE)


def run_together(process, commands):
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        futures = [pool.submit(process, args, env) for args, env in commands]
        return [f.result() for f in futures]


def test_two_concurrent_closes_write_one_invoice_per_account_period(due_ledger, process):
    env = env_of(due_ledger)
    results = run_together(process, [(["cycle", "close", "--format", "json"], env)] * 2)
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    rows = [row for result in results for row in json.loads(result.stdout)]
    assert Counter(row["account"] for row in rows) == Counter(ACCOUNTS)
    assert {(row["period_start"], row["period_end"], row["total"]) for row in rows} == {
        ("2026-11-01", "2026-12-01", "60.00")}
    renewals = due_ledger.json("invoice", "list", "--kind", "renewal", now=DUE)
    assert sorted(inv["account"] for inv in renewals) == ACCOUNTS
    assert sorted(inv["number"] for inv in renewals) == sorted(row["invoice"] for row in rows)


def test_invoice_numbers_stay_gapless_after_concurrent_closes(due_ledger, process):
    env = env_of(due_ledger)
    run_together(process, [(["cycle", "close"], env)] * 2)
    numbers = [inv["number"] for inv in due_ledger.json("invoice", "list", now=DUE)]
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 61)]
    assert due_ledger.json("cycle", "close", now=DUE, operator="cron") == []
    assert due_ledger("doctor", now=DUE).code == 0


def test_a_close_racing_operator_writes_closes_each_period_once(due_ledger, process):
    for slug in ACCOUNTS[:5]:
        due_ledger.ok("user", "add", slug, f"a@{slug}.io")
    cron = (["cycle", "close", "--format", "json"], env_of(due_ledger))

    def assign_all(args, env):
        return [process(["assign", slug, f"a@{slug}.io", "base"], env) for slug in ACCOUNTS[:5]]

    with ThreadPoolExecutor(max_workers=2) as pool:
        closing = pool.submit(process, *cron)
        assigning = pool.submit(assign_all, None, env_of(due_ledger, "olivia"))
        close_result, assign_results = closing.result(), assigning.result()
    assert close_result.returncode == 0 and "Traceback" not in close_result.stderr
    for result in assign_results:
        assert result.returncode == 0, result.stderr
    closes = [e for e in due_ledger.json("log", now=DUE) if e["action"] == "cycle.close"]
    assert Counter(e["account"] for e in closes) == Counter(ACCOUNTS)
    renewals = due_ledger.json("invoice", "list", "--kind", "renewal", now=DUE)
    assert sorted(inv["account"] for inv in renewals) == ACCOUNTS

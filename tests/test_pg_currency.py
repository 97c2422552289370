"""PostgreSQL: a change of the ledger's currency and a first invoice, each in its own transaction, take
turns (an advisory lock of the ledger: shared for invoice and order writers, exclusive for the change),
so no invoice is ever written in a currency the ledger no longer has.

- The first invoice's transaction is open: `settings set currency` waits for it, then is refused
  (exit 4, an invoice exists).
- The change's transaction is open: a purchase waits for it, then finds the currency it priced in gone
  (exit 6, nothing written); run again, it bills in the new currency.

Skipped without SEATCTL_TEST_PG_URL. The test's own transaction (the domain API on an engine of the
operator's role) stands for the other command, so the order is certain."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from support import Seatctl, add_account, one_error_line, pg_schema, spawn, standard_ledger

from seatctl.ops import orders, settings
from seatctl.ops.context import load_books
from seatctl.rules.roles import Actor
from seatctl.store import engine as db

pytestmark = pytest.mark.skipif(not os.environ.get("SEATCTL_TEST_PG_URL"), reason="needs SEATCTL_TEST_PG_URL")

NOW = "2026-11-02T10:00:00Z"
AT = datetime(2026, 11, 2, 10, 0)
WAIT = 30.0


@pytest.fixture
def pg(pg_database: str, tmp_path) -> Iterator[tuple[Seatctl, Connection]]:
    """The standard ledger on PostgreSQL with account 'acme' and no invoice or order yet (so its currency
    may still change); and the superuser's connection that watches who waits for a lock."""
    with pg_schema(pg_database, f"cur{os.getpid()}") as url:
        cli = standard_ledger(Seatctl(tmp_path / "ledger.db", pg_url=url))
        add_account(cli)
        cli.now = NOW
        assert cli.json("invoice", "list") == [] and cli.json("order", "list", "--all") == []
        watcher_engine = create_engine(make_url(pg_database), isolation_level="AUTOCOMMIT")
        with watcher_engine.connect() as watcher:
            yield cli, watcher
        watcher_engine.dispose()


def waits_for_a_lock(watcher: Connection, role: str, proc) -> bool:
    if proc.poll() is not None:
        out, err = proc.communicate()
        raise AssertionError(f"exited {proc.returncode} without waiting: {out}{err}")
    return bool(watcher.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = :role AND datname = current_database() "
        "AND wait_event_type = 'Lock'"), {"role": role}).scalar())


def until_waiting(watcher: Connection, role: str, proc) -> None:
    deadline = time.monotonic() + WAIT
    while not waits_for_a_lock(watcher, role, proc):
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{role}'s command never waited")
        time.sleep(0.05)


def currencies(cli: Seatctl) -> tuple[str, set[str]]:
    ledger = {row["key"]: row["value"] for row in cli.json("settings", "show")}["currency"]
    invoices = {cli.json("invoice", "show", inv["number"])["currency"] for inv in cli.json("invoice", "list")}
    return ledger, invoices


def test_a_currency_change_waits_for_an_open_first_invoice_then_is_refused(pg):
    cli, watcher = pg
    engine = db.open_ledger(db.Location(cli.location("cron")))
    try:
        with db.write(engine) as session:  # cron's first purchase, not yet committed
            purchase = orders.buy(session, slug="acme", code="base", quantity=1, actor=Actor("cron", "billing"),
                                  now=AT, books=load_books(session))
            assert purchase.invoice is not None
            change = spawn(["settings", "set", "currency", "USD"], cli.env("alice"))
            until_waiting(watcher, "alice", change)
    finally:
        engine.dispose()
    out, err = change.communicate(timeout=WAIT)
    assert change.returncode == 4, out + err
    assert "cannot change once invoices exist" in one_error_line(err)
    assert currencies(cli) == ("EUR", {"EUR"})


def _buy_during_open_change(cli, watcher, currency: str, role: str):  # type: ignore[no-untyped-def]
    """`buy acme base 1 --yes` as `role`, started while the owner's change of the currency to `currency`
    is written but not committed; returns the process and its output once the change has committed."""
    engine = db.open_ledger(db.Location(cli.location("alice")))
    try:
        with db.write(engine) as session:  # the owner's change, not yet committed
            settings.set_setting(session, "currency", currency, actor=Actor("alice", "owner"), now=AT)
            buy = spawn(["buy", "acme", "base", "1", "--yes"], cli.env(role))
            until_waiting(watcher, role, buy)
    finally:
        engine.dispose()
    out, err = buy.communicate(timeout=WAIT)
    return buy, out, err


def test_a_first_purchase_waits_for_an_open_currency_change_then_exits_6_and_a_rerun_bills_in_it(pg):
    cli, watcher = pg
    purchase, out, err = _buy_during_open_change(cli, watcher, "USD", "cron")
    assert purchase.returncode == 6, out + err
    assert "currency changed from EUR to USD" in one_error_line(err)
    assert cli.json("invoice", "list") == [] and cli.json("order", "list", "--all") == []  # nothing written
    cli.ok("buy", "acme", "base", "1", "--yes", operator="cron")
    assert currencies(cli) == ("USD", {"USD"})


def test_an_operator_s_order_waits_for_an_open_currency_change_too(pg):
    """An operator files a pending order (its quote is stored in minor units, so it freezes the currency
    like an invoice): the role holds no UPDATE on the settings, and still takes its turn."""
    cli, watcher = pg
    request, out, err = _buy_during_open_change(cli, watcher, "JPY", "olivia")
    assert request.returncode == 6, out + err
    assert "currency changed from EUR to JPY" in one_error_line(err)
    assert cli.json("order", "list", "--all") == []
    assert cli.json("buy", "acme", "base", "1", "--yes", operator="olivia")["status"] == "pending"
    [order] = cli.json("order", "list")
    assert order["quote"] == "29"  # 30 × 29/30 days, in yen (no minor unit)

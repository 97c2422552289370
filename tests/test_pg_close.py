"""PostgreSQL, two cron hosts: `seatctl cycle close` processes on one ledger share the accounts (each
claimed with `FOR UPDATE SKIP LOCKED`, what another holds rechecked at the end), so every account
period is closed exactly once and numbered without a gap; a close whose session is terminated
(`pg_terminate_backend`) exits 6 with one error line, and a rerun closes the rest exactly once.

Skipped without SEATCTL_TEST_PG_URL. A row lock the test holds on one account stands for another
host's transaction: deterministic, whatever the machine's speed."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from support import Seatctl, add_account, one_error_line, pg_schema, spawn, standard_ledger

pytestmark = pytest.mark.skipif(not os.environ.get("SEATCTL_TEST_PG_URL"), reason="needs SEATCTL_TEST_PG_URL")

ACCOUNTS = [f"acct-{i:02d}" for i in range(40)]
HELD = "acct-00"  # the account "another host" holds while the closes run
DUE = "2026-12-01T00:05:00Z"
WAIT = 60.0  # seconds a test waits for a process to reach a state, at most


@pytest.fixture
def pg(pg_database: str, tmp_path) -> Iterator[tuple[Seatctl, str]]:
    """A PostgreSQL ledger (the standard one) with 40 accounts due at 1 Dec, each with 2 base seats
    (its minimum); and the URL of its schema for the server's superuser."""
    with pg_schema(pg_database, f"close{os.getpid()}") as url:
        cli = standard_ledger(Seatctl(tmp_path / "ledger.db", pg_url=url))
        for slug in ACCOUNTS:
            add_account(cli, slug, "--min", "base=2", name=slug)
        schema = make_url(url.replace("{user}@", "x@")).query["options"]
        yield cli, make_url(pg_database).update_query_dict({"options": schema}).render_as_string(hide_password=False)


@pytest.fixture
def admin(pg: tuple[Seatctl, str]) -> Iterator[tuple[Connection, Connection]]:
    """Two of the superuser's connections to the ledger: one that watches (autocommit), and one that
    holds an account's row as another host's transaction would (`hold`)."""
    engine = create_engine(pg[1])
    with engine.connect() as watcher, engine.connect() as holder:
        watcher.execution_options(isolation_level="AUTOCOMMIT")
        yield watcher, holder
        holder.rollback()
    engine.dispose()


def until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting: {what}")


def still_due(watcher: Connection) -> set[str]:
    return set(watcher.execute(text("SELECT slug FROM account WHERE closed_at IS NULL AND period_end_at <= :due"),
                               {"due": DUE.replace("T", " ").rstrip("Z")}).scalars())


def waiting_for_a_lock(watcher: Connection) -> list[int]:
    """The cron sessions waiting for a row lock."""
    return list(watcher.execute(text(
        "SELECT pid FROM pg_stat_activity WHERE usename = 'cron' AND datname = current_database() "
        "AND wait_event_type = 'Lock'")).scalars())


def hold(holder: Connection, slug: str) -> None:
    """Lock the account's row as another host's transaction would (until `holder.rollback()`)."""
    holder.execute(text("SELECT id FROM account WHERE slug = :slug FOR UPDATE"), {"slug": slug})


def assert_closed_once(cli: Seatctl) -> None:
    """Every account's November period closed exactly once, by one renewal invoice each; the invoices
    (each account's purchase of its 2 seats, then the renewals) numbered without a gap; nothing due."""
    closes = [e for e in cli.json("log", now=DUE) if e["action"] == "cycle.close"]
    assert Counter(e["account"] for e in closes) == Counter(ACCOUNTS)
    renewals = cli.json("invoice", "list", "--kind", "renewal", now=DUE)
    assert sorted(inv["account"] for inv in renewals) == ACCOUNTS
    numbers = sorted(inv["number"] for inv in cli.json("invoice", "list", now=DUE))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 2 * len(ACCOUNTS) + 1)]  # the seats bought, the renewals
    assert cli.json("cycle", "close", now=DUE, operator="cron") == []
    assert cli("doctor", now=DUE).code == 0


def test_two_closes_share_the_accounts_and_wait_for_what_another_holds(pg, admin):
    cli, _ = pg
    watcher, holder = admin
    hold(holder, HELD)
    env = cli.env("cron", now=DUE)
    closes = [spawn(["cycle", "close", "--format", "json"], env) for _ in range(2)]
    try:
        # Both skip the held account and close the others between them …
        until(lambda: still_due(watcher) == {HELD}, "every other account closed")
        # … and neither exits while an account it skipped is still held and due: both wait for it.
        until(lambda: len(waiting_for_a_lock(watcher)) == 2, "both closes waiting for the held account")
        assert [c.poll() for c in closes] == [None, None]
    finally:
        holder.rollback()  # the other host's transaction ends without closing it
    results = [c.communicate(timeout=WAIT) for c in closes]
    for close, (_, err) in zip(closes, results, strict=True):
        assert close.returncode == 0, err
        assert "Traceback" not in err
    rows = [row for out, _ in results for row in json.loads(out)]
    assert Counter(row["account"] for row in rows) == Counter(ACCOUNTS)  # each closed by one of them, once
    assert {(row["period_start"], row["period_end"], row["total"]) for row in rows} == {
        ("2026-11-01", "2026-12-01", "60.00")}
    assert_closed_once(cli)


def test_a_terminated_close_exits_6_and_a_rerun_closes_the_rest_once(pg, admin):
    cli, _ = pg
    watcher, holder = admin
    hold(holder, HELD)
    close = spawn(["cycle", "close", "--format", "json"], cli.env("cron", now=DUE))
    try:
        until(lambda: still_due(watcher) == {HELD}, "every other account closed")
        (pid,) = until(lambda: waiting_for_a_lock(watcher), "the close waiting for the held account")
        watcher.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        out, err = close.communicate(timeout=WAIT)
    finally:
        holder.rollback()
    assert close.returncode == 6, err
    line = one_error_line(err, out)
    assert "lost the connection to the ledger" in line and "run seatctl cycle close again" in line, line
    assert out == ""
    # What it closed before stays closed (each period in a transaction of its own); a rerun closes the
    # rest, once.
    assert still_due(watcher) == {HELD}
    rerun = cli.json("cycle", "close", now=DUE, operator="cron")
    assert [row["account"] for row in rerun] == [HELD]
    assert_closed_once(cli)


def test_a_close_terminated_mid_run_leaves_whole_periods_and_a_rerun_finishes(pg, admin):
    """Terminated wherever it is once it has begun (writing a period, or already waiting for the last
    account, which is held so that the run cannot end first): each period is closed whole or not at
    all, and a rerun closes the rest exactly once."""
    cli, _ = pg
    watcher, holder = admin
    hold(holder, ACCOUNTS[-1])
    close = spawn(["cycle", "close"], cli.env("cron", now=DUE))
    try:
        until(lambda: len(still_due(watcher)) < len(ACCOUNTS), "the close closing")
        watcher.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'cron' "
                             "AND datname = current_database()"))
        out, err = close.communicate(timeout=WAIT)
    finally:
        holder.rollback()
    assert close.returncode == 6, err
    assert "lost the connection to the ledger" in one_error_line(err, out)
    assert ACCOUNTS[-1] in still_due(watcher)
    cli.ok("cycle", "close", now=DUE, operator="cron")
    assert_closed_once(cli)

"""Scale benchmark: build a realistic ledger in bulk, then time the nightly close, the usage report,
bulk assignment and CLI start-up, each beside a floor measured in the same run.

    python bench/scale.py --accounts 10000 --users-per-account 20 --out /tmp/bench.db

Prints one JSON object of figures (and writes nothing else but the ledger at --out)."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from seatctl import db
from seatctl.buckets import make_buckets
from seatctl.catalogue import PriceInput, add_licence
from seatctl.closing import close_all
from seatctl.context import Actor, load_books
from seatctl.models import Account, Assignment, Minimum, Seat, User
from seatctl.pricing import flat
from seatctl.schema import init_ledger
from seatctl.usage import usage_rows

START = datetime(2026, 1, 1, 0, 0)
END = datetime(2026, 2, 1, 0, 0)
OWNER = Actor("bench", "owner")
LICENCES = [("base", "30.00"), ("voip", "5.35"), ("messaging", "4.00"), ("gsm", "12.00")]


def build(path: Path, accounts: int, users_per_account: int, seed: int = 7) -> None:
    """Four licence types; accounts (one in five peak) with minimums, users, seats and a month of
    assignment history; every period runs 2026-01-01 → 2026-02-01."""
    from decimal import Decimal

    rng = random.Random(seed)
    location = db.Location(str(path))
    init_ledger(location, currency="EUR", timezone="UTC", operator=OWNER.name, busy_timeout=10, now=START)
    engine = db.make_engine(location)
    with db.write(engine) as session:
        ids = []
        for code, price in LICENCES:
            lic = add_licence(session, code=code, name=code.title(), prices=[PriceInput("monthly", flat(Decimal(price)))],
                              actor=OWNER, now=START)
            ids.append(lic.id)
    next_user = next_seat = 1
    batch = 500
    for first in range(0, accounts, batch):
        with db.write(engine) as session:
            account_rows, minimum_rows, user_rows, seat_rows, assignment_rows = [], [], [], [], []
            for n in range(first, min(accounts, first + batch)):
                account_id = n + 1
                peak = n % 5 == 4
                account_rows.append({
                    "id": account_id, "slug": f"acct-{n:06d}", "name": f"Account {n}", "mode": "peak" if peak else "allocation",
                    "cycle": "monthly", "anchor": date(2026, 1, 1), "timezone": "UTC", "status": "active",
                    "billed_via_parent": False, "created_at": START, "period_start": date(2026, 1, 1),
                    "period_end": date(2026, 2, 1), "period_end_at": END,
                })
                for u in range(users_per_account):
                    user_rows.append({"id": next_user + u, "account_id": account_id,
                                      "email": f"user{u}@acct{n}.example.com", "name": None,
                                      "role": "admin" if u == 0 else "agent", "status": "active", "created_at": START})
                for lic_index, licence_id in enumerate(ids):
                    holders = [u for u in range(users_per_account) if rng.random() < (0.9 if lic_index == 0 else 0.4)]
                    if not peak:
                        minimum = max(1, len(holders) // 2)
                        minimum_rows.append({"account_id": account_id, "licence_id": licence_id, "quantity": minimum})
                        owned = len(holders) + rng.randint(0, 3)
                        seat_ids = list(range(next_seat, next_seat + owned))
                        seat_rows += [{"id": s, "account_id": account_id, "licence_id": licence_id, "bought_at": START}
                                      for s in seat_ids]
                        next_seat += owned
                    for k, u in enumerate(holders):
                        assigned = START + timedelta(days=rng.randint(0, 10), hours=rng.randint(0, 23))
                        released = assigned + timedelta(days=rng.randint(5, 40)) if rng.random() < 0.3 else None
                        if released is not None and released >= END:
                            released = None
                        assignment_rows.append({
                            "account_id": account_id, "licence_id": licence_id, "user_id": next_user + u,
                            "seat_id": None if peak else seat_ids[k], "assigned_at": assigned, "released_at": released,
                        })
                next_user += users_per_account
            for model, rows in ((Account, account_rows), (Minimum, minimum_rows), (User, user_rows),
                                (Seat, seat_rows), (Assignment, assignment_rows)):
                if rows:
                    session.execute(insert(model), rows)
    engine.dispose()


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def command_seconds(args: list[str], env: dict[str, str], runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, capture_output=True, check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def plain_sqlite_close(path: Path, accounts: int) -> float:
    """The floor for cycle close: the same kinds of writes with plain sqlite3, one transaction per
    account (cancel free seats, number and write an invoice with lines, mark the period closed,
    record the event, move the account on)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE IF NOT EXISTS f_invoice(id INTEGER PRIMARY KEY, account INT, total INT)")
    con.execute("CREATE TABLE IF NOT EXISTS f_line(invoice INT, licence INT, qty INT, amount INT)")
    con.execute("CREATE TABLE IF NOT EXISTS f_closed(account INT, start TEXT, UNIQUE(account, start))")
    con.execute("CREATE TABLE IF NOT EXISTS f_event(account INT, details TEXT)")
    con.execute("CREATE TABLE IF NOT EXISTS f_counter(last INT)")
    con.execute("INSERT INTO f_counter VALUES (0)")
    started = time.perf_counter()
    for account_id in range(1, accounts + 1):
        con.execute("BEGIN IMMEDIATE")
        counts = con.execute(
            "SELECT licence_id, COUNT(*) FROM seat WHERE account_id=? AND cancelled_at IS NULL GROUP BY licence_id",
            (account_id,)).fetchall()
        con.execute("UPDATE seat SET cancelled_at = bought_at WHERE id IN (SELECT id FROM seat WHERE account_id=? "
                    "AND cancelled_at IS NULL AND id NOT IN (SELECT seat_id FROM assignment WHERE account_id=? "
                    "AND seat_id IS NOT NULL AND released_at IS NULL) LIMIT 1)", (account_id, account_id))
        con.execute("UPDATE f_counter SET last = last + 1")
        cur = con.execute("INSERT INTO f_invoice(account, total) VALUES (?, ?)", (account_id, 100))
        con.executemany("INSERT INTO f_line VALUES (?, ?, ?, ?)", [(cur.lastrowid, lic, n, n * 100) for lic, n in counts])
        con.execute("INSERT INTO f_closed VALUES (?, '2026-01-01')", (account_id,))
        con.execute("INSERT INTO f_event VALUES (?, '{}')", (account_id,))
        con.execute("UPDATE account SET period_start='2026-02-01' WHERE id=?", (account_id,))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--users-per-account", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "seatctl-bench.db")
    parser.add_argument("--assign-rows", type=int, default=5000)
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(str(args.out) + suffix).unlink(missing_ok=True)
    figures: dict[str, object] = {"accounts": args.accounts, "users_per_account": args.users_per_account}

    figures["build_seconds"], _ = timed(lambda: build(args.out, args.accounts, args.users_per_account))
    floor_copy = Path(str(args.out) + ".floor")
    shutil.copy(args.out, floor_copy)

    engine = db.open_ledger(db.Location(str(args.out)))
    with db.read(engine) as session:
        books = load_books(session)
    now = datetime(2026, 2, 1, 2, 0)
    seconds, rows = timed(lambda: close_all(engine, now=now, books=books, actor=OWNER))
    figures["close_seconds"] = round(seconds, 3)
    figures["close_account_periods"] = len(rows)
    figures["close_per_second"] = round(len(rows) / seconds, 1)
    floor = plain_sqlite_close(floor_copy, args.accounts)
    figures["close_floor_plain_sqlite_seconds"] = round(floor, 3)
    figures["close_floor_per_second"] = round(args.accounts / floor, 1)
    for suffix in ("", "-wal", "-shm"):
        Path(str(floor_copy) + suffix).unlink(missing_ok=True)

    buckets = make_buckets(date(2026, 1, 1), date(2026, 1, 31), "day")
    with db.read(engine) as session:
        seconds, report = timed(lambda: usage_rows(session, buckets=buckets))
    figures["report_usage_month_by_day_seconds"] = round(seconds, 3)
    figures["report_usage_rows"] = len(report)
    engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    env.update(SEATCTL_DB=str(args.out), SEATCTL_OPERATOR=OWNER.name, SEATCTL_NOW="2026-02-01T03:00:00Z")
    # Bulk assignment: one account with many users, all assigned from one CSV.
    bulk = args.assign_rows
    cli = [sys.executable, "-m", "seatctl"]
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users.csv"
        users.write_text("email\n" + "".join(f"bulk{i}@bulk.example.com\n" for i in range(bulk)))
        assign = Path(tmp) / "assign.csv"
        assign.write_text("email,licence\n" + "".join(f"bulk{i}@bulk.example.com,base\n" for i in range(bulk)))
        for step in (["account", "add", "bulk", "--name", "Bulk"], ["user", "import", "bulk", str(users)],
                     ["buy", "bulk", "base", str(bulk), "--yes"]):
            subprocess.run(cli + step, env=env, check=True, capture_output=True)
        seconds, _ = timed(lambda: subprocess.run(cli + ["assign", "bulk", "--from-csv", str(assign)], env=env,
                                                  check=True, capture_output=True))
    figures["assign_csv_rows"] = bulk
    figures["assign_csv_rows_per_second"] = round(bulk / seconds, 1)

    seatctl = [sys.executable, "-m", "seatctl"]
    figures["startup_help_seconds"] = round(command_seconds(seatctl + ["--help"], env), 3)
    figures["startup_help_floor_seconds"] = round(command_seconds([sys.executable, "-c", "import typer"], env), 3)
    figures["startup_status_seconds"] = round(command_seconds(seatctl + ["status", "acct-000001"], env), 3)
    figures["startup_status_floor_seconds"] = round(
        command_seconds([sys.executable, "-c", "import typer, sqlmodel, pendulum"], env), 3)
    figures["help_vs_floor"] = round(figures["startup_help_seconds"] / figures["startup_help_floor_seconds"], 2)  # type: ignore[operator]
    figures["status_vs_floor"] = round(
        figures["startup_status_seconds"] / figures["startup_status_floor_seconds"], 2)  # type: ignore[operator]
    figures["peak_memory_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

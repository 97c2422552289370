"""Scale benchmark: build a realistic ledger in bulk, then time the nightly close, the usage report,
bulk assignment and CLI start-up, each beside a floor measured in the same run.

    .venv/bin/python bench/scale.py --accounts 10000 --out /tmp/bench.db
    .venv/bin/python bench/scale.py --accounts 10000 --db postgresql+psycopg://postgres@127.0.0.1/seatctl_bench

Prints one JSON object of figures (and writes nothing else but the ledger at --out and its floor
copies beside it, removed at the end; or, with --db, the ledger in that PostgreSQL database, which
it wipes first, a `bench_floor` schema and a copy database `NAME_pair`, both dropped at the end).
The close and the report run in child processes of their own, so each one's peak memory is its own.
bench/README.md says what each figure means."""

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's seatctl, installed or not

from sqlalchemy import insert  # noqa: E402

from seatctl.ops.catalogue import PriceInput, add_licence  # noqa: E402
from seatctl.ops.context import load_books  # noqa: E402
from seatctl.ops.cycles import close_all  # noqa: E402
from seatctl.ops.ledger import init_ledger  # noqa: E402
from seatctl.reports.usage import COLUMNS, iter_usage_rows  # noqa: E402
from seatctl.rules.buckets import make_buckets  # noqa: E402
from seatctl.rules.pricing import flat  # noqa: E402
from seatctl.rules.roles import Actor  # noqa: E402
from seatctl.store import engine as db  # noqa: E402
from seatctl.store.tables import Account, Assignment, Minimum, Seat, User  # noqa: E402

START = datetime(2026, 1, 1, 0, 0)
END = datetime(2026, 2, 1, 0, 0)
OWNER = Actor("bench", "owner")  # on PostgreSQL the owner is the connecting role (`owner_of`)
LICENCES = [("base", "30.00"), ("voip", "5.35"), ("messaging", "4.00"), ("gsm", "12.00")]


def owner_of(location: db.Location) -> Actor:
    """The ledger's owner as the bench acts: 'bench' on SQLite, the connecting role on PostgreSQL
    (which `init` registers as the owner)."""
    if location.is_sqlite:
        return OWNER
    with psycopg_connect(location.raw) as con:
        return Actor(str(con.execute("SELECT current_user").fetchone()[0]), "owner")  # type: ignore[index]


def psycopg_connect(url: str, **kw: object):  # type: ignore[no-untyped-def]
    """A plain psycopg connection to a SQLAlchemy PostgreSQL URL (for the floors and the set-up)."""
    import psycopg
    from sqlalchemy.engine import make_url

    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False), **kw)


def wipe_postgres(url: str) -> None:
    """An empty public schema in the bench's database (everything a previous run left is dropped)."""
    with psycopg_connect(url, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS bench_floor CASCADE")
        con.execute("DROP SCHEMA IF EXISTS public CASCADE")
        con.execute("CREATE SCHEMA public")


def vacuum_analyze(url: str) -> None:
    """After the bulk build, as any PostgreSQL bulk load needs (and as autovacuum would, where it is
    on): VACUUM ANALYZE the tables the build filled. Without statistics the planner takes them for
    empty and the close's reads and foreign-key checks scan them. The tables still empty (invoices,
    their lines, closed periods) are left unanalysed, as in a new ledger: analysed while empty, they
    would be known as empty, and the close's foreign-key checks on `invoice` (plans a session keeps)
    would scan it whole for every line: quadratic in the invoices the run writes, unless autovacuum
    analyses it meanwhile."""
    with psycopg_connect(url, autocommit=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'").fetchall()]
        for table in tables:
            if con.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0]:  # type: ignore[index]
                con.execute(f'VACUUM ANALYZE "{table}"')


def build(location: db.Location, accounts: int, users_per_account: int, seed: int = 7) -> None:
    """Four licence types; accounts (one in five peak) with minimums, users, seats and a month of
    assignment history; every period runs 2026-01-01 → 2026-02-01."""
    from decimal import Decimal

    rng = random.Random(seed)
    owner = owner_of(location)
    init_ledger(location, currency="EUR", timezone="UTC", operator=owner.name, busy_timeout=10, now=START)
    engine = db.make_engine(location)
    with db.write(engine) as session:
        ids = []
        for code, price in LICENCES:
            lic = add_licence(session, code=code, name=code.title(), prices=[PriceInput("monthly", flat(Decimal(price)))],
                              actor=owner, now=START)
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
    if not location.is_sqlite:  # rows were written with their ids: move the sequences past them
        with psycopg_connect(location.raw, autocommit=True) as con:
            for table, column in con.execute(
                    "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                    "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 "
                    "AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL").fetchall():
                con.execute(f'SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE((SELECT max("{column}") '
                            f'FROM "{table}"), 0) + 1, false)', (f'"{table}"', column))


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def paired_seconds(args: list[str], floor: list[str], env: dict[str, str], runs: int = 9) -> tuple[float, float]:
    """Median wall time of a command and of its floor, their runs alternated so both see the same
    machine (a burst of load elsewhere then slows both, not one)."""
    samples: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(runs):
        for which, command in enumerate((args, floor)):
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=False)
            samples[which].append(time.perf_counter() - started)
    return statistics.median(samples[0]), statistics.median(samples[1])


def plain_sqlite_report(path: Path, start: datetime, end: datetime) -> float:
    """The floor for the usage report: plain sqlite3 reading every row the report needs (seats,
    assignments and denials touching the range), nothing computed."""
    con = sqlite3.connect(path)
    lo, hi = start.strftime("%Y-%m-%d %H:%M:%S.%f"), end.strftime("%Y-%m-%d %H:%M:%S.%f")
    started = time.perf_counter()
    con.execute("SELECT account_id, licence_id, bought_at, cancelled_at FROM seat WHERE bought_at < ? "
                "AND (cancelled_at IS NULL OR cancelled_at >= ?)", (hi, lo)).fetchall()
    con.execute("SELECT account_id, licence_id, assigned_at, released_at FROM assignment WHERE assigned_at < ? "
                "AND (released_at IS NULL OR released_at >= ?) ORDER BY account_id, licence_id", (hi, lo)).fetchall()
    con.execute("SELECT account_id, licence_id, at, quantity FROM event WHERE action = 'denial' AND at >= ? AND at < ?",
                (lo, hi)).fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def plain_sqlite_assign(path: Path, rows: int) -> float:
    """The floor for bulk assignment's writes: plain sqlite3 inserting `rows` assignments and their
    events in one transaction (no look-ups, no checks)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE f_assignment(id INTEGER PRIMARY KEY, account INT, licence INT, user INT, seat INT, at TEXT)")
    con.execute("CREATE TABLE f_event(id INTEGER PRIMARY KEY, account INT, at TEXT, details TEXT)")
    started = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    con.executemany("INSERT INTO f_assignment(account, licence, user, seat, at) VALUES (1, 1, ?, ?, '2026-02-01')",
                    [(i, i) for i in range(rows)])
    con.executemany("INSERT INTO f_event(account, at, details) VALUES (1, '2026-02-01', ?)",
                    [(f'{{"user": "bulk{i}@bulk.example.com", "licence": "base"}}',) for i in range(rows)])
    con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def phase(name: str, target: str) -> dict[str, object]:
    """One measured step, in this (child) process: the nightly close, or the month-by-day usage report."""
    location = db.Location(target)
    engine = db.open_ledger(location)
    with db.read(engine) as session:
        books = load_books(session)
    out: dict[str, object] = {}
    if name == "close":
        now = datetime(2026, 2, 1, 2, 0)
        actor = owner_of(location)
        started = time.time()
        seconds, rows = timed(lambda: close_all(engine, now=now, books=books, actor=actor))
        out = {"seconds": seconds, "rows": len(rows), "started": started, "ended": time.time()}
    else:
        from contextlib import redirect_stdout

        from seatctl.cli.render import Output, render

        buckets = make_buckets(date(2026, 1, 1), date(2026, 1, 31), "day")

        def rows() -> int:  # streamed as the CLI reads them: each row dropped once used
            with db.read(engine) as session:
                return sum(1 for _ in iter_usage_rows(session, buckets=buckets, now=END))

        def as_csv() -> None:  # … and written as `seatctl report usage --format csv` writes them
            with db.read(engine) as session, open(os.devnull, "w") as sink, redirect_stdout(sink):
                render(Output(rows=iter_usage_rows(session, buckets=buckets, now=END), columns=COLUMNS), "csv")

        seconds, count = timed(rows)
        csv_seconds, _ = timed(as_csv)
        out = {"seconds": seconds, "rows": count, "csv_seconds": csv_seconds}
    engine.dispose()
    out["peak_mib"] = peak_mib()
    return out


def phase_command(name: str, target: str) -> list[str]:
    return [sys.executable, __file__, "--phase", name, "--db" if "://" in target else "--out", target]


def run_phase(name: str, target: str) -> dict[str, object]:
    done = subprocess.run(phase_command(name, target), check=True, capture_output=True, text=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def run_pair(target: str) -> dict[str, object]:
    """Two closes at once on the same ledger (two cron hosts), each a process of its own, started
    together: from the first one's start to the last one's end, and what each closed."""
    children = [subprocess.Popen(phase_command("close", target), stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
    results = []
    for child in children:
        stdout, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"a close of the pair failed (exit {child.returncode})")
        results.append(json.loads(stdout))
    seconds = max(float(r["ended"]) for r in results) - min(float(r["started"]) for r in results)
    return {"seconds": seconds, "rows": [int(r["rows"]) for r in results],
            "peak_mib": max(float(r["peak_mib"]) for r in results)}


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


FLOOR_TABLES = ("account", "seat", "assignment")


def postgres_floor_copy(url: str) -> None:
    """The PostgreSQL floors' own copy of the tables the close floor writes (schema `bench_floor`,
    same columns and indexes, same rows as the ledger just built) and their plain tables."""
    with psycopg_connect(url, autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS bench_floor CASCADE")
        con.execute("CREATE SCHEMA bench_floor")
        for table in FLOOR_TABLES:
            con.execute(f"CREATE TABLE bench_floor.{table} (LIKE public.{table} INCLUDING DEFAULTS INCLUDING INDEXES)")
            con.execute(f"INSERT INTO bench_floor.{table} SELECT * FROM public.{table}")
        con.execute("CREATE TABLE bench_floor.f_invoice(id bigserial PRIMARY KEY, account int, total int)")
        con.execute("CREATE TABLE bench_floor.f_line(invoice bigint, licence int, qty int, amount int)")
        con.execute("CREATE TABLE bench_floor.f_closed(account int, start text, UNIQUE(account, start))")
        con.execute("CREATE TABLE bench_floor.f_event(account int, details text)")
        con.execute("CREATE TABLE bench_floor.f_counter(last int)")
        con.execute("INSERT INTO bench_floor.f_counter VALUES (0)")
        con.execute("CREATE TABLE bench_floor.f_assignment(id bigserial PRIMARY KEY, account int, licence int, "
                    "usr int, seat int, at text)")
        con.execute("CREATE TABLE bench_floor.f_bulk_event(id bigserial PRIMARY KEY, account int, at text, details text)")
        con.execute("VACUUM ANALYZE " + ", ".join(f"bench_floor.{t}" for t in FLOOR_TABLES))


def plain_postgres_close(url: str, accounts: int) -> float:
    """The floor for cycle close on PostgreSQL: the SQLite floor's writes with plain psycopg, one
    transaction per account, on the floor's copy of the tables; commits unsynced as the close's are,
    then one synced commit at the end."""
    with psycopg_connect(url) as con:
        con.execute("SET search_path = bench_floor")
        con.execute("SET synchronous_commit = off")
        con.commit()
        started = time.perf_counter()
        for account_id in range(1, accounts + 1):
            counts = con.execute(
                "SELECT licence_id, COUNT(*) FROM seat WHERE account_id=%s AND cancelled_at IS NULL "
                "GROUP BY licence_id", (account_id,)).fetchall()
            con.execute("UPDATE seat SET cancelled_at = bought_at WHERE id IN (SELECT id FROM seat WHERE account_id=%s "
                        "AND cancelled_at IS NULL AND id NOT IN (SELECT seat_id FROM assignment WHERE account_id=%s "
                        "AND seat_id IS NOT NULL AND released_at IS NULL) LIMIT 1)", (account_id, account_id))
            con.execute("UPDATE f_counter SET last = last + 1")
            invoice = con.execute("INSERT INTO f_invoice(account, total) VALUES (%s, %s) RETURNING id",
                                  (account_id, 100)).fetchone()[0]  # type: ignore[index]
            con.cursor().executemany("INSERT INTO f_line VALUES (%s, %s, %s, %s)",
                                     [(invoice, lic, n, n * 100) for lic, n in counts])
            con.execute("INSERT INTO f_closed VALUES (%s, '2026-01-01')", (account_id,))
            con.execute("INSERT INTO f_event VALUES (%s, '{}')", (account_id,))
            con.execute("UPDATE account SET period_start='2026-02-01' WHERE id=%s", (account_id,))
            con.commit()
        con.execute("SET synchronous_commit = on")
        con.execute("UPDATE f_counter SET last = last")
        con.commit()  # synced: flushes every commit before it too
        elapsed = time.perf_counter() - started
    return elapsed


def plain_postgres_report(url: str, start: datetime, end: datetime) -> float:
    """The floor for the usage report on PostgreSQL: plain psycopg reading every row the report
    needs, nothing computed (as `plain_sqlite_report`)."""
    with psycopg_connect(url) as con:
        started = time.perf_counter()
        con.execute("SELECT account_id, licence_id, bought_at, cancelled_at FROM seat WHERE bought_at < %s "
                    "AND (cancelled_at IS NULL OR cancelled_at >= %s)", (end, start)).fetchall()
        con.execute("SELECT account_id, licence_id, assigned_at, released_at FROM assignment WHERE assigned_at < %s "
                    "AND (released_at IS NULL OR released_at >= %s) ORDER BY account_id, licence_id",
                    (end, start)).fetchall()
        con.execute("SELECT account_id, licence_id, at, quantity FROM event WHERE action = 'denial' AND at >= %s "
                    "AND at < %s", (start, end)).fetchall()
        elapsed = time.perf_counter() - started
    return elapsed


def plain_postgres_assign(url: str, rows: int) -> float:
    """The floor for bulk assignment's writes on PostgreSQL: plain psycopg inserting the rows and
    their events in one (synced) transaction."""
    with psycopg_connect(url) as con:
        con.execute("SET search_path = bench_floor")
        con.commit()
        started = time.perf_counter()
        cur = con.cursor()
        cur.executemany("INSERT INTO f_assignment(account, licence, usr, seat, at) VALUES (1, 1, %s, %s, '2026-02-01')",
                        [(i, i) for i in range(rows)])
        cur.executemany("INSERT INTO f_bulk_event(account, at, details) VALUES (1, '2026-02-01', %s)",
                        [(f'{{"user": "bulk{i}@bulk.example.com", "licence": "base"}}',) for i in range(rows)])
        con.commit()
        elapsed = time.perf_counter() - started
    return elapsed


def postgres_pair_copy(url: str, drop_only: bool = False) -> str:
    """A copy of the bench's database as built (`CREATE DATABASE … TEMPLATE`), for the two
    concurrent closes; its URL. Needs the CREATEDB right."""
    from sqlalchemy.engine import make_url

    source = make_url(url)
    name = f"{source.database}_pair"
    with psycopg_connect(url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if not drop_only:
        with psycopg_connect(source.set(database="postgres").render_as_string(hide_password=False),
                             autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
    return source.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--users-per-account", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "seatctl-bench.db",
                        help="the SQLite ledger to build (overwritten)")
    parser.add_argument("--db", metavar="URL", help="build the ledger in this PostgreSQL database instead (wiped first)")
    parser.add_argument("--assign-rows", type=int, default=5000)
    parser.add_argument("--no-pair", action="store_true", help="skip the two concurrent closes")
    parser.add_argument("--phase", choices=("close", "report"), help=argparse.SUPPRESS)  # a child's one step
    args = parser.parse_args()
    target = args.db or str(args.out)
    if args.phase:
        print(json.dumps(phase(args.phase, target)))
        return
    location = db.Location(target)
    pg = not location.is_sqlite
    floor_name = "plain_psycopg" if pg else "plain_sqlite"
    if pg:
        wipe_postgres(target)
    else:
        for suffix in ("", "-wal", "-shm", ".close-lock"):
            Path(str(args.out) + suffix).unlink(missing_ok=True)
    figures: dict[str, object] = {"backend": "postgresql" if pg else "sqlite", "accounts": args.accounts,
                                  "users_per_account": args.users_per_account}

    figures["build_seconds"], _ = timed(lambda: build(location, args.accounts, args.users_per_account))
    if pg:
        figures["vacuum_analyze_seconds"], _ = timed(lambda: vacuum_analyze(target))
        postgres_floor_copy(target)
        pair_target = None if args.no_pair else postgres_pair_copy(target)
    else:
        floor_copy = Path(str(args.out) + ".floor")
        shutil.copy(args.out, floor_copy)
        pair_target = None
        if not args.no_pair:
            pair_target = str(args.out) + ".pair"
            shutil.copy(args.out, pair_target)

    close = run_phase("close", target)
    figures["close_seconds"] = round(float(close["seconds"]), 3)  # type: ignore[arg-type]
    figures["close_account_periods"] = close["rows"]
    figures["close_per_second"] = round(int(close["rows"]) / float(close["seconds"]), 1)  # type: ignore[arg-type]
    floor = plain_postgres_close(target, args.accounts) if pg else plain_sqlite_close(floor_copy, args.accounts)
    figures[f"close_floor_{floor_name}_seconds"] = round(floor, 3)
    figures["close_floor_per_second"] = round(args.accounts / floor, 1)
    figures["close_vs_floor"] = round(float(close["seconds"]) / floor, 2)  # type: ignore[arg-type]
    figures["close_peak_memory_mib"] = close["peak_mib"]

    if pair_target is not None:
        pair = run_pair(pair_target)
        figures["pair_close_seconds"] = round(float(pair["seconds"]), 3)  # type: ignore[arg-type]
        figures["pair_close_account_periods"] = pair["rows"]  # each process's
        figures["pair_close_per_second"] = round(sum(pair["rows"]) / float(pair["seconds"]), 1)  # type: ignore[arg-type]
        figures["pair_vs_one_close"] = round(float(pair["seconds"]) / float(close["seconds"]), 2)  # type: ignore[arg-type]
        figures["pair_close_peak_memory_mib"] = pair["peak_mib"]
        if pg:
            postgres_pair_copy(target, drop_only=True)
        else:
            for suffix in ("", "-wal", "-shm", ".close-lock"):
                Path(pair_target + suffix).unlink(missing_ok=True)

    report = run_phase("report", target)
    figures["report_usage_month_by_day_seconds"] = round(float(report["seconds"]), 3)  # type: ignore[arg-type]
    figures["report_usage_rows"] = report["rows"]
    figures["report_usage_csv_seconds"] = round(float(report["csv_seconds"]), 3)  # type: ignore[arg-type]
    floor = plain_postgres_report(target, START, END) if pg else plain_sqlite_report(args.out, START, END)
    figures[f"report_usage_floor_{floor_name}_seconds"] = round(floor, 3)
    figures["report_usage_vs_floor"] = round(float(report["seconds"]) / floor, 2)  # type: ignore[arg-type]
    figures["report_usage_peak_memory_mib"] = report["peak_mib"]
    if not pg:
        for suffix in ("", "-wal", "-shm", ".close-lock"):
            Path(str(floor_copy) + suffix).unlink(missing_ok=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    env.update(SEATCTL_DB=target, SEATCTL_OPERATOR=owner_of(location).name, SEATCTL_NOW="2026-02-01T03:00:00Z",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    # Time the CLI as installed: its modules' bytecode cached (written by the first, untimed runs).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "seatctl", "--help"], env=env, check=True, capture_output=True)
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
        writes_floor = plain_postgres_assign(target, bulk) if pg else plain_sqlite_assign(Path(tmp) / "floor.db", bulk)
    figures["assign_csv_rows"] = bulk
    figures["assign_csv_seconds"] = round(seconds, 3)
    figures["assign_csv_rows_per_second"] = round(bulk / seconds, 1)

    seatctl = [sys.executable, "-m", "seatctl"]
    help_, help_floor = paired_seconds(seatctl + ["--help"], [sys.executable, "-c", "import typer"], env)
    status, status_floor = paired_seconds(seatctl + ["status", "acct-000001"],
                                          [sys.executable, "-c", "import typer, sqlmodel, pendulum"], env)
    figures["startup_help_seconds"] = round(help_, 3)
    figures["startup_help_floor_seconds"] = round(help_floor, 3)
    figures["startup_status_seconds"] = round(status, 3)
    figures["startup_status_floor_seconds"] = round(status_floor, 3)
    # Bulk assignment's floor: a ledger command's start-up floor plus plain sqlite3 writing the rows.
    figures["assign_csv_floor_seconds"] = round(figures["startup_status_floor_seconds"] + writes_floor, 3)  # type: ignore[operator]
    figures["assign_csv_floor_rows_per_second"] = round(bulk / figures["assign_csv_floor_seconds"], 1)  # type: ignore[operator]
    # The same command less the start-up of `status` (imports, engine, operator check): the rows' own rate.
    figures["assign_csv_rows_per_second_after_startup"] = round(
        bulk / max(1e-9, seconds - figures["startup_status_seconds"]), 1)  # type: ignore[operator]
    figures["help_vs_floor"] = round(figures["startup_help_seconds"] / figures["startup_help_floor_seconds"], 2)  # type: ignore[operator]
    figures["status_vs_floor"] = round(
        figures["startup_status_seconds"] / figures["startup_status_floor_seconds"], 2)  # type: ignore[operator]
    figures["peak_memory_mib"] = peak_mib()  # this process: the build and the floors
    if pg:
        with psycopg_connect(target, autocommit=True) as con:
            con.execute("DROP SCHEMA IF EXISTS bench_floor CASCADE")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

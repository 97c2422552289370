"""Directory sync benchmark: an account of N users, a directory export of N rows, `seatctl sync` timed
as a process (start-up included), with its peak memory.

    .venv/bin/python bench/sync.py --users 50000

Steps, each a `seatctl sync ... --format json` process writing to /dev/null:
  dry run, nothing to change    the export lists the ledger exactly as it is
  dry run, 10 % changed         a tenth of the rows differ (leavers, joiners, moved voip seats)
  apply, 10 % changed           the same file applied with --remove-missing (one transaction)
  apply again                   the same file once more: nothing to change

Prints one JSON object. Writes only the ledger at --out and the export files beside it. The goals
(issue 15): at 50,000 users a dry run ≤ 5 s, an apply that changes 10 % ≤ 10 s, memory ≤ 300 MB,
on SQLite with synced commits (`synchronous=FULL`)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's seatctl, installed or not

from sqlalchemy import insert  # noqa: E402

from seatctl.ops.catalogue import PriceInput, add_licence  # noqa: E402
from seatctl.ops.ledger import init_ledger  # noqa: E402
from seatctl.rules.pricing import flat  # noqa: E402
from seatctl.rules.roles import Actor  # noqa: E402
from seatctl.store import engine as db  # noqa: E402
from seatctl.store.tables import Account, Assignment, Seat, User  # noqa: E402

START = datetime(2026, 11, 1, 0, 0)
NOW = "2026-11-16T10:00:00Z"
OWNER = Actor("bench", "owner")
DOMAIN = "big.example.com"


def build(path: Path, users: int) -> None:
    """One allocation account: `users` users, every one holding base, every third voip; 2 % spare
    base seats; as many voip seats as holders plus 2 %."""
    from decimal import Decimal

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    location = db.Location(str(path))
    init_ledger(location, currency="EUR", timezone="UTC", operator=OWNER.name, busy_timeout=10, now=START)
    engine = db.make_engine(location)
    with db.write(engine) as session:
        for code, price in (("base", "30.00"), ("voip", "5.35")):
            add_licence(session, code=code, name=code.title(), prices=[PriceInput("monthly", flat(Decimal(price)))],
                        actor=OWNER, now=START)
        session.execute(insert(Account), [{
            "id": 1, "slug": "big", "name": "Big", "mode": "allocation", "cycle": "monthly", "anchor": date(2026, 11, 1),
            "timezone": "UTC", "status": "active", "billed_via_parent": False, "created_at": START,
            "period_start": date(2026, 11, 1), "period_end": date(2026, 12, 1), "period_end_at": datetime(2026, 12, 1),
        }])
        voip_holders = [u for u in range(users) if u % 3 == 0]
        base_seats, voip_seats = users + users // 50, len(voip_holders) + users // 50
        session.execute(insert(User), [{"id": u + 1, "account_id": 1, "email": f"user{u:06d}@{DOMAIN}",
                                        "name": f"User {u}", "role": "member", "status": "active", "created_at": START}
                                       for u in range(users)])
        session.execute(insert(Seat), [{"id": s + 1, "account_id": 1, "licence_id": 1 if s < base_seats else 2,
                                        "bought_at": START} for s in range(base_seats + voip_seats)])
        rows = [{"account_id": 1, "licence_id": 1, "user_id": u + 1, "seat_id": u + 1, "assigned_at": START}
                for u in range(users)]
        rows += [{"account_id": 1, "licence_id": 2, "user_id": u + 1, "seat_id": base_seats + i + 1, "assigned_at": START}
                 for i, u in enumerate(voip_holders)]
        session.execute(insert(Assignment), rows)
    engine.dispose()


def export(path: Path, users: int, changed: bool) -> int:
    """The directory as CSV (CRLF, quoted names). `changed`: a tenth of the rows differ — one user in
    thirty left (absent), as many joined (with base), one in sixty lost voip, one in sixty got it."""
    lines, differ = ["email,name,role,licences,status"], 0
    for u in range(users):
        licences = "base;voip" if u % 3 == 0 else "base"
        if changed and u % 30 == 7:
            differ += 1
            continue  # a leaver
        if changed and u % 60 in (15, 17):  # 15: a voip holder (u % 3 == 0) loses it; 17: one gets it
            differ += 1
            licences = "base" if u % 3 == 0 else "base;voip"
        lines.append(f'user{u:06d}@{DOMAIN},"User {u}",member,{licences},active')
    if changed:
        for j in range(users // 30):
            differ += 1
            lines.append(f'joiner{j:06d}@{DOMAIN},"Joiner, {j}",member,base,active')
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return differ


def run(args: list[str], env: dict[str, str]) -> dict[str, object]:
    """One `seatctl` process: wall seconds, CPU seconds (user + system: what a busy machine changes
    least), peak RSS (its own, from wait4), exit code, its JSON's counts."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen([sys.executable, "-m", "seatctl", *args], env=env, stdout=out,
                                 stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err = child.stderr.read().decode() if child.stderr else ""
        out.seek(0)
        data = json.loads(out.read() or b"null")
    summary = {k: v for k, v in (data or {}).items() if isinstance(v, int) and not isinstance(v, bool)}
    return {"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mib": round(usage.ru_maxrss / 1024, 1), "exit": child.returncode,
            "counts": summary, **({"stderr": err.strip()} if child.returncode else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "seatctl-bench-sync.db")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    same, changed = args.out.with_suffix(".same.csv"), args.out.with_suffix(".changed.csv")
    if args.build_only:  # in a child process: the parent stays small, so a forked child's peak RSS is its own
        build(args.out, args.users)
        export(same, args.users, changed=False)
        print(export(changed, args.users, changed=True))
        return
    started = time.perf_counter()
    built = subprocess.run([sys.executable, __file__, "--build-only", "--users", str(args.users), "--out", str(args.out)],
                           check=True, capture_output=True, text=True)
    differ = int(built.stdout)
    build_seconds = round(time.perf_counter() - started, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    env.update(SEATCTL_DB=str(args.out), SEATCTL_OPERATOR=OWNER.name, SEATCTL_NOW=NOW,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the CLI as installed: bytecode cached by this untimed run
    subprocess.run([sys.executable, "-m", "seatctl", "status", "big"], env=env, check=True, capture_output=True)
    figures: dict[str, object] = {"users": args.users, "rows_changed": differ, "build_seconds": build_seconds}
    figures["dry_run_unchanged"] = run(["sync", "big", str(same), "--dry-run", "--format", "json"], env)
    figures["dry_run_changed"] = run(["sync", "big", str(changed), "--remove-missing", "--dry-run", "--format", "json"],
                                     env)
    figures["apply_changed"] = run(["sync", "big", str(changed), "--remove-missing", "--format", "json"], env)
    figures["apply_again"] = run(["sync", "big", str(changed), "--remove-missing", "--format", "json"], env)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

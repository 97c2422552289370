"""`seatctl demo`: a sample ledger built step by step through the real command line."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path

USERS_CSV = """email,name,role
ana@acme.example.com,Ana Ruiz,admin
ben@acme.example.com,Ben Ode,agent
carla@acme.example.com,Carla Gil,agent
dev@acme.example.com,,
"""

# (clock, operator, command, expected exit code, what it shows)
STEPS: list[tuple[str, str, str, int, str]] = [
    ("2026-01-01T08:00:00Z", "alice", "init --currency EUR --timezone Europe/Madrid", 0,
     "Create the ledger; whoever runs init becomes its owner."),
    ("2026-01-01T08:01:00Z", "alice", "operator add cron --role billing", 0, "cron closes cycles: it needs billing."),
    ("2026-01-01T08:01:00Z", "alice", "operator add olivia --role operator", 0, "An operator who may only request purchases."),
    ("2026-01-01T08:02:00Z", "alice", "licence add base --name 'Base plan' --monthly 30.00 --annual 300.00", 0,
     "Four licence types (seed 000)."),
    ("2026-01-01T08:02:00Z", "alice", "licence add voip --name 'VoIP calls' --monthly 5.35", 0, ""),
    ("2026-01-01T08:02:00Z", "alice", "licence add messaging --name Messaging --monthly 4.00", 0, ""),
    ("2026-01-01T08:02:00Z", "alice", "licence add gsm --name 'GSM integration' --monthly 12.00", 0, ""),
    ("2026-01-01T08:03:00Z", "alice", "licence list", 0, ""),
    ("2026-01-01T09:00:00Z", "alice", "account add acme --name 'Acme Corp' --anchor 2026-01-01 --min base=2", 0,
     "A contract minimum of 2 base seats is bought at once, for the whole first period."),
    ("2026-01-01T09:05:00Z", "olivia", "user import acme {dir}/users.csv", 0, "Users from a CSV (all or nothing)."),
    ("2026-01-16T10:00:00Z", "alice", "buy acme voip 2 --quote", 0, "A mid-period purchase is prorated: 16 of 31 days left."),
    ("2026-01-16T10:00:00Z", "alice", "buy acme voip 2 --yes", 0, ""),
    ("2026-01-16T10:05:00Z", "olivia", "assign acme ana@acme.example.com base voip", 0, "Several licence types at once."),
    ("2026-01-16T10:06:00Z", "olivia", "assign acme ben@acme.example.com base voip", 0, ""),
    ("2026-01-16T10:07:00Z", "olivia", "assign acme carla@acme.example.com base", 4,
     "No free seat: refused, with the exact command to buy one (and a denial is recorded)."),
    ("2026-01-16T10:08:00Z", "olivia", "buy acme base 1 --yes", 0, "An operator's purchase is only a request..."),
    ("2026-01-16T10:08:30Z", "olivia", "status acme", 0, "...shown as 'buying'."),
    ("2026-01-16T10:09:00Z", "alice", "order approve 3", 0, "A billing operator approves it: charged from today."),
    ("2026-01-16T10:10:00Z", "olivia", "assign acme carla@acme.example.com base", 0, ""),
    ("2026-01-20T12:00:00Z", "olivia", "release acme ben@acme.example.com voip", 0, "The seat stays owned and free."),
    ("2026-01-20T12:01:00Z", "olivia", "assign acme dev@acme.example.com voip", 0, "Re-assigned to someone else."),
    ("2026-01-25T09:00:00Z", "olivia", "user deactivate acme carla@acme.example.com", 0,
     "Deactivating a user releases every seat they hold."),
    ("2026-01-25T09:01:00Z", "olivia", "status acme", 0, ""),
    ("2026-02-01T02:00:00Z", "cron", "cycle close", 0,
     "Cron at night: keep max(in use, minimum) per licence, cancel the other free seats, bill the renewal."),
    ("2026-02-01T02:05:00Z", "cron", "cycle close", 0, "A second run finds nothing due."),
    ("2026-02-01T09:00:00Z", "alice", "status acme", 0, ""),
    ("2026-02-01T09:00:00Z", "alice", "invoice list --account acme", 0, ""),
    ("2026-02-01T09:01:00Z", "alice", "invoice show INV-2026-000004", 0, "The renewal, line by line."),
    ("2026-02-02T09:00:00Z", "alice", "invoice void INV-2026-000003 --reason 'duplicate order'", 0,
     "Invoices never change; a credit note cancels one."),
    ("2026-02-02T09:01:00Z", "alice", "log --account acme --action denial", 0, "Refused assignments: what to buy."),
    ("2026-02-02T09:02:00Z", "alice", "cycle show acme", 0, ""),
]


def run_demo(path: str | None) -> int:
    from seatctl.cli.app import run

    folder = Path(path) if path else Path(tempfile.mkdtemp(prefix="seatctl-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    ledger = folder / "demo-ledger.db"
    if ledger.exists():
        print(f"error: {ledger} already exists. Remove it or choose another --path", file=sys.stderr)
        return 4
    (folder / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("SEATCTL_DB", "SEATCTL_NOW", "SEATCTL_OPERATOR")}
    os.environ["SEATCTL_DB"] = str(ledger)
    failures = 0
    try:
        for now, operator, command, expected, why in STEPS:
            command = command.format(dir=folder)
            os.environ["SEATCTL_NOW"], os.environ["SEATCTL_OPERATOR"] = now, operator
            if why:
                print(f"\n# {why}")
            print(f"$ SEATCTL_NOW={now} SEATCTL_OPERATOR={operator} seatctl {command}", flush=True)
            try:
                run(shlex.split(command))
                code = 0
            except SystemExit as exit_:
                code = int(exit_.code or 0)
            sys.stdout.flush()
            sys.stderr.flush()
            if code != expected:
                failures += 1
                print(f"!! expected exit {expected}, got {code}", file=sys.stderr)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    print(f"\nThe sample ledger is {ledger}. Try: seatctl --db {ledger} status")
    return 1 if failures else 0

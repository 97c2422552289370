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
    ("2026-01-01T08:01:00Z", "alice", "settings show", 0,
     "What changes money is the ledger's, the same on every machine: seatctl settings set KEY VALUE."),
    ("2026-01-01T08:02:00Z", "alice", "batch {dir}/catalogue.txt", 0,
     "Four licence types (seed 000), in one process: a batch file, one command a line (SPEC §11)."),
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
    # Peak billing (seed 002): no seat pool, billed in arrears on the high-water mark.
    ("2026-01-27T09:00:00Z", "alice", "account add callco --name 'Call Co' --mode peak --anchor 2026-01-27", 0,
     "A peak account: no purchases, billed on the most users holding a licence at once."),
    ("2026-01-27T09:01:00Z", "alice", "user import callco {dir}/callco.csv", 0, ""),
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
    ("2026-02-15T09:00:00Z", "olivia", "assign callco --from-csv {dir}/callco-assign.csv", 0,
     "Twenty agents get 'base' on 15 Feb…"),
    ("2026-02-26T18:00:00Z", "olivia", "user deactivate callco {agents}", 0, "…and leave on 26 Feb."),
    # Resellers (seed 001): children billed via their parent, one invoice with a line per child.
    ("2026-03-01T09:00:00Z", "alice", "account add resell --name 'Reseller SL' --anchor 2026-03-01 --discount 10", 0,
     "A reseller with a 10% discount and two customers billed through it."),
    ("2026-03-01T09:01:00Z", "alice",
     "account add shop-a --name 'Shop A' --parent resell --billed-via-parent --min base=3", 0, ""),
    ("2026-03-01T09:02:00Z", "alice",
     "account add shop-b --name 'Shop B' --parent resell --billed-via-parent --min voip=2", 0, ""),
    # Plans and metered services (seeds 002 and 004).
    ("2026-03-01T10:00:00Z", "alice", "meter add sms --name SMS --unit-price 0.05", 0,
     "A plan bundles seats and an allowance; usage above it is billed per unit."),
    ("2026-03-01T10:01:00Z", "alice", "plan add team --name Team --monthly 50.00 --includes base=5 --allowance sms=1000",
     0, ""),
    ("2026-03-01T10:02:00Z", "alice", "account add planco --name 'Plan Co' --anchor 2026-03-01 --plan team", 0, ""),
    ("2026-03-10T09:04:00Z", "alice", "buy shop-b voip 2 --yes", 0, "Charged to the reseller, prorated."),
    ("2026-03-10T09:05:00Z", "alice", "status resell --tree", 0, ""),
    ("2026-03-20T10:00:00Z", "olivia", "usage import {dir}/usage.csv", 0, ""),
    ("2026-03-20T10:01:00Z", "olivia", "usage import {dir}/usage.csv", 0, "Re-sending the same file bills nothing twice."),
    ("2026-03-20T10:02:00Z", "olivia", "status planco", 0, ""),
    ("2026-03-28T02:00:00Z", "cron", "cycle close --account callco", 0,
     "The period from 27 Jan bills 20 seats; the one from 27 Feb bills none."),
    ("2026-04-01T02:00:00Z", "cron", "cycle close", 0,
     "One invoice per close: the reseller's children, the plan's fee in advance, the SMS overage in arrears."),
    ("2026-04-01T09:00:00Z", "alice", "invoice list --from 2026-03-28", 0, ""),
    ("2026-04-01T09:00:30Z", "alice", "invoice show INV-2026-000013", 0, "The reseller's renewal names each child."),
    ("2026-04-01T09:01:00Z", "alice", "report consumption --account planco --from 2026-03-01 --to 2026-03-31", 0, ""),
    ("2026-04-01T09:02:00Z", "alice", "report usage --account acme --from 2026-01-01 --to 2026-02-28 --by month", 0,
     "Support tables: usage over time, users by role, revenue, denials."),
    ("2026-04-01T09:03:00Z", "alice", "report roles", 0, ""),
    ("2026-04-01T09:04:00Z", "alice", "report revenue --from 2026-01-01 --to 2026-03-31 --by month", 0, ""),
    ("2026-04-01T09:05:00Z", "alice", "doctor", 0, "Every invariant, checked."),
    # Seats follow people (SPEC §9): a Microsoft 365 export synced, then the waitlist.
    ("2026-04-02T09:00:00Z", "alice", "account add northwind --name 'Northwind Traders' --anchor 2026-04-01", 0,
     "A customer whose people live in Microsoft 365."),
    ("2026-04-02T09:01:00Z", "alice", "buy northwind base 4 --yes", 0, ""),
    ("2026-04-02T09:01:30Z", "alice", "buy northwind voip 2 --yes", 0, ""),
    ("2026-04-02T09:05:00Z", "olivia", "--config {dir}/seatctl.toml sync northwind {dir}/m365-monday.csv --profile m365 "
     "--dry-run", 0, "The admin centre's export (Users > Export users), read through the m365 profile of the config "
     "file: first the plan."),
    ("2026-04-02T09:06:00Z", "olivia", "--config {dir}/seatctl.toml sync northwind {dir}/m365-monday.csv --profile m365",
     0, "Applied in one transaction. The blocked user is added inactive; Power BI has no mapping: ignored, counted."),
    ("2026-04-02T09:07:00Z", "olivia", "--config {dir}/seatctl.toml sync northwind {dir}/m365-monday.csv --profile m365",
     0, "The same file again changes nothing."),
    ("2026-04-03T01:00:00Z", "olivia", "--config {dir}/seatctl.toml sync northwind {dir}/m365-tuesday.csv --profile m365 "
     "--remove-missing --dry-run", 4, "Next night's export: Carla has left, Dev is blocked, three people were hired. "
     "One seat short: without --buy or --wait the sync is refused, with the quote."),
    ("2026-04-03T01:01:00Z", "olivia", "--config {dir}/seatctl.toml sync northwind {dir}/m365-tuesday.csv --profile m365 "
     "--remove-missing --wait", 0, "With --wait the hire who finds no seat waits on the waitlist."),
    ("2026-04-03T09:00:00Z", "olivia", "status northwind", 0, ""),
    ("2026-04-03T09:01:00Z", "olivia", "assign northwind ben.ode@northwind.example voip --wait", 0,
     "assign --wait queues too (the denial is still recorded)."),
    ("2026-04-03T09:02:00Z", "olivia", "waitlist list", 0, ""),
    ("2026-04-03T09:03:00Z", "olivia", "report denials --account northwind", 0, ""),
    ("2026-04-03T10:00:00Z", "alice", "buy northwind base 1 --yes", 0,
     "Seats that arrive (or come free) go to the oldest request, in the same transaction."),
    ("2026-04-03T10:01:00Z", "olivia", "release northwind ana.ruiz@northwind.example voip", 0, ""),
    ("2026-04-03T10:02:00Z", "olivia", "log --account northwind --action assign --since 2026-04-03", 0, ""),
    ("2026-04-03T10:03:00Z", "alice", "doctor", 0, "Invariant 8 included: never a free seat while someone waits."),
]

M365_HEADER = ("Block credential,City,Country/Region,Department,DirSyncEnabled,Display name,Fax,First name,"
               "Last password change time stamp,Last name,Licenses,Mobile Phone,Oauth Token Expiry,Office,"
               "Password never expires,Phone number,Postal code,Preferred data location,Preferred language,"
               "Proxy addresses,Release track,Soft deletion time stamp,State,Street address,Strong password required,"
               "Title,Usage location,User principal name,When created")


def _m365(rows: list[tuple[str, str, str, str]]) -> str:
    """An admin centre export (UTF-8 with BOM, CRLF): (blocked, display name, licences, e-mail)."""
    lines = [M365_HEADER]
    for blocked, name, licences, email in rows:
        first, _, last = name.partition(" ")
        lines.append(f'{blocked},Lisbon,Portugal,Sales,,"{name}",,{first},4/1/2026 9:00:00 AM,{last},{licences},,,,'
                     f"False,,1000-001,,en-US,SMTP:{email},,,,,True,Agent,PT,{email},3/1/2026 10:00:00 AM")
    return "\ufeff" + "\r\n".join(lines) + "\r\n"


MONDAY = [("False", "Ana Ruiz", "nw:SPE_E3+nw:MCOEV", "ana.ruiz@northwind.example"),
          ("False", "Ben Ode", "nw:SPE_E3", "ben.ode@northwind.example"),
          ("False", "Carla Gil", "nw:SPE_E3+nw:POWER_BI_STANDARD", "carla.gil@northwind.example"),
          ("False", "Dev Patel", "nw:SPE_E3+nw:MCOEV", "dev.patel@northwind.example"),
          ("True", "Frank Moss", "nw:SPE_E3", "frank.moss@northwind.example")]
TUESDAY = [("False", "Ana Ruiz", "nw:SPE_E3+nw:MCOEV", "ana.ruiz@northwind.example"),
           ("False", "Ben Ode", "nw:SPE_E3", "ben.ode@northwind.example"),
           ("True", "Dev Patel", "nw:SPE_E3+nw:MCOEV", "dev.patel@northwind.example"),
           ("True", "Frank Moss", "nw:SPE_E3", "frank.moss@northwind.example"),
           ("False", "Gina Rossi", "nw:SPE_E3", "gina.rossi@northwind.example"),
           ("False", "Hugo Lind", "nw:SPE_E3+nw:MCOEV", "hugo.lind@northwind.example"),
           ("False", "Ines Sala", "nw:SPE_E3", "ines.sala@northwind.example")]
CONFIG = """[profiles.m365]
email = "User principal name"
name = "Display name"
licences = "Licenses"
separator = "+"
inactive_when = { "Block credential" = "True" }
ignore = ["Unlicensed"]

[profiles.m365.licence_map]
SPE_E3 = "base"
MCOEV = "voip"
"""

# The catalogue, run as a batch: each line as `seatctl LINE` would run it, one process for all of them.
CATALOGUE = """# The catalogue (seed 000): four licence types, then the list.
licence add base --name 'Base plan' --monthly 30.00 --annual 300.00
licence add voip --name 'VoIP calls' --monthly 5.35
licence add messaging --name Messaging --monthly 4.00
licence add gsm --name 'GSM integration' --monthly 12.00

licence list
"""

AGENTS = [f"agent{i:02d}@callco.example.com" for i in range(1, 21)]
EXTRA_FILES = {
    "callco.csv": "email,name,role\n" + "".join(f"{a},,agent\n" for a in AGENTS),
    "callco-assign.csv": "email,licence\n" + "".join(f"{a},base\n" for a in AGENTS),
    "usage.csv": "account,meter,quantity,at,id\nplanco,sms,900,2026-03-05T12:00:00Z,batch1-1\n"
                 "planco,sms,600,2026-03-18T12:00:00Z,batch1-2\n",
    "m365-monday.csv": _m365(MONDAY),
    "m365-tuesday.csv": _m365(TUESDAY),
    "seatctl.toml": CONFIG,
    "catalogue.txt": CATALOGUE,
}


def run_demo(path: str | None, fmt: str | None = None) -> int:
    from seatctl.cli.app import invoke

    folder = Path(path) if path else Path(tempfile.mkdtemp(prefix="seatctl-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    ledger = folder / "demo-ledger.db"
    if ledger.exists():
        print(f"error: {ledger} already exists. Remove it or choose another --path", file=sys.stderr)
        return 4
    (folder / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    for name, text in EXTRA_FILES.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    saved = {k: os.environ.get(k) for k in ("SEATCTL_DB", "SEATCTL_NOW", "SEATCTL_OPERATOR")}
    os.environ["SEATCTL_DB"] = str(ledger)
    failures = 0
    try:
        for now, operator, command, expected, why in sorted(STEPS, key=lambda step: step[0]):
            command = command.format(dir=folder, agents=" ".join(AGENTS))
            os.environ["SEATCTL_NOW"], os.environ["SEATCTL_OPERATOR"] = now, operator
            if why:
                print(f"\n# {why}")
            shown = command.replace(" ".join(AGENTS), "agent01@callco.example.com … agent20@callco.example.com")
            if command.startswith("batch "):
                print(f"$ cat {command.split()[1]}\n{(folder / 'catalogue.txt').read_text(encoding='utf-8')}", end="")
            print(f"$ SEATCTL_NOW={now} SEATCTL_OPERATOR={operator} seatctl {shown}", flush=True)
            argv = shlex.split(command) + (["--format", fmt] if fmt else [])
            real_stderr, sys.stderr = sys.stderr, sys.stdout  # a step's error line belongs in the walk-through
            try:
                code = invoke(argv)
            finally:
                sys.stderr = real_stderr
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

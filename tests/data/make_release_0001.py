"""Write tests/data/release_0001.json: every row of a ledger built by release 0001's own code.

The upgrade test (tests/test_upgrade.py) rebuilds that ledger at schema revision 0001 and upgrades
it with this release's `seatctl init`. The rows come from the previous release's CLI, not from this
one, so they are exactly what that release wrote. To regenerate (needs the git history):

    git archive ca12dce | (mkdir -p /tmp/seatctl-0001 && tar -x -C /tmp/seatctl-0001)
    .venv/bin/python tests/data/make_release_0001.py /tmp/seatctl-0001

(ca12dce is the last commit whose schema head is 0001.) Its config file has `tax_rate = 21` and
`invoice_prefix = "FAC-"`: release 0001 read them from the config of whoever wrote an invoice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).with_name("release_0001.json")
CONFIG = 'currency = "EUR"\ntimezone = "Europe/Madrid"\ntax_rate = 21\ninvoice_prefix = "FAC-"\n'

STEPS: list[tuple[str, str, list[str]]] = [  # (instant, operator, arguments)
    ("2026-11-01T08:00:00Z", "alice", ["init"]),
    ("2026-11-01T08:00:00Z", "alice", ["operator", "add", "cron", "--role", "billing"]),
    ("2026-11-01T08:00:00Z", "alice", ["operator", "add", "olivia", "--role", "operator"]),
    ("2026-11-01T08:00:00Z", "alice", ["operator", "add", "vera", "--role", "viewer"]),
    ("2026-11-01T08:00:00Z", "alice", ["licence", "add", "base", "--name", "Base", "--monthly", "30.00",
                                       "--annual", "300.00"]),
    ("2026-11-01T08:00:00Z", "alice", ["licence", "add", "voip", "--name", "VoIP", "--monthly", "5.35"]),
    ("2026-11-01T08:00:00Z", "alice", ["licence", "add", "msg", "--name", "Messaging", "--tiers",
                                       "5:7.00,10:6.50,inf:6.00", "--tier-mode", "graduated"]),
    ("2026-11-01T08:00:00Z", "alice", ["meter", "add", "sms", "--name", "SMS", "--unit-price", "0.012"]),
    ("2026-11-01T08:00:00Z", "alice", ["plan", "add", "team", "--name", "Team", "--monthly", "20.00",
                                       "--includes", "base=2", "--allowance", "sms=100"]),
    ("2026-11-01T08:00:00Z", "alice", ["account", "add", "acme", "--name", "Acme", "--anchor", "2026-11-01",
                                       "--discount", "12.5"]),
    ("2026-11-01T08:00:00Z", "alice", ["account", "add", "resel", "--name", "Reseller", "--anchor", "2026-11-01"]),
    ("2026-11-01T08:00:00Z", "alice", ["account", "add", "site", "--name", "Site", "--parent", "resel",
                                       "--billed-via-parent"]),
    ("2026-11-01T08:00:00Z", "alice", ["account", "add", "peaky", "--name", "Peaky", "--mode", "peak",
                                       "--anchor", "2026-11-01", "--plan", "team"]),
    ("2026-11-02T09:00:00Z", "olivia", ["user", "add", "acme", "ana@example.com", "--name", "Ana"]),
    ("2026-11-02T09:00:00Z", "olivia", ["user", "add", "acme", "bo@example.com"]),
    ("2026-11-02T09:00:00Z", "olivia", ["user", "add", "site", "cy@example.com"]),
    ("2026-11-02T09:00:00Z", "olivia", ["user", "add", "peaky", "di@example.com"]),
    ("2026-11-16T10:00:00Z", "cron", ["buy", "acme", "voip", "1", "--yes"]),
    ("2026-11-16T10:00:00Z", "cron", ["buy", "acme", "msg", "7", "--yes"]),
    ("2026-11-16T10:00:00Z", "cron", ["buy", "site", "base", "2", "--yes"]),
    ("2026-11-17T10:00:00Z", "olivia", ["assign", "acme", "ana@example.com", "voip", "msg"]),
    ("2026-11-17T10:00:00Z", "olivia", ["assign", "acme", "bo@example.com", "voip"]),  # a denial
    ("2026-11-17T10:00:00Z", "olivia", ["assign", "site", "cy@example.com", "base"]),
    ("2026-11-17T10:00:00Z", "olivia", ["assign", "peaky", "di@example.com", "voip"]),
    ("2026-11-18T10:00:00Z", "olivia", ["buy", "acme", "base", "1", "--yes", "--request-id", "req-1"]),
    ("2026-11-19T10:00:00Z", "cron", ["order", "approve", "4"]),
    ("2026-11-20T10:00:00Z", "cron", ["usage", "record", "peaky", "sms", "250", "--id", "u-1"]),
    ("2026-11-21T10:00:00Z", "olivia", ["release", "acme", "ana@example.com", "msg"]),
    ("2026-12-01T02:00:00Z", "cron", ["cycle", "close"]),
    ("2026-12-02T10:00:00Z", "cron", ["invoice", "void", "FAC-2026-000002", "--reason", "wrong quantity"]),
    ("2026-12-03T10:00:00Z", "olivia", ["buy", "acme", "voip", "2", "--yes"]),  # a pending order
]


def main(source: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = Path(folder) / "ledger.db"
        Path(folder, "seatctl.toml").write_text(CONFIG, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
        env.update(PYTHONPATH=source, SEATCTL_DB=str(ledger))
        for at, operator, args in STEPS:
            done = subprocess.run([sys.executable, "-m", "seatctl", *args], cwd=folder, capture_output=True,
                                  text=True, env={**env, "SEATCTL_NOW": at, "SEATCTL_OPERATOR": operator})
            expected = 4 if args[:3] == ["assign", "acme", "bo@example.com"] else 0  # the denial exits 4
            if done.returncode != expected:
                raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr}")
        con = sqlite3.connect(ledger)
        revision = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        assert revision == "0001", revision
        tables = [name for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('alembic_version') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        dump: dict[str, object] = {"revision": revision, "config": CONFIG, "tables": {}}
        for table in tables:
            cursor = con.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            columns = [d[0] for d in cursor.description]
            dump["tables"][table] = {"columns": columns, "rows": [list(r) for r in cursor]}  # type: ignore[index]
        con.close()
    OUT.write_text(json.dumps(dump, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])

"""Start-up cost: `--help` loads no database or table library; ledger commands never load Alembic."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import process_env, run_process

PROBE = """
import json, sys
sys.argv = ["seatctl", *{args!r}]
try:
    from seatctl.cli import main
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _all_modules(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                          env=env, timeout=60)
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def _modules(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    return {name.split(".")[0] for name in _all_modules(args, env)}


def test_help_imports_neither_sqlalchemy_nor_rich_nor_alembic():
    loaded = _modules(["--help"])
    assert not loaded & {"sqlalchemy", "sqlmodel", "rich", "alembic", "pendulum", "babel"}


def test_help_builds_no_command_module():
    # The root lists the registry's summaries; command modules load only for the command that runs.
    loaded = _all_modules(["--help"])
    assert "seatctl.cli.app" in loaded
    assert not {m for m in loaded if m.startswith("seatctl.cli.") and m not in ("seatctl.cli.app", "seatctl.cli.common")}


@pytest.mark.parametrize("args", [["buy", "--help"], ["assign", "--help"], ["account", "--help"],
                                  ["report", "usage", "--help"]])
def test_subcommand_help_is_light_too(args):
    loaded = _modules(args)
    assert "typer" in loaded  # the probe ran
    assert not loaded & {"sqlalchemy", "sqlmodel", "rich", "alembic", "pendulum", "babel"}


def test_a_ledger_command_does_not_import_alembic(tmp_path):
    env = {"SEATCTL_DB": str(tmp_path / "l.db"), "SEATCTL_OPERATOR": "alice", "SEATCTL_NOW": "2026-11-01T00:00:00Z"}
    init = run_process(["init"], env)
    assert init.returncode == 0, init.stderr
    loaded = _all_modules(["status", "--format", "plain"], process_env(env))
    assert "sqlalchemy" in loaded  # the probe really ran a ledger command
    assert "alembic" not in loaded
    # a read loads neither the write path nor the PostgreSQL dialect on a SQLite ledger
    assert not loaded & {"seatctl.ops.write", "seatctl.ops.cycles", "seatctl.ops.metering", "sqlalchemy.dialects.postgresql"}


def test_a_completion_request_imports_no_write_path_alembic_or_database_library(tmp_path):
    # Tab runs a process every time: on a SQLite ledger it reads slugs with sqlite3 alone.
    env = {"SEATCTL_DB": str(tmp_path / "l.db"), "SEATCTL_OPERATOR": "alice", "SEATCTL_NOW": "2026-11-01T00:00:00Z"}
    assert run_process(["init"], env).returncode == 0
    assert run_process(["account", "add", "acme", "--name", "Acme"], env).returncode == 0
    request = {**env, "_SEATCTL_COMPLETE": "complete_bash", "COMP_WORDS": "seatctl assign acme ", "COMP_CWORD": "3"}
    loaded = _all_modules([], process_env(request))
    assert "seatctl.cli.complete" in loaded and "sqlite3" in loaded  # the probe answered from the ledger
    assert not {m.split(".")[0] for m in loaded} & {"alembic", "sqlalchemy", "sqlmodel", "pydantic", "rich", "pendulum"}
    assert not {m for m in loaded if m.startswith(("seatctl.ops", "seatctl.store", "seatctl.reports"))}

"""Fixtures: a real temporary SQLite ledger, driven through the CLI (Typer's runner) or the domain API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seatctl.cli.app import app

START = "2026-11-01T09:00:00Z"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Seatctl:
    """Runs `seatctl ARGS…` in-process against one ledger file, with a settable clock and operator."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.now = START
        self.operator = "alice"
        self.runner = CliRunner()

    def __call__(self, *args: str, now: str | None = None, operator: str | None = None,
                 input: str | None = None, env: dict[str, str] | None = None) -> Result:
        environ = {"SEATCTL_DB": str(self.db), "SEATCTL_NOW": now or self.now,
                   "SEATCTL_OPERATOR": operator or self.operator, **(env or {})}
        result = self.runner.invoke(app, [str(a) for a in args], env=environ, input=input, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, **kw: Any) -> Result:
        """Run and insist on exit 0 (the assertion message shows stderr)."""
        result = self(*args, **kw)
        assert result.code == 0, f"seatctl {' '.join(args)} exited {result.code}: {result.err}{result.out}"
        return result

    def json(self, *args: str, **kw: Any) -> Any:
        return self.ok(*args, "--format", "json", **kw).json()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads a real config file, the real clock or the user's data folder."""
    monkeypatch.chdir(tmp_path)
    for key in ("SEATCTL_DB", "SEATCTL_CONFIG", "SEATCTL_NOW", "SEATCTL_OPERATOR", "SEATCTL_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def cli(tmp_path: Path) -> Seatctl:
    """A CLI bound to a not-yet-created ledger file."""
    return Seatctl(tmp_path / "ledger.db")


@pytest.fixture
def ledger(cli: Seatctl) -> Seatctl:
    """An initialised ledger (EUR, UTC) owned by 'alice', with cron (billing) and olivia (operator)
    and four licence types: base 30.00, voip 5.35, messaging 4.00, gsm 12.00 per month."""
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")
    cli.ok("operator", "add", "cron", "--role", "billing")
    cli.ok("operator", "add", "olivia", "--role", "operator")
    cli.ok("operator", "add", "vera", "--role", "viewer")
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00", "--annual", "300.00")
    cli.ok("licence", "add", "voip", "--name", "VoIP", "--monthly", "5.35")
    cli.ok("licence", "add", "messaging", "--name", "Messaging", "--monthly", "4.00")
    cli.ok("licence", "add", "gsm", "--name", "GSM", "--monthly", "12.00")
    return cli


def run_process(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m seatctl ARGS…` as a real process (for start-up, concurrency and crash tests)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "seatctl", *args], env=environ, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def process() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_process


@pytest.fixture
def engine_of() -> Iterator[Callable[[Path], Any]]:
    """Engines on a ledger file for domain-API tests; disposed afterwards."""
    from seatctl import db

    engines = []

    def make(path: Path) -> Any:
        engine = db.open_ledger(db.Location(str(path)))
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()

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
    """Runs `seatctl ARGS…` in-process against one ledger, with a settable clock and operator.

    The ledger is a SQLite file, or (backend "postgresql") a fresh schema of the test database where
    each operator connects as its own database role. `.db` (the SQLite path) skips the test on
    PostgreSQL; `.env(operator)` gives the environment for a real `seatctl` process on either."""

    def __init__(self, path: Path, pg_url: str | None = None) -> None:
        self._path = path
        self.pg_url = pg_url  # with {user} where the operator's role goes
        self.now = START
        self.operator = "alice"
        self.runner = CliRunner()

    @property
    def backend(self) -> str:
        return "postgresql" if self.pg_url else "sqlite"

    @property
    def db(self) -> Path:
        if self.pg_url:
            pytest.skip("works on the SQLite file itself")
        return self._path

    def location(self, operator: str | None = None) -> str:
        if self.pg_url:
            return self.pg_url.format(user=operator or self.operator)
        return str(self._path)

    def env(self, operator: str | None = None, now: str | None = None) -> dict[str, str]:
        return {"SEATCTL_DB": self.location(operator), "SEATCTL_NOW": now or self.now,
                "SEATCTL_OPERATOR": operator or self.operator}

    def __call__(self, *args: str, now: str | None = None, operator: str | None = None,
                 input: str | None = None, env: dict[str, str] | None = None) -> Result:
        environ = {**self.env(operator, now), **(env or {})}
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


PG_ROLES = ("alice", "cron", "olivia", "vera", "mallory", "bob", "carol", "dave", "erin")


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("SEATCTL_TEST_PG_URL") else ["sqlite"]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session (when SEATCTL_TEST_PG_URL is set), with a
    login role for each operator the tests use; dropped at the end."""
    admin_url = os.environ.get("SEATCTL_TEST_PG_URL")
    if not admin_url:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"seatctl_test_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        for role in PG_ROLES:
            if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    url = make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_schemas = iter(range(1, 1_000_000))


@pytest.fixture(params=_backends())
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Seatctl]:
    """A CLI bound to a not-yet-created ledger: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield Seatctl(tmp_path / "ledger.db")
        return
    url = request.getfixturevalue("pg_database")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t{os.getpid()}_{next(_schemas)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}" AUTHORIZATION alice'))
    per_operator = make_url(url).set(username="USER", password=None).update_query_dict(
        {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    yield Seatctl(tmp_path / "ledger.db", pg_url=per_operator.replace("USER@", "{user}@", 1))
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


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


def copy_ledger(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite ledger, whatever is still in its WAL (SQLite's backup API)."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


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
    from seatctl.store import engine as db

    engines = []

    def make(path: Path) -> Any:
        engine = db.open_ledger(db.Location(str(path)))
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()

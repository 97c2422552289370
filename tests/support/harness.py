"""The in-process CLI the tests drive, and the places it runs in: an isolated folder, a SQLite file
(or a copy of a template built once), or a fresh schema of the PostgreSQL test database."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from seatctl.cli.app import app

START = "2026-11-01T09:00:00Z"  # every Seatctl's clock until a test moves it
# What a test must not inherit from the shell that runs it.
SEATCTL_VARIABLES = ("SEATCTL_DB", "SEATCTL_CONFIG", "SEATCTL_NOW", "SEATCTL_OPERATOR", "SEATCTL_DEBUG")
# The PostgreSQL login roles of the operators the tests use (created once per server, shared by every run).
PG_ROLES = ("alice", "cron", "olivia", "vera", "mallory", "bob", "carol", "dave", "erin")

T = TypeVar("T")


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

    @property
    def folder(self) -> Path:
        """The test's own folder (where the SQLite file is or would be): for input files."""
        return self._path.parent

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


@contextmanager
def isolated(folder: Path) -> Iterator[pytest.MonkeyPatch]:
    """Run inside `folder`: it is the working directory and holds the XDG config and data folders, and no
    SEATCTL_ variable of the caller's shell is seen. So nothing reads a real config file, the real clock
    or the user's data folder, and nothing is shared with another test or another xdist worker."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for key in SEATCTL_VARIABLES:
            mp.delenv(key, raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(folder / "xdg-config"))
        mp.setenv("XDG_DATA_HOME", str(folder / "xdg-data"))
        yield mp


def backends() -> list[str]:
    """The backends every ledger test runs on: PostgreSQL too when SEATCTL_TEST_PG_URL names a server."""
    return ["sqlite", "postgresql"] if os.environ.get("SEATCTL_TEST_PG_URL") else ["sqlite"]


@contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A fresh database for this process (one per pytest process, so one per xdist worker), with a login
    role for each operator the tests use; dropped at the end. Yields its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"seatctl_test_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # Roles belong to the whole server, and two CREATE DATABASE from one template may clash: xdist
        # workers starting together take turns (a session-level advisory lock).
        conn.execute(text("SELECT pg_advisory_lock(hashtext('seatctl tests: setup'))"))
        try:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            for role in PG_ROLES:
                if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                    conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext('seatctl tests: setup'))"))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def pg_schema(database_url: str, schema: str) -> Iterator[str]:
    """A fresh schema owned by alice in the test database, dropped afterwards. Yields the URL each
    operator connects with: `{user}` where the operator's role goes, the schema on the search path."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}" AUTHORIZATION alice'))
        per_operator = make_url(database_url).set(username="USER", password=None).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        yield per_operator.replace("USER@", "{user}@", 1)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def copy_ledger(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite ledger, whatever is still in its WAL (SQLite's backup API)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def build_template(folder: Path, build: Callable[[Seatctl], T]) -> tuple[Path, T]:
    """A SQLite ledger built once (for a module) by `build`, isolated in `folder`; tests take copies
    of it (`copy_of`). Returns its path and what `build` returned."""
    with isolated(folder):
        cli = Seatctl(folder / "template.db")
        made = build(cli)
    return cli.db, made


def copy_of(template: Path, folder: Path, now: str) -> Seatctl:
    """A test's private copy of a template ledger, as `folder`/ledger.db, with the clock at `now`."""
    cli = Seatctl(copy_ledger(template, folder / "ledger.db"))
    cli.now = now
    return cli

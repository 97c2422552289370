"""Fixtures: a real temporary ledger (a SQLite file, or a PostgreSQL schema when SEATCTL_TEST_PG_URL is
set), driven through the CLI (Typer's runner), real processes or the domain API. The helpers behind
them are in tests/support.

Safe under pytest-xdist: each test runs in its own tmp_path (the working directory, the XDG folders,
the SQLite file, input files), module templates are built in a tmp_path_factory folder of the worker,
and on PostgreSQL each worker process has its own database (named after its pid)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from support import Seatctl, add_account, backends, isolated, pg_schema, run_process, standard_ledger
from support.harness import pg_database as fresh_pg_database


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path) -> Iterator[None]:
    """No test reads a real config file, the real clock or the user's data folder."""
    with isolated(tmp_path):
        yield


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test process (when SEATCTL_TEST_PG_URL is set), with a
    login role for each operator the tests use; dropped at the end."""
    admin_url = os.environ.get("SEATCTL_TEST_PG_URL")
    if not admin_url:
        yield None
        return
    with fresh_pg_database(admin_url) as url:
        yield url


_schemas = count(1)


@pytest.fixture(params=backends())
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Seatctl]:
    """A CLI bound to a not-yet-created ledger: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield Seatctl(tmp_path / "ledger.db")
        return
    with pg_schema(request.getfixturevalue("pg_database"), f"t{os.getpid()}_{next(_schemas)}") as url:
        yield Seatctl(tmp_path / "ledger.db", pg_url=url)


@pytest.fixture
def ledger(cli: Seatctl) -> Seatctl:
    """An initialised ledger (EUR, UTC) owned by 'alice', with cron (billing), olivia (operator) and
    vera (viewer), and four licence types: base 30.00 (annual 300.00), voip 5.35, messaging 4.00,
    gsm 12.00 per month (support.standard_ledger)."""
    return standard_ledger(cli)


@pytest.fixture
def acme(ledger: Seatctl) -> Seatctl:
    """The ledger with account 'acme' (monthly from 1 Nov), created at the ledger's own clock (1 Nov
    2026 09:00), the clock left there. A module adds what it needs by overriding this fixture."""
    add_account(ledger)
    return ledger


@pytest.fixture
def process() -> Callable[..., Any]:
    """`process(ARGS, ENV, timeout=60)`: `python -m seatctl ARGS…` as a real process (support.run_process)."""
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

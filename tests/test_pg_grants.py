"""PostgreSQL grants (SPEC §6): each operator's database role holds what its commands need and no more,
so no role raises itself with plain SQL; an operator's writes (and the close they trigger) still work;
`doctor` compares every registered role's grants with its seatctl role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, exc, text
from support import Seatctl, add_account

DEC_2 = "2026-12-02T10:00:00Z"


@pytest.fixture
def pg(ledger: Seatctl) -> Seatctl:
    if ledger.backend != "postgresql":
        pytest.skip("PostgreSQL grants (SQLite's boundary is the file's permissions)")
    return ledger


@contextmanager
def _sql(cli: Seatctl, role: str) -> Iterator[Any]:
    """A plain SQL connection logged in as `role` (psql -U role), in one transaction."""
    engine = create_engine(cli.location(role))
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _refused(cli: Seatctl, role: str, statement: str) -> None:
    with pytest.raises(exc.ProgrammingError) as caught:
        with _sql(cli, role) as conn:
            conn.execute(text(statement))
    assert "permission denied" in str(caught.value), caught.value


def _allowed(cli: Seatctl, role: str, statement: str) -> None:
    with _sql(cli, role) as conn:
        conn.execute(text(statement))
        conn.rollback()


def test_an_operator_cannot_raise_itself_add_licences_or_void_with_plain_sql(pg: Seatctl) -> None:
    add_account(pg)
    pg.ok("buy", "acme", "base", "2", "--yes")
    _refused(pg, "olivia", "UPDATE operator SET role = 'owner' WHERE name = 'olivia'")
    _refused(pg, "olivia", "INSERT INTO operator (name, role, created_at) VALUES ('x', 'owner', now())")
    _refused(pg, "olivia", "INSERT INTO licence (code, name, created_at) VALUES ('x', 'X', now())")
    _refused(pg, "olivia", "UPDATE licence_price SET tiers = 'inf:0.00'")
    _refused(pg, "olivia", "UPDATE account SET name = 'mine', status = 'active'")
    _refused(pg, "olivia", "UPDATE setting SET value = 'USD' WHERE key = 'currency'")
    _refused(pg, "olivia", "INSERT INTO invoice (number, series, year, seq, account_id, kind, issued_at, period_start, "
                           "period_end, currency, subtotal_minor, tax_minor, total_minor, credit_of, reason) SELECT "
                           "'CN-2026-000001', 'CN-', 2026, 1, account_id, 'credit', now(), period_start, period_end, "
                           "currency, -total_minor, 0, -total_minor, id, 'mine' FROM invoice")
    _refused(pg, "olivia", "DELETE FROM app_user")
    _refused(pg, "cron", "UPDATE operator SET role = 'owner' WHERE name = 'cron'")  # billing: not operators
    _refused(pg, "vera", "INSERT INTO app_user (account_id, email, role, status, created_at) "
                         "SELECT id, 'x@example.com', 'member', 'active', now() FROM account")
    _allowed(pg, "cron", "UPDATE licence SET name = name")  # billing may change the catalogue
    # the commands themselves say no as before (exit 5), whatever the database would allow
    assert pg("operator", "add", "mallory", "--role", "owner", operator="olivia").code == 5
    assert pg("invoice", "void", "INV-2026-000001", "--reason", "x", operator="olivia").code == 5


def test_an_operators_commands_and_the_close_they_trigger_still_work(pg: Seatctl) -> None:
    """Olivia's first write after the period ends closes it: trim, lowered minimum, plan seats, invoice."""
    pg.ok("meter", "add", "sms", "--name", "SMS", "--unit-price", "0.01")
    pg.ok("plan", "add", "team", "--name", "Team", "--monthly", "50.00", "--includes", "voip=2")
    add_account(pg, "acme", "--min", "base=3", "--plan", "team")
    pg.ok("buy", "acme", "base", "2", "--yes")
    pg.ok("account", "set-min", "acme", "base=1")  # lowered: takes effect at the close
    for who in ("ana", "bo"):
        pg.ok("user", "add", "acme", f"{who}@example.com", operator="olivia")
    pg.ok("assign", "acme", "ana@example.com", "base", operator="olivia")
    pg.ok("usage", "record", "acme", "sms", "10", "--id", "u1", operator="olivia")
    assert pg.json("buy", "acme", "base", "1", "--yes", operator="olivia")["status"] == "pending"
    before = len(pg.json("invoice", "list"))
    pg.ok("assign", "acme", "bo@example.com", "voip", now=DEC_2, operator="olivia")  # closes November first
    after = pg.json("invoice", "list", now=DEC_2)
    assert len(after) == before + 1 and after[-1]["kind"] == "renewal", after
    pg.ok("release", "acme", "ana@example.com", "base", now=DEC_2, operator="olivia")
    pg.ok("user", "deactivate", "acme", "bo@example.com", now=DEC_2, operator="olivia")
    assert pg("doctor", now=DEC_2).code == 0


def test_doctor_flags_a_role_given_more_or_less_than_its_seatctl_role(pg: Seatctl) -> None:
    ok = pg.json("doctor")
    assert {r["check"]: r["status"] for r in ok}["grants"] == "ok", ok
    with _sql(pg, "postgres") as conn:
        conn.execute(text("GRANT INSERT ON licence TO olivia"))
        conn.execute(text("GRANT UPDATE (role) ON operator TO vera"))
        conn.execute(text("REVOKE INSERT ON app_user FROM olivia"))
    result = pg("doctor", "--format", "json")
    assert result.code == 4
    detail = {r["check"]: r for r in result.json()}["grants"]
    assert detail["status"] == "FAIL"
    assert "'olivia' (operator) may also INSERT licence" in detail["detail"], detail
    assert "'vera' (viewer) may also UPDATE operator(role)" in detail["detail"], detail
    assert "'olivia' (operator) lacks INSERT app_user" in detail["detail"], detail
    pg.ok("init")  # the owner gives every role its rights again
    assert pg("doctor").code == 0


def test_public_holds_nothing_and_a_removed_operator_keeps_nothing(pg: Seatctl) -> None:
    with _sql(pg, "postgres") as conn:
        conn.execute(text("GRANT SELECT ON event TO PUBLIC"))
    result = pg("doctor", "--format", "json")
    assert result.code == 4
    assert "PUBLIC holds SELECT on event" in {r["check"]: r for r in result.json()}["grants"]["detail"]
    pg.ok("init")
    pg.ok("operator", "remove", "olivia")
    _refused(pg, "olivia", "SELECT count(*) FROM event")
    assert pg("doctor").code == 0

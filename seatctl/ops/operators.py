"""Operators and their roles: viewer < operator < billing < owner."""

from __future__ import annotations

import getpass
import os
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, select

from seatctl.errors import Refused, UsageError
from seatctl.ops.context import find_operator
from seatctl.rules.names import clean_name
from seatctl.rules.roles import ROLES, Actor
from seatctl.store import audit
from seatctl.store.tables import Operator


def identity(session: Session | None = None) -> str:
    """Who is acting. On PostgreSQL, the database role the connection logged in as (each operator
    connects as their own role, and the database's grants are the real boundary). Elsewhere
    `SEATCTL_OPERATOR`, else the OS login name."""
    if session is not None and session.get_bind().dialect.name == "postgresql":
        return str(session.execute(text("SELECT current_user")).scalar())
    name = os.environ.get("SEATCTL_OPERATOR") or getpass.getuser()
    return name.strip()


GRANTS = {
    "viewer": "SELECT",
    "operator": "SELECT, INSERT, UPDATE, DELETE",
    "billing": "SELECT, INSERT, UPDATE, DELETE",
    "owner": "SELECT, INSERT, UPDATE, DELETE",
}


def _grant(session: Session, name: str, role: str) -> None:
    """On PostgreSQL, give the operator's database role what its seatctl role needs."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if not session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
        raise Refused(f"PostgreSQL has no role '{name}'",
                      f"Create it first (as a superuser): CREATE ROLE \"{name}\" LOGIN")
    schema = session.execute(text("SELECT current_schema()")).scalar()
    who, where = f'"{name}"', f'"{schema}"'
    session.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {who}"))
    session.execute(text(f"GRANT {GRANTS[role]} ON ALL TABLES IN SCHEMA {where} TO {who}"))
    session.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}"))


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"unknown role '{role}'", f"Use one of: {', '.join(ROLES)}")
    return role


def add_operator(session: Session, *, name: str, role: str, actor: Actor, now: datetime) -> Operator:
    actor.require("owner", "manage operators")
    check_role(role)
    if not (clean_name(name, "an operator name") or "") or len(name) > 200 or name != name.strip():
        raise UsageError(f"operator name '{name}' is not valid", "Use a login name")
    if session.exec(select(Operator).where(Operator.name == name)).first():
        raise Refused(f"operator '{name}' already exists", "See: seatctl operator list")
    op = Operator(name=name, role=role, created_at=now)
    session.add(op)
    _grant(session, name, role)
    audit.record(session, at=now, operator=actor.name, action="operator.add", operator_name=name, role=role)
    return op


def remove_operator(session: Session, *, name: str, actor: Actor, now: datetime) -> None:
    actor.require("owner", "manage operators")
    op = find_operator(session, name)
    if op.role == "owner":
        owners = session.exec(select(Operator).where(Operator.role == "owner")).all()
        if len(owners) == 1:
            raise Refused("cannot remove the last owner", "Add another owner first")
    session.delete(op)
    audit.record(session, at=now, operator=actor.name, action="operator.remove", operator_name=name)


def list_operators(session: Session) -> list[dict[str, object]]:
    return [{"name": o.name, "role": o.role, "since": o.created_at.date().isoformat()}
            for o in session.exec(select(Operator).order_by(Operator.name)).all()]

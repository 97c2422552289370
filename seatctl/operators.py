"""Operators and their roles: viewer < operator < billing < owner."""

from __future__ import annotations

import getpass
import os
from datetime import datetime

from sqlmodel import Session, select

from seatctl import audit
from seatctl.context import Actor, find_operator
from seatctl.errors import Refused, UsageError
from seatctl.models import ROLES, Operator
from seatctl.names import clean_name


def identity() -> str:
    """`SEATCTL_OPERATOR`, else the OS login name."""
    name = os.environ.get("SEATCTL_OPERATOR") or getpass.getuser()
    return name.strip()


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

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
from seatctl.store.statements import MOVED
from seatctl.store.tables import Operator, metadata


def identity(session: Session | None = None) -> str:
    """Who is acting. On PostgreSQL, the database role the connection logged in as (each operator
    connects as their own role, and the database's grants are the real boundary). Elsewhere
    `SEATCTL_OPERATOR`, else the OS login name."""
    if session is not None and session.get_bind().dialect.name == "postgresql":
        return str(session.execute(text("SELECT current_user")).scalar())
    name = os.environ.get("SEATCTL_OPERATOR") or getpass.getuser()
    return name.strip()


# PostgreSQL grants (SPEC §6): what each role's commands write, table by table, and no more. A role's
# database login is its identity there, so these grants, not seatctl's role checks, are the boundary
# against plain SQL. Every role reads every table. A privilege with columns (`UPDATE(a, b)`) is granted
# on those columns only: a write by an operator closes the account's ended periods on the way (the close
# moves the account to its next period, trims seats, applies lowered minimums, writes the invoice),
# so an operator's role may change exactly what the close changes. README "Safety" lists what each
# role can still write with plain SQL, and why.
_READ_ONLY = ("alembic_version",)
_INVOICE_COLUMNS = ("number", "series", "year", "seq", "account_id", "kind", "issued_at", "period_start",
                    "period_end", "currency", "subtotal_minor", "tax_minor", "total_minor")  # not credit_of, reason
_CLOSE: dict[str, tuple[str, ...]] = {
    "account": (f"UPDATE({', '.join(MOVED)})",),
    "seat": ("INSERT", "UPDATE(cancelled_at)"),  # a plan's included seats; the trim
    "minimum": ("UPDATE(quantity, pending_quantity)",),  # a lowered minimum takes effect
    "assignment": ("INSERT", "UPDATE(released_at)"),  # waiting requests seated; the final close releases
    "waitlist": ("UPDATE(resolved_at, resolution, assignment_id)",),
    "closed_period": ("INSERT",),
    "invoice": (f"INSERT({', '.join(_INVOICE_COLUMNS)})",),
    "invoice_line": ("INSERT",),
    "invoice_counter": ("INSERT", "UPDATE(last)"),
    "event": ("INSERT",),
}
_OPERATOR: dict[str, tuple[str, ...]] = {  # users, assign, release, purchase requests, usage, sync, waitlist
    "app_user": ("INSERT", "UPDATE"),
    "assignment": ("INSERT", "UPDATE"),
    "waitlist": ("INSERT", "UPDATE"),
    "purchase_order": ("INSERT", "UPDATE"),
    "usage_record": ("INSERT",),
}
_BILLING: dict[str, tuple[str, ...]] = {  # + confirmed purchases, accounts, the catalogue, prices, minimums, settings
    **{t: ("INSERT", "UPDATE") for t in ("account", "minimum", "seat", "licence", "licence_price", "meter", "plan",
                                          "plan_include", "plan_allowance", "setting", "invoice", "invoice_counter")},
}
_OWNER: dict[str, tuple[str, ...]] = {"operator": ("INSERT", "UPDATE", "DELETE")}
_ROLE_SPECS = {"viewer": (), "operator": (_CLOSE, _OPERATOR), "billing": (_CLOSE, _OPERATOR, _BILLING),
               "owner": (_CLOSE, _OPERATOR, _BILLING, _OWNER)}

Right = tuple[str, str, str | None]  # (table, privilege, column or None for the whole table)


def ledger_tables() -> list[str]:
    return sorted([*metadata.tables, *_READ_ONLY])


def expected_rights(role: str) -> set[Right]:
    """The rights a seatctl role's database role should hold, one (table, privilege, column) each;
    a privilege on the whole table makes the same privilege on some of its columns redundant."""
    rights: set[Right] = {(t, "SELECT", None) for t in ledger_tables()}
    for spec in _ROLE_SPECS[role]:
        for table, privileges in spec.items():
            for privilege in privileges:
                name, _, cols = privilege.partition("(")
                if cols:
                    rights |= {(table, name, c.strip()) for c in cols.rstrip(")").split(",")}
                else:
                    rights.add((table, name, None))
    whole = {(t, p) for t, p, c in rights if c is None}
    return {(t, p, c) for t, p, c in rights if c is None or (t, p) not in whole}


GRANTS = {role: expected_rights(role) for role in ROLES}


def _grant(session: Session, name: str, role: str) -> None:
    """On PostgreSQL, give the operator's database role what its seatctl role needs, and nothing else:
    everything it held on the ledger's tables is revoked first (and PUBLIC holds nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if not session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
        raise Refused(f"PostgreSQL has no role '{name}'",
                      f"Create it first (as a superuser): CREATE ROLE \"{name}\" LOGIN")
    schema = session.execute(text("SELECT current_schema()")).scalar()
    who, where = _quote(name), _quote(str(schema))
    _revoke_public(session, where)
    if _owns_ledger(session, name):  # the role that created the ledger owns its tables: every right already
        return
    _revoke(session, who, where)
    session.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {who}"))
    by_table: dict[tuple[str, str], list[str]] = {}
    for table, privilege, column in sorted(GRANTS[role], key=lambda r: (r[0], r[1], r[2] or "")):
        by_table.setdefault((table, privilege), []).append(column or "")
    for (table, privilege), columns in by_table.items():
        cols = "" if columns == [""] else "(" + ", ".join(_quote(c) for c in columns) + ")"
        session.execute(text(f"GRANT {privilege}{cols} ON {where}.{_quote(table)} TO {who}"))
    if role != "viewer":  # ids of new rows
        session.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {where} TO {who}"))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _owns_ledger(session: Session, name: str) -> bool:
    return bool(session.execute(text(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = 'event' AND pg_get_userbyid(c.relowner) = :n"),
        {"n": name}).first())


def _revoke(session: Session, who: str, where: str) -> None:
    """Everything the role holds on the ledger's tables and sequences (column rights included)."""
    session.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM {who}"))
    session.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM {who}"))
    for table in ledger_tables():  # REVOKE on the table revokes its column rights too, but say it plainly
        session.execute(text(f"REVOKE ALL ON {where}.{_quote(table)} FROM {who}"))


def _revoke_public(session: Session, where: str) -> None:
    session.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM PUBLIC"))
    session.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM PUBLIC"))


def held_rights(session: Session, name: str) -> set[Right] | None:
    """The rights a database role holds on the ledger's tables by explicit grants (None: no such role)."""
    oid = session.execute(text("SELECT oid FROM pg_roles WHERE rolname = :n"), {"n": name}).scalar()
    if oid is None:
        return None
    tables = session.execute(text(
        "SELECT c.relname, a.privilege_type FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "LATERAL aclexplode(c.relacl) a WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND a.grantee = :oid"), {"oid": oid}).all()
    columns = session.execute(text(
        "SELECT c.relname, a.privilege_type, att.attname FROM pg_attribute att "
        "JOIN pg_class c ON c.oid = att.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "LATERAL aclexplode(att.attacl) a WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND a.grantee = :oid"), {"oid": oid}).all()
    return {(str(t), str(p), None) for t, p in tables} | {(str(t), str(p), str(c)) for t, p, c in columns}


def public_rights(session: Session) -> set[Right]:
    rows = session.execute(text(
        "SELECT c.relname, a.privilege_type FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "LATERAL aclexplode(c.relacl) a WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S') "
        "AND a.grantee = 0")).all()
    return {(str(t), str(p), None) for t, p in rows}


def grant_drift(session: Session) -> list[str]:
    """Per registered operator, how its database role's grants differ from its seatctl role's (doctor)."""
    problems = [f"PUBLIC holds {p} on {t}" for t, p, _ in sorted(public_rights(session))][:3]
    for name, role in session.execute(select(Operator.name, Operator.role).order_by(Operator.name)).all():
        if _owns_ledger(session, name):
            continue
        held = held_rights(session, name)
        if held is None:
            problems.append(f"'{name}' ({role}) has no database role")
            continue
        superuser = session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :n"), {"n": name}).scalar()
        if superuser:
            problems.append(f"'{name}' ({role}) is a superuser: no grant binds it")
            continue
        expected = GRANTS[role]
        extra, missing = _describe(held - expected), _describe(expected - held)
        if extra:
            problems.append(f"'{name}' ({role}) may also {extra}")
        if missing:
            problems.append(f"'{name}' ({role}) lacks {missing}")
    return problems


def _describe(rights: set[Right]) -> str:
    shown = sorted(f"{p} {t}" + (f"({c})" if c else "") for t, p, c in rights)
    return ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")


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
    if session.get_bind().dialect.name == "postgresql" and not _owns_ledger(session, name):
        schema = _quote(str(session.execute(text("SELECT current_schema()")).scalar()))
        if session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
            _revoke(session, _quote(name), schema)  # a removed operator keeps no right on the ledger
    audit.record(session, at=now, operator=actor.name, action="operator.remove", operator_name=name)


def list_operators(session: Session) -> list[dict[str, object]]:
    return [{"name": o.name, "role": o.role, "since": o.created_at.date().isoformat()}
            for o in session.exec(select(Operator).order_by(Operator.name)).all()]

"""Who is acting and the ledger-wide facts billing needs, passed to every domain call."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from seatctl.errors import NotFound, PermissionDenied
from seatctl.rules.books import Books
from seatctl.rules.roles import Actor
from seatctl.store.tables import Operator, operator_table, setting_table


def load_books(session: Session) -> Books:
    """The ledger's settings (SPEC §10), read once per command; defaults where a row is missing."""
    values: dict[str, str] = dict(session.exec(select(setting_table.c.key, setting_table.c.value)).all())
    tax = Decimal(values.get("tax_rate", "0"))
    return Books(
        currency=values.get("currency", "EUR"),
        digits=int(values.get("minor_digits", "2")),
        timezone=values.get("timezone", "UTC"),
        tax_rate=tax or None,
        invoice_prefix=values.get("invoice_prefix", "INV-"),
    )


def load_actor(session: Session, name: str) -> Actor:
    o = operator_table.c  # Core, not ORM: a read command then never configures the mappers
    role = session.exec(select(o.role).where(o.name == name)).first()
    if role is None:
        raise PermissionDenied(
            f"'{name}' is not a registered operator of this ledger",
            f"An owner can add it: seatctl operator add {name} --role operator",
        )
    return Actor(name, role)


def find_operator(session: Session, name: str) -> Operator:
    op = session.exec(select(Operator).where(Operator.name == name)).first()
    if op is None:
        raise NotFound(f"no operator '{name}'", "See: seatctl operator list")
    return op

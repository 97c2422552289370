"""Who is acting and the ledger-wide facts billing needs, passed to every domain call."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from seatctl.errors import NotFound, PermissionDenied
from seatctl.rules.books import Books
from seatctl.rules.roles import Actor
from seatctl.store import statements
from seatctl.store.executor import Executor
from seatctl.store.tables import Operator


def load_books(session: Session) -> Books:
    """The ledger's settings (SPEC §10), read once per command; defaults where a row is missing."""
    values: dict[str, str] = dict(Executor.of(session).rows(statements.seats().settings, {}))
    tax = Decimal(values.get("tax_rate", "0"))
    return Books(
        currency=values.get("currency", "EUR"),
        digits=int(values.get("minor_digits", "2")),
        timezone=values.get("timezone", "UTC"),
        tax_rate=tax or None,
        invoice_prefix=values.get("invoice_prefix", "INV-"),
    )


def load_actor(session: Session, name: str) -> Actor:
    # Core on the fast executor, not ORM: a read command then never configures the mappers.
    found = Executor.of(session).first(statements.seats().operator_role, {"name": name})
    if found is None:
        raise PermissionDenied(
            f"'{name}' is not a registered operator of this ledger",
            f"An owner can add it: seatctl operator add {name} --role operator",
        )
    return Actor(name, found[0])


def find_operator(session: Session, name: str) -> Operator:
    op = session.exec(select(Operator).where(Operator.name == name)).first()
    if op is None:
        raise NotFound(f"no operator '{name}'", "See: seatctl operator list")
    return op

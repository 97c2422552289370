"""Events: one append-only record per change, written in the change's own transaction."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlmodel import Session

from seatctl.store.tables import Event


def row(
    *,
    at: datetime,
    operator: str,
    action: str,
    account_id: int | None = None,
    licence_id: int | None = None,
    quantity: int | None = None,
    **details: Any,
) -> dict[str, Any]:
    """One event as the values of a Core insert (for writing many in one statement)."""
    return {
        "at": at, "operator": operator, "action": action, "account_id": account_id, "licence_id": licence_id,
        "quantity": quantity, "details": json.dumps(details, sort_keys=True, default=str, ensure_ascii=False),
    }


FEW = 8  # rows written on the fast executor; more go through SQLAlchemy (one statement on PostgreSQL)


@functools.cache
def _insert_event() -> Any:
    return Event.__table__.insert()


def insert_rows(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    """Write events built by `row`, in order, in one executemany (the caller's transaction). With a
    Session, flush first so events it holds keep their order before these."""
    if not rows:
        return
    if isinstance(conn, Session):
        conn.flush()
        conn = conn.connection()
    if len(rows) <= FEW:  # a command's own few events: the fast executor (~0.1 ms less a write)
        from seatctl.store import statements
        from seatctl.store.executor import Executor

        Executor(conn).many(statements.seats().events, rows)
    else:  # thousands (sync, imports): SQLAlchemy's multi-row inserts, fewer round trips on PostgreSQL
        conn.execute(_insert_event(), rows)


def record(session: Session, **event: Any) -> None:
    """One event (the arguments of `row`) added to the session, written with the change it records."""
    session.add(Event(**row(**event)))


def latest_at(conn: Connection | Session) -> datetime | None:
    """The instant of the ledger's latest event (the one written last: the highest id)."""
    from seatctl.store import statements
    from seatctl.store.executor import Executor

    row = (Executor.of(conn) if isinstance(conn, Session) else Executor(conn)).first(statements.seats().latest_at, {})
    value = row[0] if row is not None else None
    return value if isinstance(value, datetime) or value is None else None

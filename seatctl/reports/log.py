"""`seatctl log`: the audit trail, by time."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from seatctl.ops.lookup import find_account
from seatctl.store.tables import Account, Event


def log_rows(session: Session, *, account: str | None = None, since: datetime | None = None,
             operator: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
    """The audit trail by time: at, operator, account, action, details (a JSON object)."""
    query = select(Event, Account.slug).outerjoin(Account, col(Account.id) == Event.account_id)
    if account:
        query = query.where(Event.account_id == find_account(session, account).id)
    if since:
        query = query.where(col(Event.at) >= since)
    if operator:
        query = query.where(Event.operator == operator)
    if action:
        query = query.where(Event.action == action)
    return [
        {"at": e.at.isoformat(timespec="seconds") + "Z", "operator": e.operator, "account": slug,
         "action": e.action, "details": json.loads(e.details)}
        for e, slug in session.exec(query.order_by(col(Event.at), col(Event.id))).all()
    ]

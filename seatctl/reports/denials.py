"""`report denials`: refused assignments per account and licence, the clearest signal of what to buy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from seatctl.ops.lookup import account_ids, in_accounts
from seatctl.store.tables import Account, Event, Licence


def denial_rows(session: Session, *, slug: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[dict[str, object]]:
    """Refused assignments per account and licence: the clearest signal of what to buy."""
    ids = account_ids(session, slug, False)
    query = (select(Account.slug, Licence.code, func.count(), func.sum(Event.quantity), func.max(Event.at))
             .select_from(Event).join(Account, Account.id == Event.account_id).join(Licence, Licence.id == Event.licence_id)
             .where(Event.action == "denial", in_accounts(Event.account_id, ids)))
    if since:
        query = query.where(col(Event.at) >= since)
    if until:
        query = query.where(col(Event.at) < until)
    query = query.group_by(Account.slug, Licence.code).order_by(Account.slug, Licence.code)
    return [{"account": a, "licence": code, "denials": int(n), "seats_missing": int(q or 0),
             "last": last.isoformat(timespec="seconds") + "Z"} for a, code, n, q, last in session.exec(query).all()]

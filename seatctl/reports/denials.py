"""`report denials`: refused assignments per account and licence, the clearest signal of what to buy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as core_select  # more columns than sqlmodel.select types
from sqlmodel import Session, col, select

from seatctl.ops.lookup import account_ids, in_accounts
from seatctl.store.tables import Account, Event, Licence, waitlist_table


def denial_rows(session: Session, *, slug: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[dict[str, object]]:
    """Refused assignments per account and licence: the clearest signal of what to buy; `waiting`
    counts the requests still queued for a seat (a licence with waiting requests gets a row even when
    its denials fall outside the range)."""
    ids = account_ids(session, slug, False)
    query = (core_select(col(Account.slug), col(Licence.code), func.count(), func.sum(Event.quantity),
                         func.max(Event.at))
             .select_from(Event).join(Account, col(Account.id) == Event.account_id)
             .join(Licence, col(Licence.id) == Event.licence_id)
             .where(col(Event.action) == "denial", in_accounts(Event.account_id, ids)))
    if since:
        query = query.where(col(Event.at) >= since)
    if until:
        query = query.where(col(Event.at) < until)
    query = query.group_by(Account.slug, Licence.code).order_by(Account.slug, Licence.code)
    rows = {(a, code): {"account": a, "licence": code, "denials": int(n), "seats_missing": int(q or 0),
                        "last": last.isoformat(timespec="seconds") + "Z", "waiting": 0}
            for a, code, n, q, last in session.execute(query).all()}
    # How many of those refused still wait for a seat (now, whatever the range): what to buy first.
    w = waitlist_table.c
    for a, code, n in session.exec(
        select(Account.slug, Licence.code, func.count()).select_from(waitlist_table)
        .join(Account, col(Account.id) == w.account_id).join(Licence, col(Licence.id) == w.licence_id)
        .where(w.resolved_at.is_(None), in_accounts(w.account_id, ids)).group_by(Account.slug, Licence.code)
    ).all():
        row = rows.setdefault((a, code), {"account": a, "licence": code, "denials": 0, "seats_missing": 0,
                                          "last": None, "waiting": 0})
        row["waiting"] = int(n)
    return [rows[key] for key in sorted(rows)]

"""Support tables: seat status (more reports build on the same queries)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from seatctl.accounts import account_ids, in_accounts
from seatctl.models import Account, Assignment, Licence, Minimum, PurchaseOrder, Seat


def status_rows(session: Session, *, slug: str | None = None, tree: bool = False) -> list[dict[str, object]]:
    """Per account and licence: in_use, free, total, minimum, buying (free/total null in peak mode)."""
    ids = account_ids(session, slug, tree)
    owned = {(a, lic): n for a, lic, n in session.exec(
        select(Seat.account_id, Seat.licence_id, func.count()).where(
            col(Seat.cancelled_at).is_(None), in_accounts(Seat.account_id, ids)
        ).group_by(Seat.account_id, Seat.licence_id)).all()}
    in_use = {(a, lic): n for a, lic, n in session.exec(
        select(Assignment.account_id, Assignment.licence_id, func.count()).where(
            col(Assignment.released_at).is_(None), in_accounts(Assignment.account_id, ids)
        ).group_by(Assignment.account_id, Assignment.licence_id)).all()}
    minimum = {(a, lic): n for a, lic, n in session.exec(
        select(Minimum.account_id, Minimum.licence_id, Minimum.quantity).where(
            Minimum.quantity > 0, in_accounts(Minimum.account_id, ids))).all()}
    buying = {(a, lic): int(n) for a, lic, n in session.exec(
        select(PurchaseOrder.account_id, PurchaseOrder.licence_id, func.sum(PurchaseOrder.quantity)).where(
            PurchaseOrder.status == "pending", in_accounts(PurchaseOrder.account_id, ids)
        ).group_by(PurchaseOrder.account_id, PurchaseOrder.licence_id)).all()}
    keys = set(owned) | set(in_use) | set(minimum) | set(buying)
    accounts = {a.id: a for a in session.exec(select(Account).where(in_accounts(Account.id, ids))).all()}
    codes = dict(session.exec(select(Licence.id, Licence.code)).all())
    rows = []
    for account_id, licence_id in keys:
        account = accounts[account_id]
        used = in_use.get((account_id, licence_id), 0)
        total = owned.get((account_id, licence_id), 0)
        peak = account.mode == "peak"
        rows.append({
            "account": account.slug, "licence": codes[licence_id], "in_use": used,
            "free": None if peak else total - used, "total": None if peak else total,
            "minimum": minimum.get((account_id, licence_id), 0), "buying": buying.get((account_id, licence_id), 0),
        })
    return sorted(rows, key=lambda r: (str(r["account"]), str(r["licence"])))

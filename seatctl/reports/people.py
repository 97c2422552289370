"""Users by role (`report roles`) and who holds what (`report users`, `user list`)."""

from __future__ import annotations

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from seatctl.ops.lookup import account_ids, in_accounts
from seatctl.store.tables import Account, Assignment, Licence, User


def roles_rows(session: Session, *, slug: str | None = None, tree: bool = False) -> list[dict[str, object]]:
    """Users and active users per account and role."""
    ids = account_ids(session, slug, tree)
    query = (select(Account.slug, User.role, func.count(), func.sum(case((col(User.status) == "active", 1), else_=0)))
             .join(Account, col(Account.id) == User.account_id).where(in_accounts(User.account_id, ids))
             .group_by(Account.slug, User.role).order_by(Account.slug, User.role))
    return [{"account": a, "role": r, "users": int(n), "active": int(act or 0)} for a, r, n, act in session.exec(query).all()]


def user_rows(session: Session, account: Account, *, role: str | None = None,
              status: str | None = None) -> list[dict[str, object]]:
    """`report users` / `user list`: email, name, role, status, licences held now, since."""
    query = select(User).where(User.account_id == account.id)
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    held: dict[int, list[str]] = {}
    for user_id, code in session.exec(
        select(Assignment.user_id, Licence.code).join(Licence, col(Licence.id) == Assignment.licence_id).where(
            Assignment.account_id == account.id, col(Assignment.released_at).is_(None)
        ).order_by(Licence.code)
    ).all():
        held.setdefault(user_id, []).append(code)
    return [
        {"email": u.email, "name": u.name, "role": u.role, "status": u.status,
         "licences": held.get(u.id or 0, []), "since": u.created_at.date().isoformat()}
        for u in session.exec(query.order_by(User.email)).all()
    ]

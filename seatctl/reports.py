"""Support tables: seat status, users by role, denials, revenue (usage is in usage.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from seatctl.accounts import account_ids, in_accounts
from seatctl.buckets import Bucket
from seatctl.context import Books
from seatctl.models import Account, Assignment, Licence, Meter, Minimum, PlanInclude, PurchaseOrder, Seat, UsageRecord
from seatctl.money import format_minor
from seatctl.periods import local_date, local_midnight


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
    accounts = {a.id: a for a in session.exec(select(Account).where(in_accounts(Account.id, ids))).all()}
    included: dict[int, dict[int, int]] = {}
    for include in session.exec(select(PlanInclude)).all():
        included.setdefault(include.plan_id, {})[include.licence_id] = include.quantity
    for account in accounts.values():  # a plan's included seats are a minimum too
        for licence_id, quantity in included.get(account.plan_id or 0, {}).items():
            key = (int(account.id or 0), licence_id)
            minimum[key] = max(minimum.get(key, 0), quantity)
    keys = set(owned) | set(in_use) | set(minimum) | set(buying)
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


def roles_rows(session: Session, *, slug: str | None = None, tree: bool = False) -> list[dict[str, object]]:
    """Users and active users per account and role."""
    from seatctl.models import User

    ids = account_ids(session, slug, tree)
    query = (select(Account.slug, User.role, func.count(), func.sum(case((User.status == "active", 1), else_=0)))
             .join(Account, Account.id == User.account_id).where(in_accounts(User.account_id, ids))
             .group_by(Account.slug, User.role).order_by(Account.slug, User.role))
    return [{"account": a, "role": r, "users": int(n), "active": int(act or 0)} for a, r, n, act in session.exec(query).all()]


def denial_rows(session: Session, *, slug: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[dict[str, object]]:
    """Refused assignments per account and licence: the clearest signal of what to buy."""
    from seatctl.models import Event

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


def revenue_rows(session: Session, *, buckets: list[Bucket], books: Books, slug: str | None = None,
                 tree: bool = False) -> list[dict[str, object]]:
    """Invoiced amounts per bucket (issue date, ledger time zone), account, kind and licence;
    discount and tax lines appear as their own 'licence' rows so the amounts add up to the invoices."""
    from seatctl.models import Invoice, InvoiceLine

    ids = account_ids(session, slug, tree)
    if not buckets:
        return []
    first = local_midnight(buckets[0].start, books.timezone)
    last = local_midnight(buckets[-1].end, books.timezone)
    query = (select(Invoice.issued_at, Account.slug, Invoice.kind, InvoiceLine.kind, Licence.code,
                    InvoiceLine.amount_minor)
             .select_from(InvoiceLine).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
             .join(Account, Account.id == Invoice.account_id).outerjoin(Licence, Licence.id == InvoiceLine.licence_id)
             .where(col(Invoice.issued_at) >= first, col(Invoice.issued_at) < last,
                    in_accounts(Invoice.account_id, ids)))
    sums: dict[tuple[str, str, str, str], int] = {}
    for issued_at, account, kind, line_kind, code, amount in session.exec(query).all():
        day = local_date(issued_at, books.timezone)
        label = next(b.label for b in buckets if b.start <= day < b.end).isoformat()
        key = (label, account, kind, code or f"({line_kind})")
        sums[key] = sums.get(key, 0) + amount
    return [{"bucket": k[0], "account": k[1], "kind": k[2], "licence": k[3],
             "amount": format_minor(v, books.digits)} for k, v in sorted(sums.items())]


def allowance_rows(session: Session, account: Account) -> list[dict[str, object]]:
    """This period's use of each metered service against the plan's allowance (for `status`)."""
    from seatctl.plans import terms

    plan = terms(session, account.plan_id)
    used = dict(session.exec(select(UsageRecord.meter_id, func.sum(UsageRecord.quantity)).where(
        UsageRecord.account_id == account.id, col(UsageRecord.at) >= local_midnight(account.period_start, account.timezone))
        .group_by(UsageRecord.meter_id)).all())
    meters = {m.id: m for m in session.exec(select(Meter)).all()}
    rows: list[dict[str, object]] = []
    for meter_id in sorted(set(used) | set(plan.allowances), key=lambda m: meters[m].code):
        u = int(used.get(meter_id) or 0)
        allowance = plan.allowances.get(meter_id, 0)
        rows.append({"account": account.slug, "plan": plan.plan.code if plan.plan else None,
                     "meter": meters[meter_id].code, "used": u, "allowance": allowance,
                     "overage": max(0, u - allowance)})
    return rows

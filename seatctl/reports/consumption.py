"""`report consumption`: metered use per bucket; allowance, overage and amount in the bucket that
holds each period's last day, computed exactly as the close bills them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import DateTime, String, and_, column, func, true, values
from sqlmodel import Session, col, select

from seatctl.ops.catalogue import find_meter, meter_schedule
from seatctl.ops.lookup import account_ids, in_accounts, terms
from seatctl.rules.books import Books
from seatctl.rules.buckets import Bucket
from seatctl.rules.money import format_minor, to_minor
from seatctl.rules.periods import local_midnight
from seatctl.store.tables import Account, ClosedPeriod, Meter, UsageRecord

COLUMNS = ["bucket", "account", "meter", "used", "allowance", "overage", "amount"]


def consumption_rows(session: Session, *, buckets: list[Bucket], books: Books, slug: str | None = None,
                     tree: bool = False, meter: str | None = None) -> list[dict[str, object]]:
    if not buckets:
        return []
    ids = account_ids(session, slug, tree)
    meter_id = find_meter(session, meter).id if meter else None
    accounts = {a.id: a for a in session.exec(select(Account).where(in_accounts(Account.id, ids))).all()}
    meters = {m.id: m for m in session.exec(select(Meter)).all()}
    zones = {a.timezone for a in accounts.values()}
    table = values(column("tz", String), column("bucket", String), column("b_start", DateTime),
                   column("b_end", DateTime), name="buckets").data(
        [(tz, b.label.isoformat(), *b.instants(tz)) for tz in zones for b in buckets]).cte("buckets")
    used: dict[tuple[str, int, int], int] = defaultdict(int)
    if zones:
        query = (select(table.c.bucket, UsageRecord.account_id, UsageRecord.meter_id, func.sum(UsageRecord.quantity))
                 .select_from(UsageRecord).join(Account, col(Account.id) == UsageRecord.account_id)
                 .join(table, and_(col(Account.timezone) == table.c.tz, col(UsageRecord.at) >= table.c.b_start,
                                   col(UsageRecord.at) < table.c.b_end))
                 .where(in_accounts(UsageRecord.account_id, ids),
                        true() if meter_id is None else UsageRecord.meter_id == meter_id)
                 .group_by(table.c.bucket, col(UsageRecord.account_id), col(UsageRecord.meter_id)))
        for bucket, account_id, meter_id_, n in session.execute(query).all():
            used[(bucket, account_id, meter_id_)] += int(n)
    first, last = buckets[0].start, buckets[-1].end - timedelta(days=1)
    billed: dict[tuple[str, int, int], tuple[int, int, int]] = {}
    for account_id, start, end, plan_id in _periods_ending_between(session, accounts, first, last):
        account = accounts[account_id]
        plan = terms(session, plan_id)
        start_at, end_at = local_midnight(start, account.timezone), local_midnight(end, account.timezone)
        if account.activated_at:
            start_at = max(start_at, account.activated_at)
        label = next(b.label for b in buckets if b.start <= end - timedelta(days=1) < b.end).isoformat()
        totals = session.execute(
            select(UsageRecord.meter_id, func.sum(UsageRecord.quantity)).where(
                UsageRecord.account_id == account_id, col(UsageRecord.at) >= start_at, col(UsageRecord.at) < end_at,
                true() if meter_id is None else UsageRecord.meter_id == meter_id).group_by(col(UsageRecord.meter_id))
        ).all()
        period_used = {m: int(n) for m, n in totals}
        for mid in set(period_used) | set(plan.allowances):
            if meter_id is not None and mid != meter_id:
                continue
            overage = max(0, period_used.get(mid, 0) - plan.allowances.get(mid, 0))
            amount = 0 if account.status == "trial" else to_minor(meter_schedule(meters[mid]).price(overage), books.digits)
            billed[(label, account_id, mid)] = (plan.allowances.get(mid, 0), overage, amount)
    rows = []
    for key in sorted(set(used) | set(billed), key=lambda k: (k[0], accounts[k[1]].slug, meters[k[2]].code)):
        bucket, account_id, mid = key
        bill = billed.get(key)  # only in the bucket holding the period's last day
        rows.append({"bucket": bucket, "account": accounts[account_id].slug, "meter": meters[mid].code,
                     "used": used.get(key, 0), "allowance": bill[0] if bill else None,
                     "overage": bill[1] if bill else None,
                     "amount": format_minor(bill[2], books.digits) if bill else None})
    return rows


def _periods_ending_between(session: Session, accounts: dict[int, Account], first: date,
                            last: date) -> list[tuple[int, date, date, int | None]]:
    """(account, start, end, plan on the last day) of closed and current periods whose last day is in range."""
    out = []
    for row in session.exec(select(ClosedPeriod).where(
            col(ClosedPeriod.period_end) > first, col(ClosedPeriod.period_end) <= last + timedelta(days=1))).all():
        if row.account_id in accounts:
            out.append((row.account_id, row.period_start, row.period_end, row.plan_id))
    for account in accounts.values():
        if account.closed_at is None and first < account.period_end <= last + timedelta(days=1):
            out.append((int(account.id or 0), account.period_start, account.period_end, account.plan_id))
    return out

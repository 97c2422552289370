"""Plan changes and metered usage: the write side of plans, through the ledger's one write path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import Session, col, select

from seatctl import audit
from seatctl.closing import provision_included
from seatctl.context import Actor, Books
from seatctl.errors import Refused, SeatctlError, UsageError
from seatctl.invoices import Draft, fee_line, issue
from seatctl.ledger import for_write
from seatctl.models import Account, Plan, UsageRecord
from seatctl.periods import local_date
from seatctl.plans import Terms, find_meter, find_plan, terms
from seatctl.seats import current_period, invoicing_account
from seatctl.users import read_csv


def _fee(plan: Plan, cycle: str) -> Decimal:
    fee = Terms(plan).fee(cycle)
    if fee is None:
        raise Refused(f"plan '{plan.code}' has no {cycle} fee", "Choose a plan sold for this cycle")
    return fee


def apply_plan_now(session: Session, account: Account, plan: Plan, *, actor: Actor, now: datetime,
                   books: Books) -> str | None:
    """Put the account on `plan` from now: charge the fee difference for the days left (never negative),
    provision the included seats. Returns the purchase invoice's number, if any."""
    assert account.id is not None
    old = terms(session, account.plan_id)
    difference = max(Decimal(0), _fee(plan, account.cycle) - (old.fee(account.cycle) or Decimal(0)))
    account.plan_id, account.pending_plan_id = plan.id, None
    session.add(account)
    session.flush()
    added = provision_included(session, account, terms(session, plan.id), at=now) if account.mode == "allocation" else 0
    invoice = None
    if difference and account.status != "trial":
        period = current_period(account)
        day = max(local_date(now, account.timezone), period.start)
        what = "from " + day.isoformat() if old.plan is None else f"upgrade from {old.plan.code}"
        line = fee_line(account_id=account.id, plan_code=plan.code, plan_name=plan.name, fee=difference, start=day,
                        end=period.end, period_days=period.days, books=books, what=what)
        payer = invoicing_account(session, account)
        invoice = issue(session, Draft(account_id=int(payer.id or 0), kind="purchase", period_start=day,
                                       period_end=period.end, lines=[line]),
                        books=books, at=now, actor=actor, discount=Decimal(payer.discount) if payer.discount else None)
    audit.record(session, at=now, operator=actor.name, action="account.set-plan", account_id=account.id,
                 plan=plan.code, previous=old.plan.code if old.plan else None, seats_provisioned=added,
                 invoice=invoice.number if invoice else None)
    return invoice.number if invoice else None


@dataclass
class PlanChange:
    account: str
    plan: str
    status: str  # applied, pending, unchanged
    invoice: str | None
    effective: str


def set_plan(session: Session, *, slug: str, code: str, actor: Actor, now: datetime, books: Books) -> PlanChange:
    """A higher base fee applies at once (prorated difference); a lower one waits for the period end."""
    actor.require("billing", "change plans")
    account = for_write(session, slug, actor=actor, now=now, books=books)
    plan = find_plan(session, code)
    today = local_date(now, account.timezone).isoformat()
    if account.plan_id == plan.id:
        if account.pending_plan_id is not None:
            account.pending_plan_id = None
            session.add(account)
            audit.record(session, at=now, operator=actor.name, action="account.set-plan", account_id=account.id,
                         plan=code, pending=None)
        return PlanChange(slug, code, "unchanged", None, today)
    new_fee = _fee(plan, account.cycle)
    old_fee = terms(session, account.plan_id).fee(account.cycle) or Decimal(0)
    if new_fee >= old_fee:
        number = apply_plan_now(session, account, plan, actor=actor, now=now, books=books)
        return PlanChange(slug, code, "applied", number, today)
    account.pending_plan_id = plan.id
    session.add(account)
    audit.record(session, at=now, operator=actor.name, action="account.set-plan", account_id=account.id,
                 plan=code, pending=True, effective=account.period_end.isoformat())
    return PlanChange(slug, code, "pending", None, account.period_end.isoformat())


@dataclass
class UsageInput:
    account: str
    meter: str
    quantity: int
    at: datetime | None
    external_id: str | None
    row: str = ""


def record_usage(session: Session, items: list[UsageInput], *, actor: Actor, now: datetime,
                 books: Books) -> dict[str, int]:
    """Store metered usage, all or nothing; a repeated id (in the ledger or the batch) is ignored."""
    actor.require("operator", "record usage")
    ids = [i.external_id for i in items if i.external_id]
    known = set(session.exec(select(UsageRecord.external_id).where(col(UsageRecord.external_id).in_(ids))).all()) \
        if ids else set()
    accounts: dict[str, Account] = {}
    rows: list[dict[str, object]] = []
    quantities: list[int] = []
    ignored = 0
    for item in items:
        where = f"row {item.row}: " if item.row else ""
        if item.quantity < 0:
            raise UsageError(f"{where}quantity {item.quantity} is negative", "Quantities are whole numbers ≥ 0")
        if item.external_id and item.external_id in known:
            ignored += 1
            continue
        try:
            if item.account not in accounts:
                accounts[item.account] = for_write(session, item.account, actor=actor, now=now, books=books)
            meter = find_meter(session, item.meter)
        except SeatctlError as err:  # name the row of a file
            if where:
                err.what = where + err.what
            raise
        account = accounts[item.account]
        at = item.at or now
        if at > now:
            raise Refused(f"{where}usage at {at.isoformat()}Z is in the future", "Record usage once it happened")
        if at < account.created_at:
            raise Refused(f"{where}usage at {at.isoformat()}Z is before account '{account.slug}' existed",
                          "Check the date")
        from seatctl.seats import period_start_at

        if at < period_start_at(account):
            raise Refused(f"{where}usage at {at.isoformat()}Z falls in a period already closed",
                          f"Periods close at their end; the current one began {account.period_start}")
        if item.external_id:
            known.add(item.external_id)
        quantities.append(item.quantity)
        rows.append({"account_id": account.id, "meter_id": meter.id, "quantity": item.quantity, "at": at,
                     "external_id": item.external_id, "recorded_at": now, "recorded_by": actor.name})
    if rows:
        session.execute(insert(UsageRecord), rows)
        for account in accounts.values():
            mine = [item_quantity for r, item_quantity in zip(rows, quantities, strict=True)
                    if r["account_id"] == account.id]
            if mine:
                audit.record(session, at=now, operator=actor.name, action="usage.record", account_id=account.id,
                             quantity=sum(mine), records=len(mine))
    return {"recorded": len(rows), "ignored": ignored}


def read_usage_csv(path: str) -> list[UsageInput]:
    from seatctl import clock

    out = []
    for row in read_csv(path, ("account", "meter", "quantity"), ("at", "id")):
        where = f"row {row['_row']} of '{path}': "
        try:
            quantity = int(row.get("quantity", ""))
        except ValueError:
            raise UsageError(f"{where}quantity '{row.get('quantity')}' is not a whole number", "Fix that row") from None
        if quantity < 0:
            raise UsageError(f"{where}quantity {quantity} is negative", "Quantities are whole numbers ≥ 0")
        if not row.get("account") or not row.get("meter"):
            raise UsageError(f"{where}account and meter are required", "Fill both columns")
        try:
            at = clock.parse_instant(row["at"]) if row.get("at") else None
        except UsageError:
            raise UsageError(f"{where}'{row['at']}' is not an ISO-8601 instant", "e.g. 2026-11-16T09:30:00Z") from None
        out.append(UsageInput(row["account"], row["meter"], quantity, at, row.get("id") or None, row["_row"]))
    return out

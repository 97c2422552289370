"""Plans (base fee, included seats, allowances) and metered services: the catalogue side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import Session, select

from seatctl.errors import Refused, UsageError
from seatctl.ops import catalogue, waitlist
from seatctl.ops.catalogue import find_meter
from seatctl.ops.invoices import issue
from seatctl.ops.lookup import current_period, find_plan, invoicing_account, owned_now, period_days, terms
from seatctl.ops.write import for_write, require_open
from seatctl.rules import bounds
from seatctl.rules.books import Books
from seatctl.rules.charges import Draft, fee_line
from seatctl.rules.money import parse_amount, price_text
from seatctl.rules.names import clean_name
from seatctl.rules.periods import local_date
from seatctl.rules.roles import Actor
from seatctl.rules.terms import Terms
from seatctl.store import audit
from seatctl.store.tables import Account, Licence, Meter, Plan, PlanAllowance, PlanInclude, Seat


def parse_pairs(text: str | None, what: str) -> dict[str, int]:
    """`base=5,voip=2` → {"base": 5, "voip": 2}: included seats (0 to 1,000,000) or metered allowances
    (0 to 10^12), `rules/bounds.py`."""
    out: dict[str, int] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        code, sep, qty = item.partition("=")
        if not sep:
            raise UsageError(f"{what} '{item}' is not CODE=N with N ≥ 0", f"e.g. --{what} base=5,voip=2")
        hint = f"e.g. --{what} base=5,voip=2"
        out[code.strip()] = (bounds.usage(qty, f"{what} of '{code.strip()}'", hint=hint) if what == "allowance"
                             else bounds.minimum(qty, f"{what} of '{code.strip()}'", hint=hint))
    return out


def add_plan(session: Session, *, code: str, name: str, monthly: str | None, annual: str | None,
             includes: dict[str, int], allowances: dict[str, int], actor: Actor, now: datetime) -> Plan:
    catalogue.check_code(code, "plan code")
    if monthly is None and annual is None:
        raise UsageError("a plan needs a base fee", "Add --monthly FEE (and/or --annual FEE)")
    fees = [None if fee is None else str(parse_amount(fee, "fee")) for fee in (monthly, annual)]  # usage (2) first
    actor.require("billing", "add plans")
    if session.exec(select(Plan).where(Plan.code == code)).first():
        raise Refused(f"plan '{code}' already exists", "See: seatctl plan list")
    plan = Plan(code=code, name=clean_name(name, "a plan name") or code,
                monthly_fee=fees[0], annual_fee=fees[1], created_at=now)
    session.add(plan)
    session.flush()
    assert plan.id is not None
    for lic_code, qty in includes.items():
        licence_id = catalogue.find(session, lic_code).id
        assert licence_id is not None
        session.add(PlanInclude(plan_id=plan.id, licence_id=licence_id, quantity=qty))
    for meter_code, qty in allowances.items():
        meter_id = find_meter(session, meter_code).id
        assert meter_id is not None
        session.add(PlanAllowance(plan_id=plan.id, meter_id=meter_id, quantity=qty))
    audit.record(session, at=now, operator=actor.name, action="plan.add", code=code, name=name,
                 monthly=plan.monthly_fee, annual=plan.annual_fee, includes=includes, allowances=allowances)
    return plan


def plan_rows(session: Session, digits: int = 2) -> list[dict[str, object]]:
    return [show_plan(session, p.code, digits) for p in session.exec(select(Plan).order_by(Plan.code)).all()]


def show_plan(session: Session, code: str, digits: int = 2) -> dict[str, object]:
    plan = find_plan(session, code)
    t = terms(session, plan.id)
    licences = dict(session.exec(select(Licence.id, Licence.code)).all())
    meters = dict(session.exec(select(Meter.id, Meter.code)).all())
    users = len(session.exec(select(Account.id).where(Account.plan_id == plan.id)).all())
    def fee(text: str | None) -> str | None:
        return None if text is None else price_text(Decimal(text), digits)

    return {"code": plan.code, "name": plan.name, "monthly": fee(plan.monthly_fee), "annual": fee(plan.annual_fee),
            "includes": {licences[k]: v for k, v in sorted(t.includes.items())},
            "allowances": {meters[k]: v for k, v in sorted(t.allowances.items())}, "accounts": users}






def _fee(plan: Plan, cycle: str) -> Decimal:
    fee = Terms(plan).fee(cycle)
    if fee is None:
        raise Refused(f"plan '{plan.code}' has no {cycle} fee", "Choose a plan sold for this cycle")
    return fee


def provision_included(session: Session, account: Account, plan: Terms, *, at: datetime) -> int:
    """Add the plan's included seats the account does not own yet, at no charge."""
    assert account.id is not None
    added = 0
    for licence_id, included in plan.includes.items():
        missing = included - owned_now(session, account.id, licence_id)
        if missing > 0:
            session.execute(insert(Seat), [{"account_id": account.id, "licence_id": licence_id, "bought_at": at}
                                           for _ in range(missing)])
            added += missing
    return added


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
                        end=period.end, period_days=period_days(account), books=books, what=what)
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
    account = for_write(session, slug, actor=actor, now=now, books=books, allow_closed=True)
    plan = find_plan(session, code)
    require_open(account)  # after the plan: not found (3) wins over a rule (4)
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
        waitlist.seat_waiting(session, account, actor=actor, now=now)  # included seats provisioned
        return PlanChange(slug, code, "applied", number, today)
    account.pending_plan_id = plan.id
    session.add(account)
    audit.record(session, at=now, operator=actor.name, action="account.set-plan", account_id=account.id,
                 plan=code, pending=True, effective=account.period_end.isoformat())
    return PlanChange(slug, code, "pending", None, account.period_end.isoformat())

"""Plans (base fee, included seats, allowances) and metered services: the catalogue side."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from seatctl import audit, catalogue
from seatctl.context import Actor
from seatctl.errors import NotFound, Refused, UsageError
from seatctl.models import Account, Licence, Meter, Plan, PlanAllowance, PlanInclude
from seatctl.money import parse_amount, price_text
from seatctl.names import clean_name
from seatctl.pricing import Schedule, parse_tiers


@dataclass(frozen=True)
class Terms:
    """What a plan gives an account (no plan: no fee, nothing included)."""

    plan: Plan | None = None
    includes: dict[int, int] = field(default_factory=dict)  # licence id → seats
    allowances: dict[int, int] = field(default_factory=dict)  # meter id → units

    def fee(self, cycle: str) -> Decimal | None:
        if self.plan is None:
            return Decimal(0)
        text = self.plan.monthly_fee if cycle == "monthly" else self.plan.annual_fee
        return None if text is None else Decimal(text)

    def included(self, licence_id: int) -> int:
        return self.includes.get(licence_id, 0)


NO_PLAN = Terms()


def terms(session: Session, plan_id: int | None) -> Terms:
    if plan_id is None:
        return NO_PLAN
    plan = session.get(Plan, plan_id)
    assert plan is not None
    includes = {i.licence_id: i.quantity for i in session.exec(select(PlanInclude).where(PlanInclude.plan_id == plan_id))}
    allowances = {a.meter_id: a.quantity
                  for a in session.exec(select(PlanAllowance).where(PlanAllowance.plan_id == plan_id))}
    return Terms(plan, includes, allowances)


def find_plan(session: Session, code: str) -> Plan:
    plan = session.exec(select(Plan).where(Plan.code == code)).first()
    if plan is None:
        raise NotFound(f"no plan '{code}'", "See: seatctl plan list")
    return plan


def find_meter(session: Session, code: str) -> Meter:
    meter = session.exec(select(Meter).where(Meter.code == code)).first()
    if meter is None:
        raise NotFound(f"no meter '{code}'", "See: seatctl meter list")
    return meter


def meter_schedule(meter: Meter) -> Schedule:
    return Schedule(parse_tiers(meter.tiers), meter.tier_mode)


def parse_pairs(text: str | None, what: str) -> dict[str, int]:
    """`base=5,voip=2` → {"base": 5, "voip": 2}."""
    out: dict[str, int] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        code, sep, qty = item.partition("=")
        try:
            n = int(qty)
        except ValueError:
            n = -1
        if not sep or n < 0:
            raise UsageError(f"{what} '{item}' is not CODE=N with N ≥ 0", f"e.g. --{what} base=5,voip=2")
        out[code.strip()] = n
    return out


def add_plan(session: Session, *, code: str, name: str, monthly: str | None, annual: str | None,
             includes: dict[str, int], allowances: dict[str, int], actor: Actor, now: datetime) -> Plan:
    actor.require("billing", "add plans")
    catalogue.check_code(code, "plan code")
    if monthly is None and annual is None:
        raise UsageError("a plan needs a base fee", "Add --monthly FEE (and/or --annual FEE)")
    if session.exec(select(Plan).where(Plan.code == code)).first():
        raise Refused(f"plan '{code}' already exists", "See: seatctl plan list")
    plan = Plan(code=code, name=clean_name(name, "a plan name") or code,
                monthly_fee=str(parse_amount(monthly, "fee")) if monthly is not None else None,
                annual_fee=str(parse_amount(annual, "fee")) if annual is not None else None, created_at=now)
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


def add_meter(session: Session, *, code: str, name: str, unit_price: str | None, tiers: str | None,
              tier_mode: str | None, actor: Actor, now: datetime) -> Meter:
    actor.require("billing", "add meters")
    catalogue.check_code(code, "meter code")
    from seatctl.pricing import build

    schedule = build(unit_price, tiers, tier_mode, None)
    if session.exec(select(Meter).where(Meter.code == code)).first():
        raise Refused(f"meter '{code}' already exists", "See: seatctl meter list")
    meter = Meter(code=code, name=clean_name(name, "a meter name") or code, tiers=schedule.spec(),
                  tier_mode=schedule.mode, created_at=now)
    session.add(meter)
    audit.record(session, at=now, operator=actor.name, action="meter.add", code=code, name=name,
                 tiers=schedule.spec(), tier_mode=schedule.mode)
    return meter


def meter_rows(session: Session, digits: int = 2) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for m in session.exec(select(Meter).order_by(Meter.code)).all():
        schedule = meter_schedule(m)
        flat = len(schedule.tiers) == 1 and not schedule.tiers[0].flat
        out.append({"code": m.code, "name": m.name,
                    "unit_price": price_text(schedule.tiers[0].unit, digits) if flat else None,
                    "tiers": None if flat else f"{m.tier_mode} {m.tiers}"})
    return out

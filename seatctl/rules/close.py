"""The close of an account period, planned: what it keeps and cancels, what it bills.

A close is planned here, by pure functions, from what the ledger held at the period end (`MemberState`,
read by `ops/cycles.py`) and the catalogue (prices, plans, meters): the seats each account keeps and
cancels, the pending changes it applies, where the account's next period runs, and the lines of the
one invoice it writes. `cycle close` carries the plan out; `cycle show` and `cycle close --dry-run`
show it. Both call `plan_close`, so what `cycle show` announces is what the close does.

The rules (SPEC §5):
- pending changes due at this boundary apply first (cycle length — the boundary becomes the anchor —,
  anchor, plan, lowered minimums); a child billed via its parent follows the parent's cycle;
- allocation: per licence keep max(seats in use at the period end + requests waiting for one, minimum)
  and cancel the other free seats (free at the period end and still free now), most recently bought
  first; then provision the plan's included seats not owned, at no charge;
- the renewal of the new period is billed in advance, `price(kept − included)` per licence plus the
  plan's fee, prorated against the whole period for a short one; a peak account renews only its fee;
- the usage of the ended period is billed in arrears with the plan in force before this boundary:
  peak seats `price(max(peak, minimum) − included)` and metered overage `price(max(0, used − allowance))`;
- a trial is never billed; a closed account's last close bills its usage, releases and cancels
  everything, drops its minimums and has no next period;
- one invoice per invoicing account and period (none when it bills nothing): `renewal` when it has
  renewal lines, else `usage`; the invoicing account's discount, then tax.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from seatctl.rules.books import Books
from seatctl.rules.charges import Bill, Draft, LineDraft, Product, complete, flat_unit, meter_line, seat_line, whole_period_days
from seatctl.rules.periods import Period, local_midnight, period_from
from seatctl.rules.pricing import Schedule
from seatctl.rules.terms import Terms

# The account columns a close may change.
MOVED = ("cycle", "anchor", "pending_cycle", "pending_anchor", "plan_id", "pending_plan_id", "closed_at",
         "period_start", "period_end", "period_end_at")


class Catalogue(Protocol):
    """What a close looks up: licences and their prices, plans, meters."""

    def licence(self, licence_id: int) -> Product: ...
    def schedule(self, licence: Product, cycle: str, at: datetime) -> Schedule: ...  # refuses a missing price
    def terms(self, plan_id: int | None) -> Terms: ...
    def meter(self, meter_id: int) -> tuple[Product, Schedule]: ...


@dataclass(frozen=True)
class Minimum:
    licence_id: int
    quantity: int
    pending_quantity: int | None  # a lowered minimum, applied at this close


@dataclass(frozen=True)
class FreeSeat:
    """A seat owned at the period end that nobody holds then, nor since."""

    id: int
    licence_id: int
    bought_at: datetime


@dataclass(frozen=True)
class Holding:
    """An assignment held at some time during the period (peak mode)."""

    licence_id: int
    assigned_at: datetime
    released_at: datetime | None


@dataclass
class MemberState:
    """One account as its close finds it. `account` has the account table's columns (a row, or a
    namespace); the counts are per licence at the period end, except `live`: seats not cancelled at
    all (owned now), `waiting`: open waitlist requests now."""

    account: Any
    minimums: list[Minimum] = field(default_factory=list)
    used: list[tuple[int, int]] = field(default_factory=list)  # (meter, units used in the period)
    owned: dict[int, int] = field(default_factory=dict)
    live: dict[int, int] = field(default_factory=dict)
    in_use: dict[int, int] = field(default_factory=dict)
    free: dict[int, list[FreeSeat]] = field(default_factory=dict)
    held: list[Holding] = field(default_factory=list)
    waiting: dict[int, int] = field(default_factory=dict)


@dataclass
class MemberPlan:
    """What the close does to one account."""

    account_id: int
    slug: str
    moved: dict[str, Any]  # the MOVED columns after the close
    cancel: list[int] = field(default_factory=list)  # seats the trim cancels as of the period end
    add: dict[int, int] = field(default_factory=dict)  # licence → included seats provisioned at the period end
    apply_minimums: bool = False  # lowered minimums take effect
    final: bool = False  # a closed account's last close: release and cancel everything, drop its minimums
    seats_cancelled: int = 0
    kept: dict[int, int] = field(default_factory=dict)  # seats owned after the close, per licence
    minimum: dict[int, int] = field(default_factory=dict)  # the minimum that applied, per licence
    renewal: list[LineDraft] = field(default_factory=list)
    usage: list[LineDraft] = field(default_factory=list)
    applied: dict[str, object] = field(default_factory=dict)  # the pending changes applied (for the event)
    plan_id: int | None = None  # the plan in force on the ended period's last day
    seat_waiting: bool = False  # seats it provisions can seat waiting requests (SPEC §9)


@dataclass
class ClosePlan:
    """The close of an invoicing account's period, with its children billed via it."""

    ended: Period
    end_at: datetime
    members: list[MemberPlan]
    bill: Bill | None  # None: the close writes no invoice

    @property
    def root(self) -> MemberPlan:
        return self.members[0]

    @property
    def seats_cancelled(self) -> int:
        return sum(m.seats_cancelled for m in self.members)

    @property
    def total_minor(self) -> int:
        return self.bill.total_minor if self.bill else 0


def plan_close(states: list[MemberState], *, catalogue: Catalogue, books: Books, now: datetime) -> ClosePlan:
    """Plan the close of the period that ends at the invoicing account's `period_end`. `states[0]` is
    the invoicing account, the others its children billed via it (level by level)."""
    root = states[0].account
    ended = Period(root.period_start, root.period_end)
    end_at = root.period_end_at
    members: list[MemberPlan] = []
    for state in states:
        members.append(_plan_member(state, members[0] if members else None, ended=ended, end_at=end_at,
                                    catalogue=catalogue, books=books, now=now))
    renewal = [line for m in members for line in m.renewal]
    usage = [line for m in members for line in m.usage]
    if not any(line.amount_minor for line in renewal):
        renewal = []  # only included seats at no charge: nothing to renew on paper
    bill = None
    if renewal or usage:
        draft = Draft(account_id=root.id, kind="renewal" if renewal else "usage",
                      period_start=members[0].moved["period_start"] if renewal else ended.start,
                      period_end=members[0].moved["period_end"] if renewal else ended.end, lines=renewal + usage)
        bill = complete(draft, books=books, discount=Decimal(root.discount) if root.discount else None)
    return ClosePlan(ended, end_at, members, bill)


def _plan_member(state: MemberState, root: MemberPlan | None, *, ended: Period, end_at: datetime,
                 catalogue: Catalogue, books: Books, now: datetime) -> MemberPlan:
    account = state.account
    moved = {key: getattr(account, key) for key in MOVED}
    start_at = local_midnight(ended.start, account.timezone)
    before = catalogue.terms(account.plan_id)  # the plan in force on the period's last day
    since = max(start_at, account.activated_at) if account.activated_at else start_at
    plan = MemberPlan(account.id, account.slug, moved, plan_id=before.plan.id if before.plan else None)
    if account.status != "trial":
        # The ended period, in arrears, on the plan, cycle and anchor it was billed under.
        whole = whole_period_days(ended.start, account.anchor, account.cycle)
        if account.mode == "peak":
            own = {m.licence_id: m.quantity for m in state.minimums}
            plan.usage = _peak_lines(state.held, account, ended, since, end_at, whole, books, catalogue, before, own)
        plan.usage += _meter_lines(state.used, account, ended, books, catalogue, before)
    if root is not None:  # a child billed via its parent follows the parent's cycle (already applied)
        moved["cycle"], moved["anchor"] = root.moved["cycle"], root.moved["anchor"]
        moved["pending_cycle"] = moved["pending_anchor"] = None
    _apply_pending(plan, ended, state.minimums)
    terms = catalogue.terms(moved["plan_id"]) if "plan" in plan.applied else before
    if account.status == "closed":
        plan.final = True
        plan.seats_cancelled = sum(state.live.values())
        moved["closed_at"] = now
        return plan
    own = {m.licence_id: m.quantity if m.pending_quantity is None else m.pending_quantity for m in state.minimums}
    plan.minimum = minimums(own, terms)
    kept = Counter(state.live)
    if account.mode == "allocation":
        victims = _trim(state, plan.minimum)
        plan.cancel = [seat.id for seat in victims]
        plan.seats_cancelled = len(victims)
        kept.subtract(seat.licence_id for seat in victims)
        for licence_id, included in terms.includes.items():  # the plan's included seats not owned yet
            missing = included - kept.get(licence_id, 0)
            if missing > 0:
                plan.add[licence_id] = missing
                kept[licence_id] += missing
        plan.seat_waiting = any(state.waiting.get(licence_id) for licence_id in plan.add)
    plan.kept = {k: v for k, v in kept.items() if v}
    new = period_from(ended.end, moved["anchor"], moved["cycle"])
    if account.status != "trial":
        plan.renewal = _renewal_lines(account.id, new, moved["anchor"], moved["cycle"], end_at, books, catalogue,
                                      terms, kept)
        if account.mode == "peak":  # no seat pool: only the plan's fee is billed in advance
            plan.renewal = [line for line in plan.renewal if line.kind == "fee"]
    moved["period_start"], moved["period_end"] = new.start, new.end
    moved["period_end_at"] = local_midnight(new.end, account.timezone)
    return plan


def minimums(own: dict[int, int], terms: Terms) -> dict[int, int]:
    """The effective minimum per licence: the larger of the account's own and its plan's included seats."""
    return {k: max(own.get(k, 0), terms.included(k)) for k in set(own) | set(terms.includes)}


def _apply_pending(plan: MemberPlan, boundary: Period, rows: list[Minimum]) -> None:
    """Changes that take effect at this boundary, into `plan.moved`; what changed, into `plan.applied`."""
    moved = plan.moved
    if moved["pending_cycle"]:
        plan.applied["cycle"] = moved["pending_cycle"]
        moved["cycle"] = moved["pending_cycle"]
        moved["anchor"] = boundary.end  # a cycle change makes the boundary the new anchor
        moved["pending_cycle"] = None
    if moved["pending_anchor"]:
        plan.applied["anchor"] = moved["pending_anchor"].isoformat()
        moved["anchor"] = moved["pending_anchor"]
        moved["pending_anchor"] = None
    if moved["pending_plan_id"]:
        plan.applied["plan"] = moved["pending_plan_id"]
        moved["plan_id"] = moved["pending_plan_id"]
        moved["pending_plan_id"] = None
    lowered = {r.licence_id: r.pending_quantity for r in rows if r.pending_quantity is not None}
    if lowered:
        plan.apply_minimums = True
        plan.applied["minimums"] = lowered


def _trim(state: MemberState, minimum: dict[int, int]) -> list[FreeSeat]:
    """Free seats above max(in use at the end + waiting requests, minimum), most recently bought first."""
    victims: list[FreeSeat] = []
    for licence_id, count in state.owned.items():
        need = max(state.in_use.get(licence_id, 0) + state.waiting.get(licence_id, 0), minimum.get(licence_id, 0))
        excess = count - need
        if excess > 0 and licence_id in state.free:
            victims += sorted(state.free[licence_id], key=lambda s: (s.bought_at, s.id), reverse=True)[:excess]
    return victims


def _peak_lines(held: list[Holding], account: Any, ended: Period, start_at: datetime, end_at: datetime,
                whole_days: int, books: Books, catalogue: Catalogue, terms: Terms,
                own: dict[int, int]) -> list[LineDraft]:
    """Peak mode: per licence, price(max(highest simultaneous holders, minimum) − included), not prorated
    by holders (prorated by days only in a short period). `held`: assignments held in [start_at, end_at)."""
    changes: dict[int, list[tuple[datetime, int]]] = {}
    for licence_id, assigned_at, released_at in ((h.licence_id, h.assigned_at, h.released_at) for h in held):
        changes.setdefault(licence_id, []).append((max(assigned_at, start_at), 1))
        if released_at is not None and released_at < end_at:
            changes[licence_id].append((released_at, -1))
    floor = minimums(own, terms)
    lines = []
    for licence_id in sorted(set(changes) | {k for k, v in floor.items() if v}):
        peak = level = 0
        for _, delta in sorted(changes.get(licence_id, []), key=lambda c: (c[0], c[1])):
            level += delta
            peak = max(peak, level)
        quantity = max(peak, floor.get(licence_id, 0))
        if quantity == 0:
            continue
        licence = catalogue.licence(licence_id)
        schedule = catalogue.schedule(licence, account.cycle, start_at)
        beyond = max(0, quantity - terms.included(licence_id))
        lines.append(seat_line(account_id=account.id, licence=licence, quantity=quantity,
                               whole_period=schedule.price(beyond), start=ended.start, end=ended.end,
                               period_days=whole_days, books=books, what="peak usage",
                               unit=flat_unit(schedule) if beyond == quantity else None))
    return lines


def _meter_lines(used: list[tuple[int, int]], account: Any, ended: Period, books: Books, catalogue: Catalogue,
                 terms: Terms) -> list[LineDraft]:
    """Per meter, price(max(0, used − allowance)) for the ended period; allowances do not carry over."""
    lines = []
    for meter_id, quantity in sorted(used):
        overage = max(0, int(quantity) - terms.allowances.get(meter_id, 0))
        if overage == 0:
            continue
        meter, schedule = catalogue.meter(meter_id)
        lines.append(meter_line(account_id=account.id, meter=meter, schedule=schedule, quantity=overage,
                                start=ended.start, end=ended.end, books=books))
    return lines


def _renewal_lines(account_id: int, new: Period, anchor: date, cycle: str, start_at: datetime, books: Books,
                   catalogue: Catalogue, terms: Terms, kept: Counter[int]) -> list[LineDraft]:
    """Renewal lines in advance: the plan's fee and price(kept − included) per licence, over the whole
    period the new one is a part of."""
    whole_days = whole_period_days(new.start, anchor, cycle)
    lines = []
    fee = terms.fee(cycle)
    if terms.plan is not None and fee:
        from seatctl.rules.charges import fee_line

        lines.append(fee_line(account_id=account_id, plan_code=terms.plan.code, plan_name=terms.plan.name, fee=fee,
                              start=new.start, end=new.end, period_days=whole_days, books=books, what="renewal"))
    for licence_id in sorted(k for k, v in kept.items() if v > 0):
        quantity = kept[licence_id]
        licence = catalogue.licence(licence_id)
        included = terms.included(licence_id)
        beyond = max(0, quantity - included)
        schedule = catalogue.schedule(licence, cycle, start_at) if beyond else None
        what = "renewal" if not included else f"renewal ({min(quantity, included)} included in the plan)"
        lines.append(seat_line(account_id=account_id, licence=licence, quantity=quantity,
                               whole_period=schedule.price(beyond) if schedule else Decimal(0), start=new.start,
                               end=new.end, period_days=whole_days, books=books, what=what,
                               unit=flat_unit(schedule) if schedule is not None and beyond == quantity else None))
    return lines


Plans = Callable[[list[MemberState]], ClosePlan]

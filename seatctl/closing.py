"""Cycle close: apply pending changes, trim free seats above the minimum, bill the period."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func, insert, update
from sqlmodel import Session, col, select

from seatctl import audit, db
from seatctl.catalogue import PriceBook, require_schedule
from seatctl.context import Actor, Books
from seatctl.invoices import Draft, LineDraft, fee_line, issue, meter_line, seat_line
from seatctl.models import Account, Assignment, ClosedPeriod, Licence, Meter, Minimum, Seat, UsageRecord
from seatctl.money import format_minor
from seatctl.periods import Period, local_midnight, period_containing, period_from
from seatctl.plans import Terms, meter_schedule, terms
from seatctl.seats import current_period, find_account, held_during, invoicing_account


@dataclass
class CloseRow:
    account: str
    period_start: str
    period_end: str
    seats_cancelled: int
    invoice: str | None
    total_minor: int

    def as_dict(self, books: Books) -> dict[str, object]:
        return {
            "account": self.account, "period_start": self.period_start, "period_end": self.period_end,
            "seats_cancelled": self.seats_cancelled, "invoice": self.invoice,
            "total": format_minor(self.total_minor, books.digits),
        }


def is_due(account: Account, now: datetime) -> bool:
    return account.closed_at is None and account.period_end_at <= now


def _apply_pending(session: Session, account: Account, boundary_end: Period) -> dict[str, object]:
    """Changes that take effect at this boundary; returns what changed, for the event."""
    applied: dict[str, object] = {}
    if account.pending_cycle:
        applied["cycle"] = account.pending_cycle
        account.cycle = account.pending_cycle
        account.anchor = boundary_end.end  # a cycle change makes the boundary the new anchor
        account.pending_cycle = None
    if account.pending_anchor:
        applied["anchor"] = account.pending_anchor.isoformat()
        account.anchor = account.pending_anchor
        account.pending_anchor = None
    if account.pending_plan_id:
        applied["plan"] = account.pending_plan_id
        account.plan_id = account.pending_plan_id
        account.pending_plan_id = None
    lowered = session.exec(
        select(Minimum).where(Minimum.account_id == account.id, col(Minimum.pending_quantity).is_not(None))
    ).all()
    for minimum in lowered:
        assert minimum.pending_quantity is not None
        minimum.quantity = minimum.pending_quantity
        minimum.pending_quantity = None
        session.add(minimum)
    if lowered:
        applied["minimums"] = {m.licence_id: m.quantity for m in lowered}
    return applied


def _counts_at_end(session: Session, account_id: int, end_at: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """(owned, in use) per licence during the last instant before `end_at`."""
    owned = dict(session.exec(
        select(Seat.licence_id, func.count()).where(
            Seat.account_id == account_id, col(Seat.bought_at) < end_at,
            (col(Seat.cancelled_at).is_(None)) | (col(Seat.cancelled_at) >= end_at),
        ).group_by(Seat.licence_id)
    ).all())
    in_use = dict(session.exec(
        select(Assignment.licence_id, func.count()).where(
            Assignment.account_id == account_id, col(Assignment.assigned_at) < end_at,
            (col(Assignment.released_at).is_(None)) | (col(Assignment.released_at) >= end_at),
        ).group_by(Assignment.licence_id)
    ).all())
    return owned, in_use


def minimums_of(session: Session, account: Account, plan: Terms) -> dict[int, int]:
    """The effective minimum per licence: the larger of the account's own and its plan's included seats."""
    own = dict(session.exec(select(Minimum.licence_id, Minimum.quantity).where(Minimum.account_id == account.id)).all())
    return {k: max(own.get(k, 0), plan.included(k)) for k in set(own) | set(plan.includes)}


def _trim(session: Session, account: Account, end_at: datetime, plan: Terms) -> int:
    """Cancel free seats above max(in use at the end, minimum), most recently bought first."""
    assert account.id is not None
    owned, in_use = _counts_at_end(session, account.id, end_at)
    minimums = minimums_of(session, account, plan)
    cancelled = 0
    for licence_id, count in owned.items():
        excess = count - max(in_use.get(licence_id, 0), minimums.get(licence_id, 0))
        if excess <= 0:
            continue
        busy = select(Assignment.seat_id).where(
            Assignment.account_id == account.id, Assignment.licence_id == licence_id,
            col(Assignment.seat_id).is_not(None),
            (col(Assignment.released_at).is_(None)) | (col(Assignment.released_at) >= end_at),
        )
        victims = session.exec(
            select(Seat.id).where(
                Seat.account_id == account.id, Seat.licence_id == licence_id, col(Seat.cancelled_at).is_(None),
                col(Seat.bought_at) < end_at, col(Seat.id).not_in(busy),
            ).order_by(col(Seat.bought_at).desc(), col(Seat.id).desc()).limit(excess)
        ).all()
        if victims:
            session.execute(update(Seat).where(col(Seat.id).in_(victims)).values(cancelled_at=end_at))
            cancelled += len(victims)
    return cancelled


def _close_out(session: Session, account: Account, end_at: datetime) -> int:
    """A closed account's last close: release every seat and cancel it at the period end."""
    session.execute(update(Assignment).where(
        Assignment.account_id == account.id, col(Assignment.released_at).is_(None)
    ).values(released_at=end_at))
    result = session.execute(update(Seat).where(
        Seat.account_id == account.id, col(Seat.cancelled_at).is_(None)
    ).values(cancelled_at=end_at))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _peak_lines(session: Session, account: Account, ended: Period, start_at: datetime, end_at: datetime,
                cycle: str, books: Books, book: PriceBook, licences: dict[int, Licence], plan: Terms) -> list[LineDraft]:
    """Peak mode: per licence, price(max(highest simultaneous holders, minimum)), unprorated."""
    assert account.id is not None
    changes: dict[int, list[tuple[datetime, int]]] = {}
    for licence_id, assigned_at, released_at in session.exec(
        select(Assignment.licence_id, Assignment.assigned_at, Assignment.released_at).where(
            Assignment.account_id == account.id, held_during(start_at, end_at)
        )
    ).all():
        changes.setdefault(licence_id, []).append((max(assigned_at, start_at), 1))
        if released_at is not None and released_at < end_at:
            changes[licence_id].append((released_at, -1))
    minimums = minimums_of(session, account, plan)
    lines = []
    for licence_id in sorted(set(changes) | {k for k, v in minimums.items() if v}):
        peak = level = 0
        for _, delta in sorted(changes.get(licence_id, []), key=lambda c: (c[0], c[1])):
            level += delta
            peak = max(peak, level)
        quantity = max(peak, minimums.get(licence_id, 0))
        if quantity == 0:
            continue
        licence = licences[licence_id]
        schedule = require_schedule(book, licence, cycle, start_at)
        lines.append(seat_line(account_id=account.id, licence=licence, quantity=quantity,
                               whole_period=schedule.price(max(0, quantity - plan.included(licence_id))),
                               start=ended.start, end=ended.end, period_days=ended.days, books=books,
                               what="peak usage"))
    return lines


def _renewal_lines(session: Session, account: Account, new: Period, start_at: datetime, books: Books,
                   book: PriceBook, licences: dict[int, Licence], plan: Terms) -> list[LineDraft]:
    """Renewal lines in advance; a short period (after an anchor change) is prorated by days against
    the whole period of the new anchor that contains it."""
    assert account.id is not None
    whole_days = period_containing(new.start, account.anchor, account.cycle).days
    lines = []
    fee = plan.fee(account.cycle)
    if plan.plan is not None and fee:
        lines.append(fee_line(account_id=account.id, plan_code=plan.plan.code, plan_name=plan.plan.name, fee=fee,
                              start=new.start, end=new.end, period_days=whole_days, books=books, what="renewal"))
    kept = session.exec(
        select(Seat.licence_id, func.count()).where(
            Seat.account_id == account.id, col(Seat.cancelled_at).is_(None)
        ).group_by(Seat.licence_id).order_by(Seat.licence_id)
    ).all()
    for licence_id, quantity in kept:
        licence = licences[licence_id]
        beyond = max(0, quantity - plan.included(licence_id))
        schedule = require_schedule(book, licence, account.cycle, start_at) if beyond else None
        lines.append(seat_line(account_id=account.id, licence=licence, quantity=quantity,
                               whole_period=schedule.price(beyond) if schedule else Decimal(0), start=new.start,
                               end=new.end, period_days=whole_days, books=books,
                               what="renewal" if not plan.included(licence_id) else
                               f"renewal ({min(quantity, plan.included(licence_id))} included in the plan)"))
    return lines


def billed_group(session: Session, root: Account) -> list[Account]:
    """The invoicing account and every descendant billed via it, still open, root first."""
    members = [root]
    frontier = [root.id]
    while frontier:
        children = session.exec(select(Account).where(
            col(Account.parent_id).in_(frontier), Account.billed_via_parent == True,  # noqa: E712
            col(Account.closed_at).is_(None)).order_by(Account.slug)).all()
        members.extend(children)
        frontier = [c.id for c in children]
    return members


def _close_member(session: Session, account: Account, root: Account, *, ended: Period, end_at: datetime,
                  now: datetime, books: Books, book: PriceBook, licences: dict[int, Licence]
                  ) -> tuple[int, list[LineDraft], list[LineDraft], dict[str, object], int | None]:
    """One account's part of a close: (seats cancelled, renewal lines, usage lines, changes applied,
    the plan in force on the ended period's last day)."""
    start_at = local_midnight(ended.start, account.timezone)
    usage: list[LineDraft] = []
    before = terms(session, account.plan_id)  # the plan in force on the period's last day
    if account.status != "trial":
        since = max(start_at, account.activated_at) if account.activated_at else start_at
        if account.mode == "peak":
            usage = _peak_lines(session, account, ended, since, end_at, account.cycle, books, book, licences, before)
        usage += meter_lines(session, account, ended, since, end_at, books, before)
    if account is not root:  # a child billed via its parent follows the parent's cycle (already applied)
        account.cycle, account.anchor = root.cycle, root.anchor
        account.pending_cycle = account.pending_anchor = None
    applied = _apply_pending(session, account, ended)
    plan = terms(session, account.plan_id) if "plan" in applied else before
    renewal: list[LineDraft] = []
    if account.status == "closed":
        cancelled = _close_out(session, account, end_at)
        account.closed_at = now
    else:
        cancelled = _trim(session, account, end_at, plan) if account.mode == "allocation" else 0
        if account.mode == "allocation":
            provision_included(session, account, plan, at=end_at)
        new = period_from(ended.end, account.anchor, account.cycle)
        if account.status != "trial":
            renewal = _renewal_lines(session, account, new, end_at, books, book, licences, plan)
            if account.mode == "peak":  # no seat pool: only the plan's fee is billed in advance
                renewal = [line for line in renewal if line.kind == "fee"]
        account.period_start, account.period_end = new.start, new.end
        account.period_end_at = local_midnight(new.end, account.timezone)
    session.add(account)
    return cancelled, renewal, usage, applied, before.plan.id if before.plan else None


def meter_lines(session: Session, account: Account, ended: Period, since: datetime, end_at: datetime,
                books: Books, plan: Terms) -> list[LineDraft]:
    """Per meter, price(max(0, used − allowance)) for the ended period; allowances do not carry over."""
    assert account.id is not None
    used = session.exec(
        select(UsageRecord.meter_id, func.sum(UsageRecord.quantity)).where(
            UsageRecord.account_id == account.id, col(UsageRecord.at) >= since, col(UsageRecord.at) < end_at,
        ).group_by(UsageRecord.meter_id).order_by(UsageRecord.meter_id)
    ).all()
    lines = []
    for meter_id, quantity in used:
        overage = max(0, int(quantity) - plan.allowances.get(meter_id, 0))
        if overage == 0:
            continue
        meter = session.get(Meter, meter_id)
        assert meter is not None
        schedule = meter_schedule(meter)
        amount = schedule.price(overage)
        flat = len(schedule.tiers) == 1 and not schedule.tiers[0].flat
        lines.append(meter_line(account_id=account.id, meter_id=meter_id, meter_code=meter.code,
                                meter_name=meter.name, quantity=overage, amount=amount,
                                unit=schedule.tiers[0].unit if flat else None, start=ended.start, end=ended.end,
                                books=books))
    return lines


def provision_included(session: Session, account: Account, plan: Terms, *, at: datetime) -> int:
    """Add the plan's included seats the account does not own yet, at no charge."""
    assert account.id is not None
    added = 0
    for licence_id, included in plan.includes.items():
        missing = included - int(session.exec(select(func.count()).select_from(Seat).where(
            Seat.account_id == account.id, Seat.licence_id == licence_id, col(Seat.cancelled_at).is_(None))).one())
        if missing > 0:
            session.execute(insert(Seat), [{"account_id": account.id, "licence_id": licence_id, "bought_at": at}
                                           for _ in range(missing)])
            added += missing
    return added


def close_period(session: Session, root: Account, *, now: datetime, books: Books, book: PriceBook,
                 actor: Actor, automatic: bool, licences: dict[int, Licence] | None = None) -> CloseRow:
    """Close the invoicing account's ended period, and its billed-via children's, in the caller's
    transaction: at most one invoice (renewal lines in advance, usage lines in arrears)."""
    assert root.id is not None and is_due(root, now)
    if licences is None:
        licences = {lic.id: lic for lic in session.exec(select(Licence)).all() if lic.id is not None}
    ended = current_period(root)
    end_at = root.period_end_at
    members = billed_group(session, root)
    cancelled_total = 0
    renewal: list[LineDraft] = []
    usage: list[LineDraft] = []
    applied_by: dict[str, dict[str, object]] = {}
    plans: dict[int, int | None] = {}
    for member in members:
        cancelled, member_renewal, member_usage, applied, plans[int(member.id or 0)] = _close_member(
            session, member, root, ended=ended, end_at=end_at, now=now, books=books, book=book,
            licences=licences)
        cancelled_total += cancelled
        renewal += member_renewal
        usage += member_usage
        if applied:
            applied_by[member.slug] = applied
    invoice = None
    if not any(line.amount_minor for line in renewal):
        renewal = []  # only included seats at no charge: nothing to renew on paper
    if renewal or usage:
        new = current_period(root)
        draft = Draft(account_id=root.id, kind="renewal" if renewal else "usage",
                      period_start=new.start if renewal else ended.start,
                      period_end=new.end if renewal else ended.end, lines=renewal + usage)
        discount = Decimal(root.discount) if root.discount else None
        invoice = issue(session, draft, books=books, at=now, actor=actor, discount=discount)
    total = invoice.total_minor if invoice else 0
    for member in members:
        session.add(ClosedPeriod(account_id=member.id, period_start=ended.start, period_end=ended.end,
                                 closed_at=now, seats_cancelled=cancelled_total if member is root else 0,
                                 invoice_id=invoice.id if invoice else None,
                                 total_minor=total if member is root else 0, plan_id=plans[int(member.id or 0)]))
    row = CloseRow(root.slug, ended.start.isoformat(), ended.end.isoformat(), cancelled_total,
                   invoice.number if invoice else None, total)
    for member in members:  # one event per account period closed
        audit.record(session, at=now, operator=actor.name, action="cycle.close", account_id=member.id,
                     automatic=automatic, period_start=row.period_start, period_end=row.period_end,
                     seats_cancelled=cancelled_total if member is root else None, invoice=row.invoice,
                     total=format_minor(total, books.digits) if member is root else None,
                     billed_via=root.slug if member is not root else None,
                     accounts=[m.slug for m in members] if member is root and len(members) > 1 else None,
                     applied=applied_by.get(member.slug))
    session.flush()
    return row


def close_due(session: Session, account: Account, *, now: datetime, books: Books, actor: Actor,
              automatic: bool, book: PriceBook | None = None) -> list[CloseRow]:
    """Close every ended period of one account, oldest first, in the caller's transaction."""
    rows = []
    book = book or PriceBook(session)
    while is_due(account, now):
        rows.append(close_period(session, account, now=now, books=books, book=book, actor=actor,
                                 automatic=automatic))
    return rows


def due_accounts(session: Session, *, now: datetime, slug: str | None = None) -> list[tuple[int, str]]:
    query = select(Account.id, Account.slug).where(col(Account.closed_at).is_(None),
                                                   col(Account.period_end_at) <= now,
                                                   Account.billed_via_parent == False)  # noqa: E712
    if slug is not None:
        root = invoicing_account(session, find_account(session, slug))
        query = query.where(Account.id == root.id)
    return [(int(i), s) for i, s in session.exec(query.order_by(Account.slug)).all() if i is not None]


def close_all(engine: Engine, *, now: datetime, books: Books, actor: Actor, slug: str | None = None,
              dry_run: bool = False, progress: Callable[[int, int], None] | None = None) -> list[CloseRow]:
    """The cron job: one transaction per account period (a dry run rolls back one big one)."""
    actor.require("billing", "close billing cycles")
    with db.read(engine) as session:
        due = due_accounts(session, now=now, slug=slug)
    rows: list[CloseRow] = []
    if dry_run:
        with db.write(engine) as session:
            book = PriceBook(session)
            for done, (account_id, _) in enumerate(due, 1):
                account = session.get(Account, account_id)
                assert account is not None
                rows.extend(close_due(session, account, now=now, books=books, actor=actor,
                                      automatic=False, book=book))
                if progress:
                    progress(done, len(due))
            session.rollback()
        return rows
    for done, (account_id, _) in enumerate(due, 1):
        rows.extend(_close_account(engine, account_id, now=now, books=books, actor=actor))
        if progress:
            progress(done, len(due))
    return rows


def _close_account(engine: Engine, account_id: int, *, now: datetime, books: Books,
                   actor: Actor) -> Iterator[CloseRow]:
    while True:
        with db.write(engine) as session:
            account = session.exec(select(Account).where(Account.id == account_id).with_for_update()).one()
            if not is_due(account, now):  # another run closed it meanwhile
                return
            yield close_period(session, account, now=now, books=books, book=PriceBook(session),
                               actor=actor, automatic=False)

"""`cycle show`: the current period and what its close would keep and bill."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from seatctl.accounts import find_account
from seatctl.catalogue import PriceBook
from seatctl.closing import is_due
from seatctl.context import Books
from seatctl.models import Assignment, Licence, Minimum, Seat
from seatctl.money import format_minor, to_minor
from seatctl.periods import local_date, local_midnight, period_from
from seatctl.seats import current_period


def show_cycle(session: Session, slug: str, *, now: datetime, books: Books) -> dict[str, object]:
    account = find_account(session, slug)
    assert account.id is not None
    period = current_period(account)
    today = local_date(now, account.timezone)
    cycle = account.pending_cycle or account.cycle
    anchor = account.pending_anchor or (period.end if account.pending_cycle else account.anchor)
    following = period_from(period.end, anchor, cycle)
    owned = dict(session.exec(select(Seat.licence_id, func.count()).where(
        Seat.account_id == account.id, col(Seat.cancelled_at).is_(None)).group_by(Seat.licence_id)).all())
    in_use = dict(session.exec(select(Assignment.licence_id, func.count()).where(
        Assignment.account_id == account.id, col(Assignment.released_at).is_(None)).group_by(Assignment.licence_id)
    ).all())
    minimums = {m.licence_id: (m.pending_quantity if m.pending_quantity is not None else m.quantity)
                for m in session.exec(select(Minimum).where(Minimum.account_id == account.id)).all()}
    book = PriceBook(session)
    keep_rows = []
    total_minor = 0
    for licence in session.exec(select(Licence).order_by(Licence.code)).all():
        assert licence.id is not None
        have = owned.get(licence.id, 0)
        if not have and not in_use.get(licence.id) and not minimums.get(licence.id):
            continue
        kept = have if account.mode == "peak" else min(have, max(in_use.get(licence.id, 0), minimums.get(licence.id, 0)))
        schedule = book.schedule(licence.id, cycle, local_midnight(following.start, account.timezone))
        amount = schedule.price(kept) if schedule and account.mode == "allocation" else Decimal(0)
        total_minor += to_minor(amount, books.digits)
        keep_rows.append({"licence": licence.code, "owned": have, "in_use": in_use.get(licence.id, 0),
                          "minimum": minimums.get(licence.id, 0), "kept": kept,
                          "renewal": format_minor(to_minor(amount, books.digits), books.digits)})
    pending = {}
    if account.pending_cycle:
        pending["cycle"] = account.pending_cycle
    if account.pending_anchor:
        pending["anchor"] = account.pending_anchor.isoformat()
    return {
        "account": account.slug, "mode": account.mode, "cycle": account.cycle,
        "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
        "days": period.days, "days_left": max(0, (period.end - today).days),
        "due": is_due(account, now), "next_period_start": following.start.isoformat(),
        "next_period_end": following.end.isoformat(), "seats": keep_rows,
        "renewal_total": format_minor(total_minor, books.digits) if account.status != "trial"
        else format_minor(0, books.digits),
        "pending": pending or None,
    }

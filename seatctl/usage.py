"""`report usage`: seats owned, held, bought, released, cancelled and denied per bucket, in SQL."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import DateTime, String, and_, column, func, or_, select, true, union, values
from sqlmodel import Session, col

from seatctl.accounts import account_ids, in_accounts
from seatctl.buckets import Bucket
from seatctl.catalogue import find as find_licence
from seatctl.models import Account, Assignment, Event, Licence, Seat

COLUMNS = ["bucket", "account", "licence", "owned_end", "in_use_peak", "in_use_end", "seat_days", "bought",
           "released", "cancelled", "denied"]


def _bucket_table(session: Session, buckets: list[Bucket], ids: list[int] | None):  # type: ignore[no-untyped-def]
    zones = session.execute(select(Account.timezone).where(in_accounts(Account.id, ids)).distinct()).scalars().all()
    rows = [(tz, b.label.isoformat(), *b.instants(tz)) for tz in zones for b in buckets]
    if not rows:
        return None
    return values(column("tz", String), column("bucket", String), column("b_start", DateTime),
                  column("b_end", DateTime), name="buckets").data(rows).cte("buckets")


def usage_rows(session: Session, *, buckets: list[Bucket], slug: str | None = None, tree: bool = False,
               licence: str | None = None) -> list[dict[str, object]]:
    ids = account_ids(session, slug, tree)
    licence_id = find_licence(session, licence).id if licence else None
    b = _bucket_table(session, buckets, ids)
    if b is None:
        return []
    dialect = session.get_bind().dialect.name
    acct = and_(Account.timezone == b.c.tz, in_accounts(Account.id, ids))

    def lic(column_):  # type: ignore[no-untyped-def]
        return true() if licence_id is None else column_ == licence_id

    stats: dict[tuple[str, int, int], dict[str, object]] = defaultdict(dict)

    def collect(name: str, query) -> None:  # type: ignore[no-untyped-def]
        for bucket, account_id, licence_id_, value in session.execute(query).all():
            stats[(bucket, account_id, licence_id_)][name] = value

    def by_bucket(model, *conditions):  # type: ignore[no-untyped-def]
        return (select(b.c.bucket, model.account_id, model.licence_id)
                .select_from(model).join(Account, Account.id == model.account_id).join(b, and_(acct, *conditions))
                .where(lic(model.licence_id)).group_by(b.c.bucket, model.account_id, model.licence_id))

    collect("owned_end", by_bucket(Seat, col(Seat.bought_at) < b.c.b_end,
                                   or_(col(Seat.cancelled_at).is_(None), col(Seat.cancelled_at) >= b.c.b_end))
            .add_columns(func.count()))
    collect("bought", by_bucket(Seat, col(Seat.bought_at) >= b.c.b_start, col(Seat.bought_at) < b.c.b_end)
            .add_columns(func.count()))
    collect("cancelled", by_bucket(Seat, col(Seat.cancelled_at) >= b.c.b_start, col(Seat.cancelled_at) < b.c.b_end)
            .add_columns(func.count()))
    collect("in_use_end", by_bucket(Assignment, col(Assignment.assigned_at) < b.c.b_end,
                                    or_(col(Assignment.released_at).is_(None),
                                        col(Assignment.released_at) >= b.c.b_end)).add_columns(func.count()))
    collect("released", by_bucket(Assignment, col(Assignment.released_at) >= b.c.b_start,
                                  col(Assignment.released_at) < b.c.b_end).add_columns(func.count()))
    overlap = (col(Assignment.assigned_at) < b.c.b_end,
               or_(col(Assignment.released_at).is_(None), col(Assignment.released_at) > b.c.b_start))
    held_end = func.coalesce(Assignment.released_at, b.c.b_end)
    if dialect == "sqlite":
        span = func.julianday(func.min(held_end, b.c.b_end)) - func.julianday(func.max(Assignment.assigned_at, b.c.b_start))
    else:
        span = func.extract("epoch", func.least(held_end, b.c.b_end) - func.greatest(Assignment.assigned_at, b.c.b_start)) / 86400
    collect("seat_days", by_bucket(Assignment, *overlap).add_columns(func.sum(span)))
    collect("denied", select(b.c.bucket, Event.account_id, Event.licence_id, func.sum(Event.quantity))
            .select_from(Event).join(Account, Account.id == Event.account_id)
            .join(b, and_(acct, col(Event.at) >= b.c.b_start, col(Event.at) < b.c.b_end))
            .where(Event.action == "denial", lic(Event.licence_id))
            .group_by(b.c.bucket, Event.account_id, Event.licence_id))
    # The peak: holders counted at the bucket's start and at every assignment start inside it.
    starts = (select(b.c.bucket, Assignment.account_id, Assignment.licence_id, Assignment.assigned_at.label("t"))
              .select_from(Assignment).join(Account, Account.id == Assignment.account_id)
              .join(b, and_(acct, col(Assignment.assigned_at) >= b.c.b_start, col(Assignment.assigned_at) < b.c.b_end))
              .where(lic(Assignment.licence_id)))
    opening = (select(b.c.bucket, Assignment.account_id, Assignment.licence_id, b.c.b_start.label("t"))
               .select_from(Assignment).join(Account, Account.id == Assignment.account_id)
               .join(b, and_(acct, col(Assignment.assigned_at) < b.c.b_start,
                             or_(col(Assignment.released_at).is_(None), col(Assignment.released_at) > b.c.b_start)))
               .where(lic(Assignment.licence_id)))
    instants = union(starts, opening).subquery("instants")
    held = Assignment.__table__.alias("held")  # type: ignore[attr-defined]
    level = (select(instants.c.bucket, instants.c.account_id, instants.c.licence_id, func.count().label("n"))
             .select_from(instants).join(held, and_(
                 held.c.account_id == instants.c.account_id, held.c.licence_id == instants.c.licence_id,
                 held.c.assigned_at <= instants.c.t, or_(held.c.released_at.is_(None), held.c.released_at > instants.c.t)))
             .group_by(instants.c.bucket, instants.c.account_id, instants.c.licence_id, instants.c.t)).subquery("level")
    collect("in_use_peak", select(level.c.bucket, level.c.account_id, level.c.licence_id, func.max(level.c.n))
            .group_by(level.c.bucket, level.c.account_id, level.c.licence_id))

    active_pairs = {(a, lic_) for (_, a, lic_), values_ in stats.items() if any(values_.values())}
    slugs = dict(session.exec(select(Account.id, Account.slug)).all())
    codes = dict(session.exec(select(Licence.id, Licence.code)).all())
    rows = []
    for bucket in buckets:
        label = bucket.label.isoformat()
        for account_id, licence_id_ in active_pairs:
            v = stats.get((label, account_id, licence_id_), {})
            rows.append({
                "bucket": label, "account": slugs[account_id], "licence": codes[licence_id_],
                "owned_end": int(v.get("owned_end") or 0), "in_use_peak": int(v.get("in_use_peak") or 0),
                "in_use_end": int(v.get("in_use_end") or 0),
                "seat_days": Decimal(str(v.get("seat_days") or 0)).quantize(Decimal("0.01"), ROUND_HALF_UP),
                "bought": int(v.get("bought") or 0), "released": int(v.get("released") or 0),
                "cancelled": int(v.get("cancelled") or 0), "denied": int(v.get("denied") or 0),
            })
    return sorted(rows, key=lambda r: (str(r["bucket"]), str(r["account"]), str(r["licence"])))


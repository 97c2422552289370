"""`report usage`: seats owned, held, bought, released, cancelled and denied per bucket.

One pass over the seats, the assignments and the denials that touch the range (three queries, the
rows streamed, never joined with the buckets in SQL): each record adds itself to the buckets it
touches with difference arrays, the peak of holders is a sweep over each pair's assignment starts
and ends. Instants are compared as the database compares them (the stored text on SQLite)."""

from __future__ import annotations

import gc
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import DateTime, String, and_, or_, select, true, type_coerce
from sqlmodel import Session

from seatctl.accounts import account_ids, in_accounts
from seatctl.buckets import Bucket
from seatctl.catalogue import find as find_licence
from seatctl.models import Account, Assignment, Event, Licence, Seat

COLUMNS = ["bucket", "account", "licence", "owned_end", "in_use_peak", "in_use_end", "seat_days", "bought",
           "released", "cancelled", "denied"]

_DAY_US = Decimal(86_400_000_000)
_CENT = Decimal("0.01")
_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1)


def _stream(result: Any) -> Iterator[Any]:
    """The rows of a result, fetched many at a time (memory stays bounded, per-row overhead low)."""
    for chunk in result.partitions(10_000):
        yield from chunk


def _plain(instant: datetime) -> datetime:
    return datetime(instant.year, instant.month, instant.day, instant.hour, instant.minute, instant.second,
                    instant.microsecond)


class _Zone:
    """The buckets' instants in one time zone: as the database holds them (for comparisons) and in
    microseconds (for seat-days)."""

    def __init__(self, buckets: list[Bucket], tz: str, to_db: Any) -> None:
        instants = [(_plain(s), _plain(e)) for s, e in (b.instants(tz) for b in buckets)]
        self.starts = [to_db(s) for s, _ in instants]
        self.ends = [to_db(e) for _, e in instants]
        self.first, self.last = instants[0][0], instants[-1][1]
        self.starts_us = [(s - _EPOCH) // _ONE_US for s, _ in instants]
        self.ends_us = [(e - _EPOCH) // _ONE_US for _, e in instants]

    def index(self, at: Any) -> int:
        """The bucket holding the instant `at`, or -1."""
        i = bisect_right(self.starts, at) - 1
        return i if i >= 0 and at < self.ends[i] else -1


class _Pair:
    """One account and licence: per-bucket counters (the *_diff ones are difference arrays)."""

    __slots__ = ("zone", "owned_diff", "bought", "cancelled", "held_diff", "released", "cover_diff", "seat_us",
                 "start_diff", "peak", "denied")

    def __init__(self, zone: _Zone, n: int) -> None:
        self.zone = zone
        self.owned_diff = [0] * (n + 1)
        self.bought = [0] * n
        self.cancelled = [0] * n
        self.held_diff = [0] * (n + 1)
        self.released = [0] * n
        self.cover_diff = [0] * (n + 1)
        self.seat_us = [0] * n
        self.start_diff = [0] * (n + 1)
        self.peak = [0] * n
        self.denied = [0] * n


def usage_rows(session: Session, *, buckets: list[Bucket], slug: str | None = None, tree: bool = False,
               licence: str | None = None) -> list[dict[str, object]]:
    # Millions of small, acyclic objects: the cycle collector would only rescan them, again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _usage_rows(session, buckets=buckets, slug=slug, tree=tree, licence=licence)
    finally:
        if enabled:
            gc.enable()


def _usage_rows(session: Session, *, buckets: list[Bucket], slug: str | None, tree: bool,
                licence: str | None) -> list[dict[str, object]]:
    ids = account_ids(session, slug, tree)
    licence_id = find_licence(session, licence).id if licence else None
    conn = session.connection()
    zone_of = dict(conn.execute(select(Account.id, Account.timezone).where(in_accounts(Account.id, ids))).all())
    if not zone_of or not buckets:
        return []
    n = len(buckets)
    datetime_type = DateTime().dialect_impl(conn.dialect)
    to_db = datetime_type.bind_processor(conn.dialect) or (lambda value: value)
    zones = {tz: _Zone(buckets, tz, to_db) for tz in set(zone_of.values())}
    first = min(z.first for z in zones.values())  # the range, in every zone at once
    last = max(z.last for z in zones.values())

    def raw(column):  # type: ignore[no-untyped-def]
        """The column as stored (text on SQLite), to skip parsing what is only compared."""
        return type_coerce(column, String)

    def to_us(value: Any) -> int:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        return (instant - _EPOCH) // _ONE_US

    def wanted(account_column, licence_column):  # type: ignore[no-untyped-def]
        return and_(in_accounts(account_column, ids),
                    true() if licence_id is None else licence_column == licence_id)

    pairs: dict[tuple[int, int], _Pair] = {}

    def pair(account_id: int, licence_id_: int) -> _Pair:
        found = pairs.get((account_id, licence_id_))
        if found is None:
            found = pairs[(account_id, licence_id_)] = _Pair(zones[zone_of[account_id]], n)
        return found

    # Seats owned at some bucket's end, bought or cancelled in the range.
    for account_id, licence_id_, bought, cancelled in _stream(conn.execute(
        select(Seat.account_id, Seat.licence_id, raw(Seat.bought_at), raw(Seat.cancelled_at))
        .where(wanted(Seat.account_id, Seat.licence_id), Seat.bought_at < last,
               or_(Seat.cancelled_at.is_(None), Seat.cancelled_at >= first))  # type: ignore[union-attr]
    )):
        p = pair(account_id, licence_id_)
        z = p.zone
        start = bisect_right(z.ends, bought)  # owned at the end of buckets [start, stop)
        stop = n if cancelled is None else bisect_right(z.ends, cancelled)
        if start < stop:
            p.owned_diff[start] += 1
            p.owned_diff[stop] -= 1
        i = z.index(bought)
        if i >= 0:
            p.bought[i] += 1
        if cancelled is not None:
            i = z.index(cancelled)
            if i >= 0:
                p.cancelled[i] += 1

    # Assignments held at some instant of the range, one account and licence at a time.
    held = _stream(conn.execute(
        select(Assignment.account_id, Assignment.licence_id, raw(Assignment.assigned_at), raw(Assignment.released_at))
        .where(wanted(Assignment.account_id, Assignment.licence_id), Assignment.assigned_at < last,
               or_(Assignment.released_at.is_(None), Assignment.released_at >= first))  # type: ignore[union-attr]
        .order_by(Assignment.account_id, Assignment.licence_id)
    ))
    for (account_id, licence_id_), group in itertools.groupby(held, key=lambda r: (r[0], r[1])):
        p = pair(account_id, licence_id_)
        z = p.zone
        starts, ends, start_diff, held_diff, cover_diff, seat_us = (
            z.starts, z.ends, p.start_diff, p.held_diff, p.cover_diff, p.seat_us)
        changes: list[tuple[Any, int]] = []
        for _, _, assigned, released in group:
            changes.append((assigned, 1))
            begin = bisect_left(starts, assigned)  # held at the start of buckets [begin, end)
            end = n if released is None else bisect_left(starts, released)
            if begin < end:
                start_diff[begin] += 1
                start_diff[end] -= 1
            start = bisect_right(ends, assigned)  # held at the end of buckets [start, stop)
            stop = n if released is None else bisect_right(ends, released)
            if start < stop:
                held_diff[start] += 1
                held_diff[stop] -= 1
            if released is not None:
                changes.append((released, -1))
                i = bisect_right(starts, released) - 1
                if i >= 0 and released < ends[i]:
                    p.released[i] += 1
            # Seat-days: buckets [start, end) overlap [assigned, released); whole ones count their
            # length, the first and the last lose what lies outside.
            if start < end:
                cover_diff[start] += 1
                cover_diff[end] -= 1
                if assigned > starts[start]:
                    seat_us[start] -= to_us(assigned) - z.starts_us[start]
                if released is not None and released < ends[end - 1]:
                    seat_us[end - 1] -= z.ends_us[end - 1] - to_us(released)
        # The peak: the most holders at one instant of each bucket (a release at t frees the seat at t):
        # the holders at the bucket's start, or after an assignment that starts inside it.
        peak = p.peak = list(itertools.accumulate(start_diff[:n]))
        level = 0
        low, high = starts[0], ends[-1]
        for at, delta in sorted(changes):  # releases before assignments at the same instant
            level += delta
            if delta > 0 and low < at < high:
                i = bisect_right(starts, at) - 1
                if at != starts[i] and at < ends[i] and level > peak[i]:
                    peak[i] = level

    for account_id, licence_id_, at, quantity in conn.execute(
        select(Event.account_id, Event.licence_id, raw(Event.at), Event.quantity)
        .join(Account, Account.id == Event.account_id)
        .where(Event.action == "denial", wanted(Event.account_id, Event.licence_id),
               Event.at >= first, Event.at < last)  # type: ignore[operator]
    ):
        if licence_id_ is None or quantity is None:
            continue
        p = pair(account_id, licence_id_)
        i = p.zone.index(at)
        if i >= 0:
            p.denied[i] += quantity

    slugs = dict(conn.execute(select(Account.id, Account.slug)).all())
    codes = dict(conn.execute(select(Licence.id, Licence.code)).all())
    days: dict[int, Decimal] = {}
    table = []
    for (account_id, licence_id_), p in pairs.items():
        z = p.zone
        owned = list(itertools.accumulate(p.owned_diff[:n]))
        in_use = list(itertools.accumulate(p.held_diff[:n]))
        seat_us = [c * (e - s) + adj for c, s, e, adj in
                   zip(itertools.accumulate(p.cover_diff[:n]), z.starts_us, z.ends_us, p.seat_us, strict=True)]
        if not any(itertools.chain(owned, in_use, seat_us, p.peak, p.bought, p.released, p.cancelled, p.denied)):
            continue
        seat_days = []
        for us in seat_us:
            value = days.get(us)
            if value is None:
                value = days[us] = (Decimal(us) / _DAY_US).quantize(_CENT, ROUND_HALF_UP)
            seat_days.append(value)
        table.append((slugs[account_id], codes[licence_id_], owned, p.peak, in_use, seat_days, p.bought,
                      p.released, p.cancelled, p.denied))
    table.sort(key=lambda t: (t[0], t[1]))
    labels = [b.label.isoformat() for b in buckets]
    per_bucket: list[list[dict[str, object]]] = [[] for _ in buckets]
    appenders = [rows_.append for rows_ in per_bucket]
    for account, code, *columns in table:  # one pair's buckets at a time: its values lie together
        for label, add, (owned_end, peak, in_use_end, seat_days, bought, released, cancelled, denied) in zip(
                labels, appenders, zip(*columns, strict=True), strict=True):
            add({"bucket": label, "account": account, "licence": code, "owned_end": owned_end, "in_use_peak": peak,
                 "in_use_end": in_use_end, "seat_days": seat_days, "bought": bought, "released": released,
                 "cancelled": cancelled, "denied": denied})
    rows: list[dict[str, object]] = []
    for i in sorted(range(len(labels)), key=labels.__getitem__):
        rows += per_bucket[i]
    return rows

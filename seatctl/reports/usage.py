"""`report usage`, streamed: rows come out bucket by bucket while the database is still being read.

Every seat is +1 owned at `bought_at` and -1 at `cancelled_at`, every assignment +1 held at
`assigned_at` and -1 at `released_at`, every denial its quantity. Two queries:

- the *pairs*: one row per account and licence with anything in the range (a seat or assignment
  overlapping it, a denial in it), with the seats owned and held at its start. Only these pairs get
  rows, each for every bucket (sorted here by slug and licence code);
- the *events* inside the range, in output order: bucket, account, licence, then time. Assignment
  events come one by one (their order gives the holders after each event, hence the peak); seat and
  denial events come summed per bucket. Each event's bucket (its index) is found by a binary search
  written as nested CASEs over the buckets' bounds in its account's time zone.

Python walks the events once, bucket after bucket, and carries each pair's levels (seats owned,
seats held) across the buckets without events. Memory is that state (a few numbers per pair), never
the events nor the rows. Seat-time is exact integer microseconds. Instants are compared as the
database compares them (the stored text on SQLite)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain, repeat
from typing import Any

from sqlalchemy import DateTime, bindparam, text
from sqlmodel import Session, col, select

from seatctl.ops.catalogue import find as find_licence
from seatctl.ops.lookup import account_ids, in_accounts
from seatctl.rules.buckets import Bucket
from seatctl.store.tables import Account, Licence

COLUMNS = ["bucket", "account", "licence", "owned_end", "in_use_peak", "in_use_end", "seat_days", "bought",
           "released", "cancelled", "denied"]

BATCH = 10000  # event rows fetched from the cursor at a time

_DAY_US = Decimal(86_400_000_000)
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1)
_DAYS_CACHE = 65_536  # seat-days values remembered (most rows repeat a few); bounded, so memory stays flat

# Per account and licence with anything in the range: seats owned and seats held at the range's start.
# {held_start}/{owned_start} test whether an interval is open at the start of its account's range; with
# several time zones, {live_*} whether it overlaps that range ({zone_join} brings the account's zone).
# Each part is summed on its own (in index order), then the parts together.
_PAIRS = """
SELECT account_id, licence_id, CAST(SUM(owned) AS BIGINT), CAST(SUM(held) AS BIGINT) FROM (
  SELECT e.account_id, e.licence_id, 0 AS owned, SUM(CASE WHEN {held_start} THEN 1 ELSE 0 END) AS held
    FROM assignment e{zone_join}
   WHERE e.assigned_at < :glast AND (e.released_at IS NULL OR e.released_at >= :gfirst){live_held}{filters}
   GROUP BY e.account_id, e.licence_id
  UNION ALL
  SELECT e.account_id, e.licence_id, SUM(CASE WHEN {owned_start} THEN 1 ELSE 0 END), 0
    FROM seat e{zone_join}
   WHERE e.bought_at < :glast AND (e.cancelled_at IS NULL OR e.cancelled_at >= :gfirst){live_owned}{filters}
   GROUP BY e.account_id, e.licence_id
  UNION ALL
  SELECT e.account_id, e.licence_id, 0, 0 FROM event e{zone_join}
   WHERE e.action = 'denial' AND e.account_id IS NOT NULL AND e.licence_id IS NOT NULL
     AND e.quantity IS NOT NULL AND e.quantity <> 0 AND e.at >= :gfirst AND e.at < :glast{live_at}{filters}
) AS p
 GROUP BY account_id, licence_id
"""

# The events inside the range, in output order. Kind 0: one assignment (+1) or release (-1) at t_us
# (µs since 1970), releases first at one instant; kind 1: the seats bought and cancelled and the seats
# denied in that bucket, summed.
_EVENTS = """
SELECT i, account_id, licence_id, kind, t_us, d, n_bought, n_cancelled, n_denied FROM (
  SELECT {key_assigned} AS i, e.account_id, e.licence_id, 0 AS kind, {t_assigned} AS t_us, 1 AS d,
         0 AS n_bought, 0 AS n_cancelled, 0 AS n_denied
    FROM assignment e{zone_join}
   WHERE e.assigned_at >= :gfirst AND e.assigned_at < :glast{in_assigned}{filters}
  UNION ALL
  SELECT {key_released}, e.account_id, e.licence_id, 0, {t_released}, -1, 0, 0, 0
    FROM assignment e{zone_join}
   WHERE e.released_at >= :gfirst AND e.released_at < :glast{in_released}{filters}
  UNION ALL
  SELECT i, account_id, licence_id, 1, 0, 0, CAST(SUM(n_bought) AS BIGINT), CAST(SUM(n_cancelled) AS BIGINT),
         CAST(SUM(n_denied) AS BIGINT)
    FROM (
      SELECT {key_bought} AS i, e.account_id, e.licence_id, 1 AS n_bought, 0 AS n_cancelled, 0 AS n_denied
        FROM seat e{zone_join}
       WHERE e.bought_at >= :gfirst AND e.bought_at < :glast{in_bought}{filters}
      UNION ALL
      SELECT {key_cancelled}, e.account_id, e.licence_id, 0, 1, 0
        FROM seat e{zone_join}
       WHERE e.cancelled_at >= :gfirst AND e.cancelled_at < :glast{in_cancelled}{filters}
      UNION ALL
      SELECT {key_at}, e.account_id, e.licence_id, 0, 0, e.quantity
        FROM event e{zone_join}
       WHERE e.action = 'denial' AND e.account_id IS NOT NULL AND e.licence_id IS NOT NULL
         AND e.quantity IS NOT NULL AND e.at >= :gfirst AND e.at < :glast{in_at}{filters}
    ) AS o
   GROUP BY i, account_id, licence_id
) AS x
 ORDER BY i, account_id, licence_id, kind, t_us, d
"""

# An instant in exact integer microseconds since 1970. SQLite: from the stored text, the seconds without
# their fraction (julianday() and strftime() round to the millisecond) and then the microseconds.
_T_US_SQLITE = "({seconds} * 1000000 + CAST(substr({t}, 21, 6) AS INTEGER))"
_SECONDS_SQLITE = "CAST(strftime('%s', substr({t}, 1, 19)) AS INTEGER)"
_SECONDS_SQLITE_338 = "unixepoch(substr({t}, 1, 19))"  # the same, faster (SQLite 3.38+)
_T_US_POSTGRESQL = "CAST(ROUND(EXTRACT(EPOCH FROM {t}) * 1000000) AS BIGINT)"


def _plain(instant: datetime) -> datetime:
    return datetime(instant.year, instant.month, instant.day, instant.hour, instant.minute, instant.second,
                    instant.microsecond)


def _us(instant: datetime) -> int:
    return (instant - _EPOCH) // _ONE_US


class _Zone:
    """The buckets in one time zone: their bounds in µs, and the SQL that finds an instant's bucket.

    Nothing after now is counted: `cut` (now, included) ends the range read, each bucket is counted
    up to it at most, and a bucket that starts after it is `future` (it counts nothing)."""

    def __init__(self, buckets: list[Bucket], tz: str, literal, cut: datetime) -> None:
        bounds = [(_plain(s), _plain(e)) for s, e in (b.instants(tz) for b in buckets)]
        self.first, last = bounds[0][0], bounds[-1][1]
        self.last = min(last, cut)
        cut_us = _us(cut)
        self.starts_us = [_us(s) for s, _ in bounds]
        self.lengths_us = [max(0, min(_us(e), cut_us) - _us(s)) for s, e in bounds]
        self.future = [_us(s) >= cut_us for s, _ in bounds]
        self._edges = [s for s, _ in bounds] + [last]
        self._literal = literal

    def key(self, column: str) -> str:
        """SQL giving the index of the bucket holding the instant in `column`, known to be in the range:
        the last bucket whose start is <= it (an empty bucket never holds one), by nested CASEs."""
        edges, literal = self._edges, self._literal

        def search(lo: int, hi: int) -> str:  # bisect_right(edges, t) is in [lo, hi]; the bucket is one less
            if lo == hi:
                return str(lo - 1)
            mid = (lo + hi) // 2
            return (f"CASE WHEN {column} < {literal(edges[mid])} THEN {search(lo, mid)} "
                    f"ELSE {search(mid + 1, hi)} END")

        return search(1, len(edges) - 1)


def iter_usage_rows(session: Session, *, buckets: list[Bucket], slug: str | None = None, tree: bool = False,
                    licence: str | None = None, now: datetime) -> Iterator[dict[str, object]]:
    """The rows of the report in order (bucket, account, licence), as they are computed.

    Nothing after `now` (the command's clock) is counted: the bucket that holds now is counted up to
    now (its `owned_end` and `in_use_end` are the levels at now), later buckets count nothing.

    Checks its arguments and runs its queries now (so a bad account or licence fails before anything
    is printed); the rows are read from the database as they are consumed, inside `session`'s
    transaction, which must stay open until the iterator is exhausted or closed."""
    ids = account_ids(session, slug, tree)
    licence_id = find_licence(session, licence).id if licence else None
    conn = session.connection()
    zone_of: dict[int, str] = {
        int(i): tz for i, tz in conn.execute(
            select(col(Account.id), col(Account.timezone)).where(in_accounts(Account.id, ids))).all()}
    if not zone_of or not buckets:
        return iter(())
    dialect = conn.dialect
    sqlite = dialect.name == "sqlite"
    to_db = DateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)

    def literal(value: datetime) -> str:
        """An instant as an SQL literal, exactly as the database holds instants."""
        if sqlite:
            return f"'{to_db(value)}'"
        return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='microseconds')}'"

    def quoted(name: str) -> str:
        return "'" + name.replace("'", "''") + "'"

    cut = now + _ONE_US  # events at now are counted, later ones not
    zones = {tz: _Zone(buckets, tz, literal, cut) for tz in sorted(set(zone_of.values()))}
    one_zone = len(zones) == 1

    def per_zone(sql) -> str:
        """SQL that depends on the account's time zone: `sql(zone)` for the only one, else a CASE."""
        if one_zone:
            return str(sql(next(iter(zones.values()))))
        return ("CASE a.timezone " + " ".join(f"WHEN {quoted(tz)} THEN {sql(z)}" for tz, z in zones.items())
                + " END")  # the account's zone picks

    def first(z: _Zone) -> str:
        return literal(z.first)

    def last(z: _Zone) -> str:
        return literal(z.last)

    def inside(column: str) -> str:
        """With several zones: the instant is inside its own account's range (the WHERE tests the widest)."""
        return "" if one_zone else f" AND {column} >= {per_zone(first)} AND {column} < {per_zone(last)}"

    if sqlite:
        version = getattr(dialect.dbapi, "sqlite_version_info", (0,))
        seconds = _SECONDS_SQLITE_338 if version >= (3, 38) else _SECONDS_SQLITE

        def t_us(column: str) -> str:
            return _T_US_SQLITE.format(seconds=seconds.format(t=column), t=column)
    else:
        def t_us(column: str) -> str:
            return _T_US_POSTGRESQL.format(t=column)

    filters = ""
    if ids is not None:
        filters += f" AND e.account_id IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"
    if licence_id is not None:
        filters += f" AND e.licence_id = {int(licence_id)}"
    zone_join = "" if one_zone else " JOIN account a ON a.id = e.account_id"
    start = per_zone(first)

    def before_start(since: str, until: str) -> str:  # the interval [since, until) is open at the start
        return f"{since} < {start} AND ({until} IS NULL OR {until} >= {start})"

    def live(since: str, until: str) -> str:  # … overlaps its account's range
        return "" if one_zone else f" AND {since} < {per_zone(last)} AND ({until} IS NULL OR {until} >= {start})"

    pairs_sql = _PAIRS.format(
        held_start=before_start("e.assigned_at", "e.released_at"),
        owned_start=before_start("e.bought_at", "e.cancelled_at"),
        live_held=live("e.assigned_at", "e.released_at"), live_owned=live("e.bought_at", "e.cancelled_at"),
        live_at=inside("e.at"), zone_join=zone_join, filters=filters)

    def key(column: str) -> str:
        return per_zone(lambda z: z.key(column))

    events_sql = _EVENTS.format(
        key_assigned=key("e.assigned_at"), key_released=key("e.released_at"), key_bought=key("e.bought_at"),
        key_cancelled=key("e.cancelled_at"), key_at=key("e.at"),
        t_assigned=t_us("e.assigned_at"), t_released=t_us("e.released_at"),
        in_assigned=inside("e.assigned_at"), in_released=inside("e.released_at"), in_bought=inside("e.bought_at"),
        in_cancelled=inside("e.cancelled_at"), in_at=inside("e.at"), zone_join=zone_join, filters=filters)
    gfirst, glast = min(z.first for z in zones.values()), max(z.last for z in zones.values())
    if glast <= gfirst:  # the range is wholly after now
        return iter(())
    bounds = (bindparam("gfirst", gfirst, type_=DateTime), bindparam("glast", glast, type_=DateTime))

    slugs: dict[int, str] = {int(i): s for i, s in conn.execute(
        select(col(Account.id), col(Account.slug)).where(in_accounts(Account.id, ids))).all()}
    codes: dict[int, str] = {int(i): c for i, c in conn.execute(select(col(Licence.id), col(Licence.code))).all()}
    pairs = sorted(conn.execute(text(pairs_sql).bindparams(*bounds)).all(),
                   key=lambda p: (slugs[p[0]], codes[p[1]]))
    if not pairs:
        return iter(())
    # Fetched BATCH rows at a time (PostgreSQL: through a server-side cursor), as the rows are consumed.
    events = conn.execute(text(events_sql).bindparams(*bounds).execution_options(yield_per=BATCH))
    return _rows(buckets, zones, zone_of, slugs, codes, pairs, events)


def _rows(buckets, zones, zone_of, slugs, codes, pairs, events) -> Iterator[dict[str, object]]:
    """One row per pair in order for each bucket, once the bucket's events are read."""
    try:
        labels = [b.label.isoformat() for b in buckets]
        # Each pair: its names, its zone's bucket starts and lengths, and its levels (seats owned, held).
        names = [(slugs[a], codes[lic]) for a, lic, _, _ in pairs]
        lengths = [zones[zone_of[a]].lengths_us for a, _, _, _ in pairs]
        futures = [zones[zone_of[a]].future for a, _, _, _ in pairs]
        one_future = next(iter(zones.values())).future if len(zones) == 1 else None
        one_zone = next(iter(zones.values())).lengths_us if len(zones) == 1 else None
        owned = [int(o) for _, _, o, _ in pairs]
        held = [int(h) for _, _, _, h in pairs]
        n_pairs = len(names)
        days: dict[int, Decimal] = {}
        changes = _changes(len(labels), {(a, lic): p for p, (a, lic, _, _) in enumerate(pairs)},
                           [zones[zone_of[a]].starts_us for a, _, _, _ in pairs], lengths, owned, held, events)
        del pairs
        for i, changed in enumerate(changes):
            label = labels[i]
            span = repeat(one_zone[i], n_pairs) if one_zone is not None else [length[i] for length in lengths]
            ahead = (repeat(one_future[i], n_pairs) if one_future is not None
                     else [future[i] for future in futures])
            pairs_now = zip(names, owned, held, changed, span, ahead, strict=True)
            for (account, code), owned_end, in_use_end, change, length, future in pairs_now:
                if future:  # starts after now: nothing in it is counted
                    yield {"bucket": label, "account": account, "licence": code, "owned_end": 0,
                           "in_use_peak": 0, "in_use_end": 0, "seat_days": _ZERO, "bought": 0, "released": 0,
                           "cancelled": 0, "denied": 0}
                    continue
                # no event in this bucket: the levels carried through it
                peak, us, n_bought, n_released, n_cancelled, n_denied = change or (
                    in_use_end, in_use_end * length, 0, 0, 0, 0)
                seat_days = days.get(us)
                if seat_days is None:
                    if len(days) >= _DAYS_CACHE:
                        days.clear()
                    seat_days = days[us] = (Decimal(us) / _DAY_US).quantize(_CENT, ROUND_HALF_UP)
                yield {"bucket": label, "account": account, "licence": code, "owned_end": owned_end,
                       "in_use_peak": peak, "in_use_end": in_use_end, "seat_days": seat_days,
                       "bought": n_bought, "released": n_released, "cancelled": n_cancelled,
                       "denied": n_denied}
    finally:
        events.close()


def _batches(events) -> Iterator[list[tuple[Any, ...]]]:
    """The event rows, BATCH at a time, as plain tuples. A batch is fetched with the cycle collector off:
    otherwise the collections its thousands of new row objects set off move them to the oldest
    generation, and full collections follow, again and again; plain tuples of numbers it drops at once."""
    while True:
        enabled = gc.isenabled()
        gc.disable()
        try:
            batch = [tuple(row) for row in events.fetchmany(BATCH)]
        finally:
            if enabled:
                gc.enable()
        if not batch:
            return
        yield batch


_Change = tuple[int, int, int, int, int, int]  # peak, seat-µs, bought, released, cancelled, denied


def _changes(n: int, position: dict[tuple[int, int], int], starts: list[list[int]], lengths: list[list[int]],
             owned: list[int], held: list[int], events) -> Iterator[list[_Change | None]]:
    """Read the events bucket after bucket. Once a bucket's events are read, each pair's levels at its end
    are in `owned` and `held`, and what is yielded says, per pair, what its events changed (None: none)."""
    n_pairs = len(held)
    filling = 0  # the bucket whose events are being read
    changed: list[_Change | None] = [None] * n_pairs
    group = None  # the bucket, account and licence whose events are being summed
    p = k = level = at_start = since_start_us = n_released = n_bought = n_cancelled = n_denied = 0
    top: int | None = None
    end: list[tuple[Any, ...]] = [(n, None, None, 1, 0, 0, 0, 0, 0)]  # after the last event: closes the last group and buckets
    for i, account_id, licence_id, kind, t, d, bought, cancelled, denied in chain.from_iterable(
            chain(_batches(events), [end])):
        if (i, account_id, licence_id) != group:
            if p >= 0 and group is not None:  # the previous pair's events in its bucket, summed
                start = held[p] + at_start  # the holders at the bucket's first instant
                held[p] = level
                owned[p] += n_bought - n_cancelled
                # Held to the bucket's end: the holders carried in for all of it, each change from its instant.
                changed[p] = (start if top is None or top < start else top,
                              level * lengths[p][filling] - since_start_us, n_bought, n_released, n_cancelled,
                              n_denied)
            while filling < i:
                yield changed
                changed = [None] * n_pairs
                filling += 1
            group = (i, account_id, licence_id)
            p = position.get((account_id, licence_id), -1)  # -1: nothing in the range after all (or the end)
            k = starts[p][i] if p >= 0 else 0
            level = held[p] if p >= 0 else 0
            at_start = since_start_us = n_released = n_bought = n_cancelled = n_denied = 0
            top = None
        if kind:  # seats bought and cancelled, seats denied
            n_bought, n_cancelled, n_denied = bought, cancelled, denied
        else:  # one assignment (+1) or release (-1)
            level += d
            if t == k:
                at_start += d
            # After a release the level is at most the level before its instant (a real level unless that
            # is the bucket's start); after an assignment it is a candidate.
            if (d > 0 or t > k) and (top is None or level > top):
                top = level
            since_start_us += d * (t - k)
            if d < 0:
                n_released += 1

"""`report usage`, computed in SQL: one query over the seat, assignment and denial history.

Every seat is +1 owned at `bought_at` and -1 at `cancelled_at`, every assignment +1 held at
`assigned_at` and -1 at `released_at`, every denial its quantity. Each event is placed in the bucket
of its account's time zone that holds it by a binary search written as nested CASEs over the buckets'
bounds (a few comparisons per event); a bucket is named by its start in microseconds, and the events
before the range go to one more key, where they open the levels. A running sum over each account and
licence's assignment events, in time order, gives the holders after every event (for the peak). The
events are then summed per account, licence and bucket. Seat-time is exact integer microseconds.

The query returns one row per account, licence and bucket that has events: its cost follows the
events, not events x buckets. Python only carries each pair's levels (running sums of those rows)
across the buckets without events and turns the result into dicts. Instants are compared as the
database compares them (the stored text on SQLite)."""

from __future__ import annotations

import gc
import itertools
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import DateTime, bindparam, select, text
from sqlmodel import Session, col

from seatctl.accounts import account_ids, in_accounts
from seatctl.buckets import Bucket
from seatctl.catalogue import find as find_licence
from seatctl.models import Account, Licence

COLUMNS = ["bucket", "account", "licence", "owned_end", "in_use_peak", "in_use_end", "seat_days", "bought",
           "released", "cancelled", "denied"]

_DAY_US = Decimal(86_400_000_000)
_CENT = Decimal("0.01")
_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1)
# An event's bucket is named by its start in µs since 1970; these name "before the range" and "after it".
_BEFORE = -(2**62)
_AFTER = _BEFORE - 1

# One row per account, licence and bucket with events, ordered so: the net change of holders, the
# number of assignments and releases, the seats bought and cancelled, the seats denied, the most
# holders after an event of the bucket (see below), the net change at the bucket's very start, and
# the sum of each change times the time from the bucket's start to it (µs).
#
# The running sum of holders is taken row by row, releases first at one instant: after a release the
# level is at most the level just before that instant (a real level, unless the instant is the
# bucket's start, so those rows are skipped); after an assignment it is at most the level after the
# instant, which the last assignment there reaches. The holders at the bucket's start (the level
# carried in, plus the changes exactly at the start) are added by the caller.
_QUERY = """
WITH
held(account_id, licence_id, t, d, k) AS (
  SELECT e.account_id, e.licence_id, e.assigned_at, 1, {key_assigned} FROM assignment e{zone_join}
   WHERE e.assigned_at < :glast AND (e.released_at IS NULL OR e.released_at >= :gfirst){filters}
  UNION ALL
  SELECT e.account_id, e.licence_id, e.released_at, -1, {key_released} FROM assignment e{zone_join}
   WHERE e.assigned_at < :glast AND e.released_at >= :gfirst{filters}
),
running AS (
  SELECT account_id, licence_id, k, d, CASE WHEN k > {before} THEN {t_us} END AS t_us,
         SUM(d) OVER (PARTITION BY account_id, licence_id ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS level
    FROM held
   WHERE k >= {before}
),
other(account_id, licence_id, k, n_bought, n_cancelled, n_denied) AS (
  SELECT e.account_id, e.licence_id, {key_bought}, 1, 0, 0 FROM seat e{zone_join}
   WHERE e.bought_at < :glast AND (e.cancelled_at IS NULL OR e.cancelled_at >= :gfirst){filters}
  UNION ALL
  SELECT e.account_id, e.licence_id, {key_cancelled}, 0, 1, 0 FROM seat e{zone_join}
   WHERE e.bought_at < :glast AND e.cancelled_at >= :gfirst{filters}
  UNION ALL
  SELECT e.account_id, e.licence_id, {key_at}, 0, 0, e.quantity FROM event e{zone_join}
   WHERE e.action = 'denial' AND e.account_id IS NOT NULL AND e.licence_id IS NOT NULL
     AND e.quantity IS NOT NULL AND e.at >= :gfirst AND e.at < :glast{filters}
),
events AS (
  SELECT account_id, licence_id, k, d AS d_held, CASE WHEN t_us IS NULL THEN 0 ELSE 1 END AS n_held,
         0 AS n_bought, 0 AS n_cancelled, 0 AS n_denied,
         CASE WHEN t_us IS NOT NULL AND (d > 0 OR t_us > k) THEN level END AS top,
         CASE WHEN t_us = k THEN d ELSE 0 END AS at_start,
         CASE WHEN t_us IS NULL THEN 0 ELSE d * (t_us - k) END AS since_start_us
    FROM running
  UNION ALL
  SELECT account_id, licence_id, k, 0, 0, n_bought, n_cancelled, n_denied, NULL, 0, 0
    FROM other
   WHERE k >= {before}
)
SELECT account_id, licence_id, k, CAST(SUM(d_held) AS BIGINT), CAST(SUM(n_held) AS BIGINT),
       CAST(SUM(n_bought) AS BIGINT), CAST(SUM(n_cancelled) AS BIGINT), CAST(SUM(n_denied) AS BIGINT),
       CAST(MAX(top) AS BIGINT), CAST(SUM(at_start) AS BIGINT), CAST(SUM(since_start_us) AS BIGINT)
  FROM events
 GROUP BY account_id, licence_id, k
 ORDER BY account_id, licence_id, k
"""

# An instant in exact integer microseconds since 1970. SQLite: from the stored text, the seconds without
# their fraction (julianday() and strftime() round to the millisecond) and then the microseconds.
_T_US_SQLITE = "({seconds} * 1000000 + CAST(substr(t, 21, 6) AS INTEGER))"
_SECONDS_SQLITE = "CAST(strftime('%s', substr(t, 1, 19)) AS INTEGER)"
_SECONDS_SQLITE_338 = "unixepoch(substr(t, 1, 19))"  # the same, faster (SQLite 3.38+)
_T_US_POSTGRESQL = "CAST(ROUND(EXTRACT(EPOCH FROM t) * 1000000) AS BIGINT)"


def _plain(instant: datetime) -> datetime:
    return datetime(instant.year, instant.month, instant.day, instant.hour, instant.minute, instant.second,
                    instant.microsecond)


def _us(instant: datetime) -> int:
    return (instant - _EPOCH) // _ONE_US


class _Zone:
    """The buckets in one time zone: their bounds in µs, and the SQL that names an event's bucket."""

    def __init__(self, buckets: list[Bucket], tz: str, literal) -> None:  # type: ignore[no-untyped-def]
        bounds = [(_plain(s), _plain(e)) for s, e in (b.instants(tz) for b in buckets)]
        self.first, self.last = bounds[0][0], bounds[-1][1]
        self.starts_us = [_us(s) for s, _ in bounds]
        self.lengths_us = [_us(e) - _us(s) for s, e in bounds]
        # The bucket holding t is the last whose start is <= t (an empty bucket never holds one).
        edges = [s for s, _ in bounds] + [self.last]
        keys = [_BEFORE] + self.starts_us + [_AFTER]  # keys[bisect_right(edges, t)]
        self.index = {start: i for i, start in enumerate(self.starts_us) if self.lengths_us[i] > 0}
        self._edges, self._keys = edges, keys
        self._literal = literal

    def key(self, column: str) -> str:
        """SQL naming the bucket of the instant in `column`: bisect_right over the bounds, as nested CASEs."""
        edges, keys, literal = self._edges, self._keys, self._literal

        def search(lo: int, hi: int) -> str:  # bisect_right(edges, t) is in [lo, hi]
            if lo == hi:
                return str(keys[lo])
            mid = (lo + hi) // 2
            return (f"CASE WHEN {column} < {literal(edges[mid])} THEN {search(lo, mid)} "
                    f"ELSE {search(mid + 1, hi)} END")

        return search(0, len(edges))


def usage_rows(session: Session, *, buckets: list[Bucket], slug: str | None = None, tree: bool = False,
               licence: str | None = None) -> list[dict[str, object]]:
    # Over a million small, acyclic objects: the cycle collector would only rescan them, again and again.
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
    zone_of: dict[int | None, str] = dict(
        conn.execute(select(col(Account.id), col(Account.timezone)).where(in_accounts(Account.id, ids))).all())
    if not zone_of or not buckets:
        return []
    n = len(buckets)
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

    zones = {tz: _Zone(buckets, tz, literal) for tz in sorted(set(zone_of.values()))}

    def key(column: str) -> str:
        if len(zones) == 1:
            return next(iter(zones.values())).key(column)
        return ("CASE a.timezone " + " ".join(f"WHEN {quoted(tz)} THEN {z.key(column)}" for tz, z in zones.items())
                + f" ELSE {_AFTER} END")  # the account's zone picks the search

    zone_join = "" if len(zones) == 1 else " JOIN account a ON a.id = e.account_id"
    if not sqlite:
        t_us = _T_US_POSTGRESQL
    else:
        version = getattr(dialect.dbapi, "sqlite_version_info", (0,))
        t_us = _T_US_SQLITE.format(seconds=_SECONDS_SQLITE_338 if version >= (3, 38) else _SECONDS_SQLITE)
    filters = ""
    if ids is not None:
        filters += f" AND e.account_id IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"
    if licence_id is not None:
        filters += f" AND e.licence_id = {int(licence_id)}"
    sql = _QUERY.format(key_assigned=key("e.assigned_at"), key_released=key("e.released_at"),
                        key_bought=key("e.bought_at"), key_cancelled=key("e.cancelled_at"), key_at=key("e.at"),
                        zone_join=zone_join, filters=filters, t_us=t_us, before=_BEFORE)
    statement = text(sql).bindparams(
        bindparam("gfirst", min(z.first for z in zones.values()), type_=DateTime),
        bindparam("glast", max(z.last for z in zones.values()), type_=DateTime))

    # Each pair's buckets: its rows with events, the levels carried across the buckets between them.
    pairs = []
    result = itertools.chain.from_iterable(conn.execute(statement).partitions(10_000))
    for (account_id, licence_id_), group in itertools.groupby(result, key=lambda r: (r[0], r[1])):
        z = zones[zone_of[account_id]]
        index, lengths = z.index, z.lengths_us
        owned, peak, in_use, seat_us = [0] * n, [0] * n, [0] * n, [0] * n
        bought, released, cancelled, denied = [0] * n, [0] * n, [0] * n, [0] * n
        own = held = 0
        active = False
        at = 0  # the first bucket not yet filled
        for _, _, k, d_held, n_held, n_bought, n_cancelled, n_denied, top, at_start, since_start_us in group:
            if k == _BEFORE:  # the levels at the range's start
                own, held = n_bought - n_cancelled, d_held
                active = own != 0 or held != 0
                continue
            i = index[k]
            for j in range(at, i):
                owned[j], peak[j], in_use[j], seat_us[j] = own, held, held, held * lengths[j]
            start = held + at_start  # the holders at the bucket's first instant
            own += n_bought - n_cancelled
            held += d_held
            owned[i], in_use[i] = own, held
            peak[i] = start if top is None or top < start else top
            # Held to the bucket's end: the holders carried in for all of it, each change from its instant.
            seat_us[i] = held * lengths[i] - since_start_us
            released[i] = (n_held - d_held) // 2  # (assignments + releases - (assignments - releases)) / 2
            bought[i], cancelled[i], denied[i] = n_bought, n_cancelled, n_denied
            active = active or n_held > 0 or n_bought > 0 or n_cancelled > 0 or n_denied != 0
            at = i + 1
        if not active:
            continue
        for j in range(at, n):
            owned[j], peak[j], in_use[j], seat_us[j] = own, held, held, held * lengths[j]
        pairs.append((account_id, licence_id_, owned, peak, in_use, seat_us, bought, released, cancelled, denied))

    slugs: dict[int | None, str] = dict(conn.execute(select(col(Account.id), col(Account.slug))).all())
    codes: dict[int | None, str] = dict(conn.execute(select(col(Licence.id), col(Licence.code))).all())
    pairs.sort(key=lambda p: (slugs[p[0]], codes[p[1]]))
    labels = [b.label.isoformat() for b in buckets]
    days: dict[int, Decimal] = {}
    per_bucket: list[list[dict[str, object]]] = [[] for _ in buckets]
    appenders = [rows_.append for rows_ in per_bucket]
    for account_id, licence_id_, *columns in pairs:  # one pair's buckets at a time
        account, code = slugs[account_id], codes[licence_id_]
        for label, add, owned_end, in_use_peak, in_use_end, us, b, r, c, d in zip(
                labels, appenders, *columns, strict=True):
            seat_days = days.get(us)
            if seat_days is None:
                seat_days = days[us] = (Decimal(us) / _DAY_US).quantize(_CENT, ROUND_HALF_UP)
            add({"bucket": label, "account": account, "licence": code, "owned_end": owned_end,
                 "in_use_peak": in_use_peak, "in_use_end": in_use_end, "seat_days": seat_days, "bought": b,
                 "released": r, "cancelled": c, "denied": d})
    rows: list[dict[str, object]] = []
    for i in sorted(range(n), key=labels.__getitem__):
        rows += per_bucket[i]
    return rows

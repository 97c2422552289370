"""Cycle close: apply pending changes, trim free seats above the minimum, bill the period.

One transaction per account period, written with a small fixed number of set-based Core statements
(built once): the account's minimums, metered use, seat and assignment counts and free seats are read
in one UNION ALL; the trim, the invoice's lines, the closed periods and the events are one statement
each. The statements run on the DB-API cursor below SQLAlchemy's execution layer (see `_Raw`: compiled
by SQLAlchemy once per dialect, still seen by the engine's statement hooks). Prices, licences, plans
and meters are loaded once per run (the price book again only when a price or a licence was added
meanwhile)."""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Insert,
    Integer,
    bindparam,
    case,
    cast,
    exc,
    func,
    insert,
    literal_column,
    null,
    or_,
    union_all,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeEngine
from sqlmodel import Session, col, select

from seatctl.ops.catalogue import PriceBook, meter_schedule, require_schedule
from seatctl.ops.invoices import Draft, Issued, LineDraft, complete, fee_line, meter_line, seat_line, take_number
from seatctl.ops.lookup import current_period, find_account, invoicing_account
from seatctl.rules.books import Books
from seatctl.rules.money import format_minor, to_minor
from seatctl.rules.periods import Period, local_date, local_midnight, period_containing, period_from
from seatctl.rules.pricing import Schedule
from seatctl.rules.roles import Actor
from seatctl.rules.terms import NO_PLAN, Terms
from seatctl.store import audit
from seatctl.store import engine as db
from seatctl.store.tables import (
    Account,
    Assignment,
    ClosedPeriod,
    Event,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Licence,
    LicencePrice,
    Meter,
    Minimum,
    Plan,
    PlanAllowance,
    PlanInclude,
    Seat,
    UsageRecord,
)


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


def is_due(account: Any, now: datetime) -> bool:
    return account.closed_at is None and account.period_end_at <= now


# The account columns a close may change (written back in one UPDATE, mirrored on ORM objects).
_MOVED = ("cycle", "anchor", "pending_cycle", "pending_anchor", "plan_id", "pending_plan_id", "closed_at",
          "period_start", "period_end", "period_end_at")


@functools.cache
def _q() -> SimpleNamespace:
    """Every statement of the close, built once (bind parameters, no literals)."""
    a = Account.__table__  # type: ignore[attr-defined]
    m = Minimum.__table__  # type: ignore[attr-defined]
    s = Seat.__table__  # type: ignore[attr-defined]
    h = Assignment.__table__  # type: ignore[attr-defined]
    u = UsageRecord.__table__  # type: ignore[attr-defined]
    n = InvoiceCounter.__table__  # type: ignore[attr-defined]
    acct: Any = bindparam("acct")
    end: Any = bindparam("end", type_=DateTime)
    since: Any = bindparam("since", type_=DateTime)
    one, zero = literal_column("1", Integer), literal_column("0", Integer)
    child = a.alias("child")
    # What a transaction of the cron run reads first: the account (locked), whether it bills children,
    # and the catalogue's version (so the run's price book is known to be current).
    catalogue_version = (
        core_select(func.max(LicencePrice.id)).scalar_subquery().label("v_prices"),
        core_select(func.count()).select_from(LicencePrice).scalar_subquery().label("v_price_count"),
        core_select(func.max(Licence.id)).scalar_subquery().label("v_licences"),
    )
    minimums = core_select(literal_column("1", Integer).label("kind"), m.c.licence_id.label("a"),
                           m.c.quantity.label("b"), cast(m.c.pending_quantity, Integer).label("c"),
                           cast(null(), DateTime).label("t"), cast(null(), DateTime).label("t2")
                           ).where(m.c.account_id == acct)
    used = core_select(literal_column("2", Integer), u.c.meter_id, func.sum(u.c.quantity), null(), null(), null()
                       ).where(u.c.account_id == acct, u.c.at >= since, u.c.at < end).group_by(u.c.meter_id)
    owned = core_select(literal_column("3", Integer), s.c.licence_id, func.sum(case((s.c.bought_at < end, one), else_=zero)),
                        func.sum(case((s.c.cancelled_at.is_(None), one), else_=zero)), null(), null()
                        ).where(s.c.account_id == acct, or_(s.c.cancelled_at.is_(None), s.c.cancelled_at >= end)
                                ).group_by(s.c.licence_id)
    in_use = core_select(literal_column("4", Integer), h.c.licence_id, func.sum(case((h.c.assigned_at < end, one), else_=zero)),
                         null(), null(), null()
                         ).where(h.c.account_id == acct, or_(h.c.released_at.is_(None), h.c.released_at >= end)
                                 ).group_by(h.c.licence_id)
    free = core_select(literal_column("5", Integer), s.c.id, s.c.licence_id, null(), s.c.bought_at, null()).where(
        s.c.account_id == acct, s.c.cancelled_at.is_(None), s.c.bought_at < end,
        s.c.id.not_in(core_select(h.c.seat_id).where(h.c.account_id == acct, h.c.seat_id.is_not(None),
                                                      or_(h.c.released_at.is_(None), h.c.released_at >= end))))
    held = core_select(literal_column("6", Integer), h.c.licence_id, null(), null(), h.c.assigned_at, h.c.released_at
                       ).where(h.c.account_id == acct, h.c.assigned_at < end,
                               or_(h.c.released_at.is_(None), h.c.released_at > since))
    has_children = core_select(child.c.id).where(
        child.c.parent_id == a.c.id, child.c.billed_via_parent == True,  # noqa: E712
        child.c.closed_at.is_(None)).exists().label("has_children")
    return SimpleNamespace(
        account=core_select(a).where(a.c.id == acct),
        lock=core_select(a, has_children, *catalogue_version).where(a.c.id == acct).with_for_update(of=a),
        children=core_select(a).where(
            a.c.parent_id == bindparam("parent"), a.c.billed_via_parent == True,  # noqa: E712
            a.c.closed_at.is_(None)).order_by(a.c.slug),
        # In one read, an account's state at the end of its period, by kind of row: its minimums (1:
        # licence, quantity, pending), its metered use in the period (2: meter, units), per licence the
        # seats not cancelled by the end (3: licence, how many were bought before it, how many are not
        # cancelled at all), then for a pool (allocation mode) per licence the assignments still open
        # at the end (4: licence, how many began before it) and the free seats (5: id, licence, bought:
        # owned at the end, not cancelled, held by no assignment still open then), or for peak mode the
        # assignments held during the period (6: licence, assigned, released). The trim, the renewal
        # and the usage lines all come from these.
        state=union_all(minimums, used, owned, in_use, free),
        state_peak=union_all(minimums, used, owned, held),
        apply_minimums=update(m).where(m.c.account_id == acct, m.c.pending_quantity.is_not(None))
        .values(quantity=m.c.pending_quantity, pending_quantity=null()),
        add_seats=insert(s),
        release_all=update(h).where(h.c.account_id == acct, h.c.released_at.is_(None))
        .values(released_at=bindparam("at")),
        cancel_all=update(s).where(s.c.account_id == acct, s.c.cancelled_at.is_(None))
        .values(cancelled_at=bindparam("at")),
        move=update(a).where(a.c.id == acct).values({k: bindparam("v_" + k) for k in _MOVED}),
        closed=insert(ClosedPeriod.__table__),  # type: ignore[attr-defined]
        # invoices.write_invoice's statements (see _write_invoice)
        bump=update(n).where(n.c.series == bindparam("s"), n.c.year == bindparam("y"))
        .values(last=n.c.last + one).returning(n.c.last),
        invoice=insert(Invoice.__table__).returning(Invoice.__table__.c.id),  # type: ignore[attr-defined]
        invoice_lines=insert(InvoiceLine.__table__),  # type: ignore[attr-defined]
        events=insert(Event.__table__),  # type: ignore[attr-defined]
        catalogue_version=core_select(*catalogue_version),
        licences=core_select(Licence.__table__),  # type: ignore[attr-defined]
        plan=core_select(Plan.__table__).where(Plan.id == bindparam("id")),  # type: ignore[attr-defined]
        includes=core_select(PlanInclude.__table__).where(PlanInclude.plan_id == bindparam("id")),  # type: ignore[attr-defined]
        allowances=core_select(PlanAllowance.__table__).where(PlanAllowance.plan_id == bindparam("id")),  # type: ignore[attr-defined]
        meter=core_select(Meter.__table__).where(Meter.id == bindparam("id")),  # type: ignore[attr-defined]
    )


_CANCEL_AT_ONCE = 100  # seats a statement of the trim cancels at most (its parameters stay few)


@functools.lru_cache(maxsize=_CANCEL_AT_ONCE)
def _cancel(seats: int) -> Any:
    """Cancel this many seats (bind parameters seat0, seat1 …) in one statement."""
    s = Seat.__table__  # type: ignore[attr-defined]
    return update(s).where(s.c.id.in_([bindparam(f"seat{i}") for i in range(seats)])).values(
        cancelled_at=bindparam("at"))


class _Prepared(NamedTuple):
    sql: str
    names: tuple[str, ...]  # the bind parameters, in the driver's order when positional
    take: Callable[[dict[str, Any]], tuple[Any, ...]]  # their values, in that order, from the caller's dict
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # the ones the dialect converts: (position, converter)
    columns: tuple[str, ...]  # a query's column names
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # a query's columns the dialect converts


@functools.lru_cache(maxsize=256)
def _prepare(dialect: Dialect, stmt: Any, keys: tuple[str, ...] = ()) -> _Prepared:
    """A statement built once (`_q()`, `_cancel`) compiled for a dialect (an insert for the columns
    `keys`), with the dialect's own converters for its parameters and columns (SQLite's text dates and
    times, booleans). Its parameters are all named ones (bindparam) the caller gives: no literal binds."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if isinstance(stmt, Insert) else None)
    names = compiled.positiontup if dialect.positional else list(compiled.binds)
    assert names is not None and all(compiled.binds[n].required for n in names), f"{stmt}: a literal bind"
    take: Any = operator.itemgetter(*names) if len(names) > 1 else lambda values: (values[names[0]],)
    convert = tuple((i, f) for i, n in enumerate(names)
                    if (f := _bind_processor(compiled.binds[n].type, dialect)) is not None)
    selected = getattr(stmt, "selected_columns", None)
    columns = tuple(selected.keys()) if selected is not None else ()
    results = tuple((i, f) for i, c in enumerate(selected or ())
                    if (f := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)
    return _Prepared(compiled.string, tuple(names), take, convert, columns, results)


def _bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The dialect's converter for a parameter of this type; for dates and times (SQLite's are text),
    remembering the last values it converted: a close passes the same few again and again."""
    convert = type_.dialect_impl(dialect).bind_processor(dialect)
    if convert is not None and isinstance(type_, Date | DateTime):
        return functools.lru_cache(maxsize=256)(convert)
    return convert


class _Raw:
    """The close's statements, executed on the DB-API cursor directly.

    Why: SQLAlchemy's execution layer costs ~40 µs a statement (execution context, parameter and
    result objects), more than the database takes to run most of these, and the cron close runs about
    ten statements per account period. What is kept: each statement is built with Core and compiled by
    SQLAlchemy for the dialect (once); parameters and columns go through the dialect's own converters,
    so values are stored and read exactly as SQLAlchemy would; DB-API errors become SQLAlchemy's
    exceptions; and every statement is announced to the engine's `before_cursor_execute` listeners
    (`db.before_raw_statement`), so the crash hook counts them like any other. The statements run on
    the connection's DB-API connection, inside the transaction the caller began on `conn`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.positional = conn.dialect.positional
        self.error = conn.dialect.loaded_dbapi.Error
        self.cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def _params(self, p: _Prepared, values: dict[str, Any]) -> Any:
        params: Any = p.take(values)
        if p.convert:
            params = list(params)
            for i, f in p.convert:
                params[i] = f(params[i])
        return params if self.positional else dict(zip(p.names, params, strict=True))

    def _run(self, sql: str, params: Any, many: bool) -> None:
        db.before_raw_statement(self.conn, self.cursor, sql, params, many)
        try:
            if many:
                self.cursor.executemany(sql, params)
            else:
                self.cursor.execute(sql, params)
        except self.error as err:
            raise exc.DBAPIError.instance(sql, params, err, self.error) from err

    def run(self, stmt: Any, values: dict[str, Any]) -> int:
        """Execute one statement; its row count."""
        p = _prepare(self.dialect, stmt)
        self._run(p.sql, self._params(p, values), False)
        return int(self.cursor.rowcount)

    def many(self, stmt: Any, rows: list[dict[str, Any]]) -> None:
        """Execute an insert (or an update) once per row, in one executemany; all rows have the same keys."""
        if not rows:
            return
        p = _prepare(self.dialect, stmt, tuple(rows[0]))
        self._run(p.sql, [self._params(p, r) for r in rows], True)

    def rows(self, stmt: Any, values: dict[str, Any]) -> list[Any]:
        """A query's rows, as tuples (the columns the dialect converts converted)."""
        p = _prepare(self.dialect, stmt)
        self._run(p.sql, self._params(p, values), False)
        rows: list[Any] = self.cursor.fetchall()  # type: ignore[assignment]
        if p.results:
            rows = [list(r) for r in rows]
            for r in rows:
                for i, f in p.results:
                    r[i] = f(r[i])
        return rows

    def first(self, stmt: Any, values: dict[str, Any], *, insert: bool = False) -> Any:
        """A statement's first row (a query's, or an UPDATE/INSERT … RETURNING's), or None."""
        p = _prepare(self.dialect, stmt, tuple(values) if insert else ())
        self._run(p.sql, self._params(p, values), False)
        row = self.cursor.fetchone()
        if row is not None and p.results:
            row = list(row)
            for i, f in p.results:
                row[i] = f(row[i])
        return row

    def accounts(self, stmt: Any, values: dict[str, Any]) -> list[SimpleNamespace]:
        """Account rows as plain, mutable objects."""
        columns = _prepare(self.dialect, stmt).columns
        return [SimpleNamespace(**dict(zip(columns, row, strict=True))) for row in self.rows(stmt, values)]

    def account(self, stmt: Any, values: dict[str, Any]) -> SimpleNamespace:
        """An account row (and what the query adds to it) as a plain, mutable object."""
        row = self.first(stmt, values)
        assert row is not None
        return SimpleNamespace(**dict(zip(_prepare(self.dialect, stmt).columns, row, strict=True)))


@functools.lru_cache(maxsize=4096)
def _midnight(day: date, tz: str) -> datetime:
    return local_midnight(day, tz)


@functools.lru_cache(maxsize=4096)
def _period_from(start: date, anchor: date, cycle: str) -> Period:
    return period_from(start, anchor, cycle)


@functools.lru_cache(maxsize=4096)
def _period_containing(day: date, anchor: date, cycle: str) -> Period:
    return period_containing(day, anchor, cycle)


class _Catalogue:
    """Prices, licences, plans and meters for one run. Plans, meters and licences are never changed
    once written (only added), so they are kept by id; the price book and the licence list are
    re-read when a price version or a licence was added since (checked in each transaction)."""

    def __init__(self, book: PriceBook | None = None) -> None:
        self._given_book = book
        self._version: tuple[object, ...] | None = None
        self.book: PriceBook | None = book
        self.licences: dict[int, Any] = {}
        self._schedules: dict[tuple[int, str, datetime], Schedule] = {}
        self._plans: dict[int, Terms] = {}
        self._meters: dict[int, Any] = {}

    def sync(self, conn: Connection, version: tuple[object, ...] | None = None) -> None:
        """Make sure the price book and licences are current (`version`: the catalogue version the
        caller already read in this transaction)."""
        if version is None:
            version = tuple(conn.execute(_q().catalogue_version).one())
        if version == self._version:
            return
        self._version = version
        if self._given_book is not None:
            self.book = self._given_book
        else:
            with Session(bind=conn) as session:  # joins the transaction under way, leaves it open
                self.book = PriceBook(session)
        self._given_book = None  # a book given by the caller serves until the catalogue changes
        self.licences = {r.id: r for r in conn.execute(_q().licences)}
        self._schedules = {}

    def schedule(self, licence: Any, cycle: str, at: datetime) -> Schedule:
        key = (licence.id, cycle, at)
        found = self._schedules.get(key)
        if found is None:
            assert self.book is not None
            found = self._schedules[key] = require_schedule(self.book, licence, cycle, at)
        return found

    def terms(self, conn: Connection, plan_id: int | None) -> Terms:
        if plan_id is None:
            return NO_PLAN
        found = self._plans.get(plan_id)
        if found is None:
            q = _q()
            plan = conn.execute(q.plan, {"id": plan_id}).one()
            includes = {r.licence_id: r.quantity for r in conn.execute(q.includes, {"id": plan_id})}
            allowances = {r.meter_id: r.quantity for r in conn.execute(q.allowances, {"id": plan_id})}
            found = self._plans[plan_id] = Terms(plan, includes, allowances)
        return found

    def meter(self, conn: Connection, meter_id: int) -> Any:
        found = self._meters.get(meter_id)
        if found is None:
            found = self._meters[meter_id] = conn.execute(_q().meter, {"id": meter_id}).one()
        return found


def _minimums(own: dict[int, int], plan: Terms) -> dict[int, int]:
    """The effective minimum per licence: the larger of the account's own and its plan's included seats."""
    return {k: max(own.get(k, 0), plan.included(k)) for k in set(own) | set(plan.includes)}


def _apply_pending(raw: _Raw, account: SimpleNamespace, boundary_end: Period,
                   minimum_rows: list[_Minimum]) -> dict[str, object]:
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
    lowered = [r for r in minimum_rows if r.pending_quantity is not None]
    if lowered:
        raw.run(_q().apply_minimums, {"acct": account.id})
        applied["minimums"] = {r.licence_id: r.pending_quantity for r in lowered}
    return applied


class _Free(NamedTuple):
    id: int
    licence_id: int
    bought_at: datetime


class _Held(NamedTuple):
    licence_id: int
    assigned_at: datetime
    released_at: datetime | None


class _Minimum(NamedTuple):
    licence_id: int
    quantity: int
    pending_quantity: int | None


def _trim(raw: _Raw, end_at: datetime, owned: dict[int, int], in_use: dict[int, int],
          free: dict[int, list[_Free]], minimums: dict[int, int]) -> list[_Free]:
    """Cancel free seats above max(in use at the end, minimum), most recently bought first; returns
    the seats cancelled. `owned`, `in_use`: per licence at the end; `free`: per licence, the seats
    owned at the end that no open assignment holds."""
    victims: list[_Free] = []
    for licence_id, count in owned.items():
        excess = count - max(in_use.get(licence_id, 0), minimums.get(licence_id, 0))
        if excess > 0 and licence_id in free:
            victims += sorted(free[licence_id], key=lambda s: (s.bought_at, s.id), reverse=True)[:excess]
    for first in range(0, len(victims), _CANCEL_AT_ONCE):
        chunk = victims[first:first + _CANCEL_AT_ONCE]
        raw.run(_cancel(len(chunk)), {"at": end_at, **{f"seat{i}": s.id for i, s in enumerate(chunk)}})
    return victims


def _peak_lines(held: list[_Held], account: SimpleNamespace, ended: Period, start_at: datetime, end_at: datetime,
                cycle: str, books: Books, cat: _Catalogue, plan: Terms, own: dict[int, int]) -> list[LineDraft]:
    """Peak mode: per licence, price(max(highest simultaneous holders, minimum)), unprorated. `held`:
    the assignments held at some time in [start_at, end_at)."""
    changes: dict[int, list[tuple[datetime, int]]] = {}
    for licence_id, assigned_at, released_at in held:
        changes.setdefault(licence_id, []).append((max(assigned_at, start_at), 1))
        if released_at is not None and released_at < end_at:
            changes[licence_id].append((released_at, -1))
    minimums = _minimums(own, plan)
    lines = []
    for licence_id in sorted(set(changes) | {k for k, v in minimums.items() if v}):
        peak = level = 0
        for _, delta in sorted(changes.get(licence_id, []), key=lambda c: (c[0], c[1])):
            level += delta
            peak = max(peak, level)
        quantity = max(peak, minimums.get(licence_id, 0))
        if quantity == 0:
            continue
        licence = cat.licences[licence_id]
        schedule = cat.schedule(licence, cycle, start_at)
        lines.append(_line_for(account.id, _seat_line(
            licence, quantity, schedule.price(max(0, quantity - plan.included(licence_id))),
            ended.start, ended.end, ended.days, books, "peak usage")))
    return lines


def _meter_lines(conn: Connection, account: SimpleNamespace, ended: Period, used: list[tuple[int, int]],
                 books: Books, cat: _Catalogue, plan: Terms) -> list[LineDraft]:
    """Per meter, price(max(0, used − allowance)) for the ended period; allowances do not carry over."""
    lines = []
    for meter_id, quantity in sorted(used):
        overage = max(0, int(quantity) - plan.allowances.get(meter_id, 0))
        if overage == 0:
            continue
        meter = cat.meter(conn, meter_id)
        schedule = meter_schedule(meter)
        amount = schedule.price(overage)
        flat = len(schedule.tiers) == 1 and not schedule.tiers[0].flat
        lines.append(meter_line(account_id=account.id, meter_id=meter_id, meter_code=meter.code,
                                meter_name=meter.name, quantity=overage, amount=amount,
                                unit=schedule.tiers[0].unit if flat else None, start=ended.start, end=ended.end,
                                books=books))
    return lines


@functools.lru_cache(maxsize=4096)
def _seat_line(licence: Any, quantity: int, whole_period: Decimal, start: date, end: date, period_days: int,
               books: Books, what: str) -> LineDraft:
    """`seat_line` for no account in particular: a close bills the same few lines (licence, quantity,
    period) to thousands of accounts, so each is worked out once. Never changed: see `_line_for`."""
    return seat_line(account_id=0, licence=licence, quantity=quantity, whole_period=whole_period, start=start,
                     end=end, period_days=period_days, books=books, what=what)


def _line_for(account_id: int, line: LineDraft) -> LineDraft:
    """An account's own copy of a line."""
    return LineDraft(**{**line.__dict__, "account_id": account_id})


def _renewal_lines(account: SimpleNamespace, new: Period, start_at: datetime, books: Books, cat: _Catalogue,
                   plan: Terms, kept: Counter[int]) -> list[LineDraft]:
    """Renewal lines in advance; a short period (after an anchor change) is prorated by days against
    the whole period of the new anchor that contains it."""
    whole_days = _period_containing(new.start, account.anchor, account.cycle).days
    lines = []
    fee = plan.fee(account.cycle)
    if plan.plan is not None and fee:
        lines.append(fee_line(account_id=account.id, plan_code=plan.plan.code, plan_name=plan.plan.name, fee=fee,
                              start=new.start, end=new.end, period_days=whole_days, books=books, what="renewal"))
    for licence_id in sorted(k for k, v in kept.items() if v > 0):
        quantity = kept[licence_id]
        licence = cat.licences[licence_id]
        beyond = max(0, quantity - plan.included(licence_id))
        schedule = cat.schedule(licence, account.cycle, start_at) if beyond else None
        lines.append(_line_for(account.id, _seat_line(
            licence, quantity, schedule.price(beyond) if schedule else Decimal(0), new.start, new.end, whole_days,
            books, "renewal" if not plan.included(licence_id) else
            f"renewal ({min(quantity, plan.included(licence_id))} included in the plan)")))
    return lines




def _close_member(raw: _Raw, account: SimpleNamespace, root: SimpleNamespace, *, ended: Period,
                  end_at: datetime, now: datetime, books: Books, cat: _Catalogue
                  ) -> tuple[int, list[LineDraft], list[LineDraft], dict[str, object], int | None]:
    """One account's part of a close: (seats cancelled, renewal lines, usage lines, changes applied,
    the plan in force on the ended period's last day)."""
    conn = raw.conn
    start_at = _midnight(ended.start, account.timezone)
    usage: list[LineDraft] = []
    before = cat.terms(conn, account.plan_id)  # the plan in force on the period's last day
    since = max(start_at, account.activated_at) if account.activated_at else start_at
    minimum_rows: list[_Minimum] = []
    used: list[tuple[int, int]] = []
    owned: dict[int, int] = {}
    kept: Counter[int] = Counter()
    in_use: dict[int, int] = {}
    free: dict[int, list[_Free]] = {}
    held: list[_Held] = []
    peak = account.mode == "peak"
    for kind, a, b, c, t, t2 in raw.rows(_q().state_peak if peak else _q().state,
                                         {"acct": account.id, "since": since, "end": end_at}):
        if kind == 5:
            free.setdefault(b, []).append(_Free(a, b, t))
        elif kind == 3:
            owned[a], kept[a] = b, c
        elif kind == 4:
            in_use[a] = b
        elif kind == 6:
            held.append(_Held(a, t, t2))
        elif kind == 1:
            minimum_rows.append(_Minimum(a, b, c))
        else:
            used.append((a, b))
    if account.status != "trial":
        if peak:
            own_before = {r.licence_id: r.quantity for r in minimum_rows}
            usage = _peak_lines(held, account, ended, since, end_at, account.cycle, books, cat, before, own_before)
        usage += _meter_lines(conn, account, ended, used, books, cat, before)
    if account is not root:  # a child billed via its parent follows the parent's cycle (already applied)
        account.cycle, account.anchor = root.cycle, root.anchor
        account.pending_cycle = account.pending_anchor = None
    applied = _apply_pending(raw, account, ended, minimum_rows)
    plan = cat.terms(conn, account.plan_id) if "plan" in applied else before
    renewal: list[LineDraft] = []
    if account.status == "closed":
        raw.run(_q().release_all, {"acct": account.id, "at": end_at})
        cancelled = raw.run(_q().cancel_all, {"acct": account.id, "at": end_at})
        account.closed_at = now
    else:
        cancelled = 0
        if account.mode == "allocation":
            own = {r.licence_id: r.quantity if r.pending_quantity is None else r.pending_quantity
                   for r in minimum_rows}
            victims = _trim(raw, end_at, owned, in_use, free, _minimums(own, plan))
            cancelled = len(victims)
            kept.subtract(s.licence_id for s in victims)
            added = []  # the plan's included seats not owned yet, at no charge
            for licence_id, included in plan.includes.items():
                missing = included - kept.get(licence_id, 0)
                if missing > 0:
                    added += [{"account_id": account.id, "licence_id": licence_id, "bought_at": end_at}] * missing
                    kept[licence_id] += missing
            raw.many(_q().add_seats, added)
        new = _period_from(ended.end, account.anchor, account.cycle)
        if account.status != "trial":
            renewal = _renewal_lines(account, new, end_at, books, cat, plan, kept)
            if account.mode == "peak":  # no seat pool: only the plan's fee is billed in advance
                renewal = [line for line in renewal if line.kind == "fee"]
        account.period_start, account.period_end = new.start, new.end
        account.period_end_at = _midnight(new.end, account.timezone)
    raw.run(_q().move, {"acct": account.id, **{"v_" + k: getattr(account, k) for k in _MOVED}})
    return cancelled, renewal, usage, applied, before.plan.id if before.plan else None


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


def _close(raw: _Raw, root: SimpleNamespace, *, now: datetime, books: Books, cat: _Catalogue,
           actor: Actor, automatic: bool) -> tuple[CloseRow, list[SimpleNamespace]]:
    """Close the invoicing account's ended period, and its billed-via children's, in the caller's
    transaction: at most one invoice (renewal lines in advance, usage lines in arrears). `root` and
    the members returned carry the accounts as written."""
    assert is_due(root, now)
    ended = Period(root.period_start, root.period_end)
    end_at = root.period_end_at
    members = [root]
    frontier = [root.id] if getattr(root, "has_children", True) else []
    while frontier:  # level by level, each level by slug
        children = [c for parent in frontier for c in raw.accounts(_q().children, {"parent": parent})]
        if len(frontier) > 1:
            children.sort(key=lambda c: c.slug)
        members.extend(children)
        frontier = [c.id for c in children]
    cancelled_total = 0
    renewal: list[LineDraft] = []
    usage: list[LineDraft] = []
    applied_by: dict[str, dict[str, object]] = {}
    plans: dict[int, int | None] = {}
    for member in members:
        cancelled, member_renewal, member_usage, applied, plans[member.id] = _close_member(
            raw, member, root, ended=ended, end_at=end_at, now=now, books=books, cat=cat)
        cancelled_total += cancelled
        renewal += member_renewal
        usage += member_usage
        if applied:
            applied_by[member.slug] = applied
    invoice = None
    if not any(line.amount_minor for line in renewal):
        renewal = []  # only included seats at no charge: nothing to renew on paper
    if renewal or usage:
        draft = Draft(account_id=root.id, kind="renewal" if renewal else "usage",
                      period_start=root.period_start if renewal else ended.start,
                      period_end=root.period_end if renewal else ended.end, lines=renewal + usage)
        discount = Decimal(root.discount) if root.discount else None
        invoice = _write_invoice(raw, draft, books=books, at=now, actor=actor, discount=discount)
    total = invoice.total_minor if invoice else 0
    raw.many(_q().closed, [
        {"account_id": member.id, "period_start": ended.start, "period_end": ended.end, "closed_at": now,
         "seats_cancelled": cancelled_total if member is root else 0, "invoice_id": invoice.id if invoice else None,
         "total_minor": total if member is root else 0, "plan_id": plans[member.id]}
        for member in members])
    row = CloseRow(root.slug, ended.start.isoformat(), ended.end.isoformat(), cancelled_total,
                   invoice.number if invoice else None, total)
    events = [invoice.event] if invoice else []
    for member in members:  # one event per account period closed
        events.append(audit.row(
            at=now, operator=actor.name, action="cycle.close", account_id=member.id,
            automatic=automatic, period_start=row.period_start, period_end=row.period_end,
            seats_cancelled=cancelled_total if member is root else None, invoice=row.invoice,
            total=format_minor(total, books.digits) if member is root else None,
            billed_via=root.slug if member is not root else None,
            accounts=[m.slug for m in members] if member is root and len(members) > 1 else None,
            applied=applied_by.get(member.slug)))
    raw.many(_q().events, events)
    return row, members


@functools.lru_cache(maxsize=64)
def _issue_year(at: datetime, tz: str) -> int:
    return local_date(at, tz).year


def _write_invoice(raw: _Raw, draft: Draft, *, books: Books, at: datetime, actor: Actor,
                   discount: Decimal | None) -> Issued | None:
    """`invoices.write_invoice` on the raw cursor: the number, the invoice, its lines in one
    executemany; the event is returned, not written. None when the lines bill nothing."""
    if draft.billable_minor == 0:
        return None
    lines, subtotal, tax = complete(draft, books=books, discount=discount)
    year = _issue_year(at, books.timezone)
    series = books.invoice_prefix
    bumped = raw.first(_q().bump, {"s": series, "y": year})  # the counter row stays locked until commit
    if bumped is None:  # a series' first number of the year: take_number creates the counter row
        seq, number = take_number(raw.conn, series, year)
    else:
        seq = int(bumped[0])
        number = f"{series}{year}-{seq:06d}"  # as take_number numbers
    inserted = raw.first(_q().invoice, {
        "number": number, "series": series, "year": year, "seq": seq, "account_id": draft.account_id,
        "kind": draft.kind, "issued_at": at, "period_start": draft.period_start, "period_end": draft.period_end,
        "currency": books.currency, "subtotal_minor": subtotal, "tax_minor": tax, "total_minor": subtotal + tax,
        "credit_of": None, "reason": None,
    }, insert=True)
    invoice_id = int(inserted[0])
    raw.many(_q().invoice_lines, [{"invoice_id": invoice_id, "line_no": i, **line.__dict__}
                               for i, line in enumerate(lines, 1)])
    event = audit.row(at=at, operator=actor.name, action="invoice.issue", account_id=draft.account_id,
                      number=number, kind=draft.kind, total=format_minor(subtotal + tax, books.digits))
    return Issued(invoice_id, number, subtotal + tax, event)


def _mirror(session: Session, members: list[SimpleNamespace]) -> None:
    """Bring the session's objects of the closed accounts up to date with what the close wrote."""
    by_id = {m.id: m for m in members}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Account) and obj.id in by_id:
            for key in _MOVED:
                set_committed_value(obj, key, getattr(by_id[obj.id], key))
        elif isinstance(obj, Minimum | Seat | Assignment) and obj.account_id in by_id:
            session.refresh(obj)


def _close_in_session(session: Session, raw: _Raw, root: Account, *, now: datetime, books: Books,
                      cat: _Catalogue, actor: Actor, automatic: bool) -> CloseRow:
    session.flush()  # the close reads and writes on the session's connection, after what it holds
    snapshot = raw.account(_q().account, {"acct": root.id})
    row, members = _close(raw, snapshot, now=now, books=books, cat=cat, actor=actor, automatic=automatic)
    _mirror(session, members)
    return row


def close_due(session: Session, account: Account, *, now: datetime, books: Books, actor: Actor,
              automatic: bool, book: PriceBook | None = None) -> list[CloseRow]:
    """Close every ended period of one account, oldest first, in the caller's transaction."""
    rows: list[CloseRow] = []
    if not is_due(account, now):
        return rows
    cat = _Catalogue(book)
    conn = session.connection()
    cat.sync(conn)
    raw = _Raw(conn)
    while is_due(account, now):
        rows.append(_close_in_session(session, raw, account, now=now, books=books, cat=cat, actor=actor,
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
    cat = _Catalogue()
    if dry_run:
        with db.write(engine) as session:
            conn = session.connection()
            cat.sync(conn)
            raw = _Raw(conn)
            for done, (account_id, _) in enumerate(due, 1):
                account = raw.account(_q().account, {"acct": account_id})
                while is_due(account, now):
                    rows.append(_close(raw, account, now=now, books=books, cat=cat, actor=actor,
                                       automatic=False)[0])
                if progress:
                    progress(done, len(due))
            session.rollback()
        return rows
    with _translated(), engine.connect() as conn, _checkpoints_apart(conn):
        conn.execution_options(seatctl_write=True)  # each transaction takes the write lock first
        raw = _Raw(conn)
        for done, (account_id, _) in enumerate(due, 1):
            rows.extend(_close_account(raw, account_id, now=now, books=books, actor=actor, cat=cat))
            if progress:
                progress(done, len(due))
    return rows


@contextmanager
def _checkpoints_apart(conn: Connection) -> Iterator[None]:
    """SQLite: during the run, copy the WAL back into the ledger file every 10,000 pages written
    (~40 MB) instead of every 1,000, then once more at the end. A checkpoint writes each page changed
    since the last one once, however often it changed; the close changes the same few pages (index
    ends, the invoice counter) in every period, so fewer checkpoints write far fewer pages. Every
    commit is still synced (synchronous=FULL); only the copying into the main file is batched."""
    if conn.dialect.name != "sqlite":
        yield
        return
    db.execute_raw(conn, "PRAGMA wal_autocheckpoint = 10000")
    try:
        yield
    finally:
        db.execute_raw(conn, "PRAGMA wal_autocheckpoint = 1000")  # SQLite's default, for whoever uses the connection next
        db.execute_raw(conn, "PRAGMA wal_checkpoint(PASSIVE)")  # the rest now, inside the run, waiting on nobody


@contextmanager
def _translated() -> Iterator[None]:
    """A locked or unusable ledger as the error `db.write` gives."""
    try:
        yield
    except exc.OperationalError as err:
        raise db._translate(err) from err


def _close_account(raw: _Raw, account_id: int, *, now: datetime, books: Books, actor: Actor,
                   cat: _Catalogue) -> Iterator[CloseRow]:
    """Each ended period of one account in a transaction of its own (oldest first), on one
    connection kept for the whole run."""
    conn = raw.conn
    while True:
        with conn.begin():
            account = raw.account(_q().lock, {"acct": account_id})
            if not is_due(account, now):  # another run closed it meanwhile
                return
            cat.sync(conn, (account.v_prices, account.v_price_count, account.v_licences))
            row, _ = _close(raw, account, now=now, books=books, cat=cat, actor=actor, automatic=False)
        yield row
        if not is_due(account, now):  # the usual case: no second transaction just to find nothing due
            return


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

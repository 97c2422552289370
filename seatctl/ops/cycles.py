"""Billing periods: the nightly close (`cycle close`), the close before every write, and `cycle show`.

The close of an account period is planned by `rules/close.py` from the state this module reads (one
UNION ALL per account: minimums, metered use, seat and assignment counts, free seats, waiting
requests; on PostgreSQL one for a whole group of accounts), and carried out here with a small fixed
number of set-based statements (`store/statements.py`) on the fast executor (`store/executor.py`),
for one account period or a group of them (`_Writes`): the trims, the included seats, the accounts'
next periods, the invoices (`ops/invoices.write_invoices`), the closed periods and the events. Prices, licences,
plans and meters are loaded once per run (the price book again only when a price or a licence was added
meanwhile).

`cycle show` plans the same close without writing: for the periods that ended but are not closed yet
(cron has not run), one after another, each on the state the previous one leaves (`_Projection`); then
for the current period, as if nothing changed before its end. So what it announces is what the close does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Engine, exc
from sqlmodel import Session, col, select

from seatctl import clock
from seatctl.errors import Busy
from seatctl.ops import waitlist
from seatctl.ops.catalogue import PriceBook, require_schedule
from seatctl.ops.invoices import write_invoices
from seatctl.ops.lookup import find_account, invoicing_account
from seatctl.rules.books import Books
from seatctl.rules.close import ClosePlan, FreeSeat, Holding, MemberPlan, MemberState, Minimum, plan_close
from seatctl.rules.money import format_minor
from seatctl.rules.periods import Period, local_date, local_midnight
from seatctl.rules.pricing import Schedule
from seatctl.rules.roles import Actor
from seatctl.rules.terms import NO_PLAN, Terms
from seatctl.store import audit, statements
from seatctl.store import engine as db
from seatctl.store.closelock import one_close_at_a_time
from seatctl.store.executor import Executor
from seatctl.store.statements import FREE, HELD, IN_USE, MINIMUM, MOVED, OWNED, USED, WAITING
from seatctl.store.tables import Account, account_table, seat_table


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


class Catalogue:
    """Prices, licences, plans and meters for one run (`rules.close.Catalogue`). Plans, meters and
    licences are never changed once written (only added), so they are kept by id; the price book and
    the licence list are re-read when a price version or a licence was added since (checked in each
    transaction)."""

    def __init__(self, book: PriceBook | None = None) -> None:
        self._given_book = book
        self._version: tuple[object, ...] | None = None
        self.book: PriceBook | None = book
        self.licences: dict[int, Any] = {}
        self._conn: Connection | None = None
        self._schedules: dict[tuple[int, str, datetime], Schedule] = {}
        self._plans: dict[int, Terms] = {}
        self._meters: dict[int, tuple[Any, Schedule]] = {}

    def sync(self, conn: Connection, version: tuple[object, ...] | None = None) -> None:
        """Make sure the price book and licences are current (`version`: the catalogue version the
        caller already read in this transaction)."""
        self._conn = conn
        if version is None:
            version = tuple(conn.execute(statements.close().catalogue_version).one())
        if version == self._version:
            return
        self._version = version
        if self._given_book is not None:
            self.book = self._given_book
        else:
            with Session(bind=conn) as session:  # joins the transaction under way, leaves it open
                self.book = PriceBook(session)
        self._given_book = None  # a book given by the caller serves until the catalogue changes
        self.licences = {r.id: r for r in conn.execute(statements.close().licences)}
        self._schedules = {}

    def licence(self, licence_id: int) -> Any:
        return self.licences[licence_id]

    def schedule(self, licence: Any, cycle: str, at: datetime) -> Schedule:
        key = (licence.id, cycle, at)
        found = self._schedules.get(key)
        if found is None:
            assert self.book is not None
            found = self._schedules[key] = require_schedule(self.book, licence, cycle, at)
        return found

    def terms(self, plan_id: int | None) -> Terms:
        if plan_id is None:
            return NO_PLAN
        found = self._plans.get(plan_id)
        if found is None:
            assert self._conn is not None
            q = statements.close()
            plan = self._conn.execute(q.plan, {"id": plan_id}).one()
            includes = {r.licence_id: r.quantity for r in self._conn.execute(q.includes, {"id": plan_id})}
            allowances = {r.meter_id: r.quantity for r in self._conn.execute(q.allowances, {"id": plan_id})}
            found = self._plans[plan_id] = Terms(plan, includes, allowances)
        return found

    def meter(self, meter_id: int) -> tuple[Any, Schedule]:
        found = self._meters.get(meter_id)
        if found is None:
            from seatctl.ops.catalogue import meter_schedule

            assert self._conn is not None
            meter = self._conn.execute(statements.close().meter, {"id": meter_id}).one()
            found = self._meters[meter_id] = (meter, meter_schedule(meter))
        return found


# --- reading the state a close plans from ---------------------------------------------------------

@dataclass
class _Projection:
    """What planned closes would have written, laid over what the ledger holds (for `cycle show`):
    seats cancelled and added, minimums applied or dropped, accounts moved to their next period."""

    cancelled: dict[int, set[int]] = field(default_factory=dict)  # account → seat ids
    added: dict[int, list[FreeSeat]] = field(default_factory=dict)  # account → seats provisioned
    minimums_applied: set[int] = field(default_factory=set)
    closed: set[int] = field(default_factory=set)
    moved: dict[int, dict[str, Any]] = field(default_factory=dict)

    def absorb(self, plan: ClosePlan) -> None:
        seat = -1 - sum(len(v) for v in self.added.values())
        for member in plan.members:
            self.cancelled.setdefault(member.account_id, set()).update(member.cancel)
            for licence_id, count in member.add.items():
                for _ in range(count):
                    self.added.setdefault(member.account_id, []).append(FreeSeat(seat, licence_id, plan.end_at))
                    seat -= 1
            if member.apply_minimums:
                self.minimums_applied.add(member.account_id)
            if member.final:
                self.closed.add(member.account_id)
            self.moved[member.account_id] = member.moved

    def account(self, row: Any) -> Any:
        moved = self.moved.get(row.id)
        return SimpleNamespace(**{**vars(row), **moved}) if moved else row

    def lay_over(self, state: MemberState) -> None:
        account_id = state.account.id
        for licence_id, seats in state.free.items():
            gone = [s for s in seats if s.id in self.cancelled.get(account_id, ())]
            for s in gone:
                seats.remove(s)
                state.owned[licence_id] -= 1
                state.live[licence_id] -= 1
        for s in self.added.get(account_id, ()):
            state.free.setdefault(s.licence_id, []).append(s)
            state.owned[s.licence_id] = state.owned.get(s.licence_id, 0) + 1
            state.live[s.licence_id] = state.live.get(s.licence_id, 0) + 1
        if account_id in self.minimums_applied:
            state.minimums = [Minimum(m.licence_id, m.quantity if m.pending_quantity is None else m.pending_quantity,
                                      None) for m in state.minimums]


def _window(account: Any) -> tuple[datetime, datetime]:
    """The instants an account's state is read between: its period's start (or its activation, if
    later) and its end."""
    start_at = local_midnight(account.period_start, account.timezone)
    since = max(start_at, account.activated_at) if account.activated_at else start_at
    return since, account.period_end_at


def _take(state: MemberState, kind: int, a: Any, b: Any, c: Any, t: Any, t2: Any) -> None:
    """One row of the state read (`statements.close().state`) into the state."""
    if kind == FREE:
        state.free.setdefault(b, []).append(FreeSeat(a, b, t))
    elif kind == OWNED:
        state.owned[a], state.live[a] = b, c
    elif kind == IN_USE:
        state.in_use[a] = b
    elif kind == HELD:
        state.held.append(Holding(a, t, t2))
    elif kind == MINIMUM:
        state.minimums.append(Minimum(a, b, c))
    elif kind == USED:
        state.used.append((a, int(b)))
    elif kind == WAITING:
        state.waiting[a] = b


def read_state(ex: Executor, account: Any, projection: _Projection | None = None) -> MemberState:
    """An account's state at the end of its current period (`period_end_at`, which may be in the future:
    then the state as it would be if nothing changed before it)."""
    since, end = _window(account)
    q = statements.close()
    state = MemberState(account)
    for row in ex.rows(q.state_peak if account.mode == "peak" else q.state,
                       {"acct": account.id, "since": since, "end": end}):
        _take(state, *row)
    if projection is not None:
        projection.lay_over(state)
    return state


def _read_states(ex: Executor, accounts: list[Any]) -> dict[int, MemberState]:
    """PostgreSQL: the states of a group of accounts (those billing no children), one statement per mode
    for all of them (`statements.close_group()`), as `read_state` reads each. Elsewhere none: SQLite
    reads each account's in a statement of its own, as cheaply."""
    states: dict[int, MemberState] = {}
    if ex.dialect.name != "postgresql" or len(accounts) < 2:
        return states
    g = statements.close_group()
    for peak in (False, True):
        group = [a for a in accounts if not a.has_children and (a.mode == "peak") == peak]
        if not group:
            continue
        windows = [_window(a) for a in group]
        for a in group:
            states[a.id] = MemberState(a)
        for acct, *row in ex.rows(g.state_peak if peak else g.state, {
                "accts": [a.id for a in group], "sinces": [w[0] for w in windows], "ends": [w[1] for w in windows]}):
            _take(states[acct], *row)
    return states


def _members(ex: Executor, root: Any, projection: _Projection | None = None) -> list[Any]:
    """The invoicing account and its open children billed via it, level by level, each level by slug."""
    members = [root]
    frontier = [root.id] if getattr(root, "has_children", True) else []
    q = statements.close()
    while frontier:
        children = [c for parent in frontier for c in ex.namespaces(q.children, {"parent": parent})]
        if projection is not None:
            children = [projection.account(c) for c in children if c.id not in projection.closed]
        if len(frontier) > 1:
            children.sort(key=lambda c: c.slug)
        members.extend(children)
        frontier = [c.id for c in children]
    return members


def plan_period(ex: Executor, root: Any, *, now: datetime, books: Books, catalogue: Catalogue,
                projection: _Projection | None = None, state: MemberState | None = None) -> tuple[ClosePlan, list[Any]]:
    """Plan the close of the invoicing account's current period (with its children); `state`: the
    invoicing account's, when already read (`_read_states`)."""
    members = _members(ex, root, projection)
    states = [state if state is not None and member is root else read_state(ex, member, projection)
              for member in members]
    return plan_close(states, catalogue=catalogue, books=books, now=now), members


# --- carrying a close out -------------------------------------------------------------------------

GROUP = 50  # account periods one transaction of the cron run closes at most


@dataclass
class _Writes:
    """What the closes of one transaction write, gathered as they are planned, then written together
    (`_write`): one statement per kind of row for all of them (on PostgreSQL; SQLite runs each as an
    executemany), whether the transaction closes one account period or a group of them."""

    minimums: list[dict[str, Any]] = field(default_factory=list)  # accounts whose lowered minimums apply
    finals: list[tuple[int, datetime]] = field(default_factory=list)  # closed accounts' last closes
    cancel: list[dict[str, Any]] = field(default_factory=list)  # seats the trims cancel
    add: list[dict[str, Any]] = field(default_factory=list)  # included seats provisioned
    moves: list[dict[str, Any]] = field(default_factory=list)  # accounts moved to their next period
    waiting: list[MemberPlan] = field(default_factory=list)  # members whose new seats may seat requests
    closes: list[tuple[ClosePlan, Any]] = field(default_factory=list)  # each plan, with its invoicing account

    def gather(self, root: Any, plan: ClosePlan) -> None:
        end_at = plan.end_at
        for member in plan.members:
            if member.apply_minimums:
                self.minimums.append({"acct": member.account_id})
            if member.final:
                self.finals.append((member.account_id, end_at))
            self.cancel.extend({"id": seat, "cancelled_at": end_at} for seat in member.cancel)
            self.add.extend({"account_id": member.account_id, "licence_id": licence_id, "bought_at": end_at}
                            for licence_id, count in sorted(member.add.items()) for _ in range(count))
            self.moves.append({"id": member.account_id, **{k: member.moved[k] for k in MOVED}})
            if member.seat_waiting:
                self.waiting.append(member)
        self.closes.append((plan, root))


def _close(ex: Executor, root: Any, *, now: datetime, books: Books, catalogue: Catalogue, actor: Actor,
           automatic: bool) -> CloseRow:
    """Close the invoicing account's ended period, and its billed-via children's, in the caller's
    transaction: at most one invoice (renewal lines in advance, usage lines in arrears). `root` is
    moved to its next period (as written)."""
    assert is_due(root, now)
    plan, _ = plan_period(ex, root, now=now, books=books, catalogue=catalogue)
    writes = _Writes()
    writes.gather(root, plan)
    return _write(ex, writes, now=now, books=books, actor=actor, automatic=automatic)[0]


def _write(ex: Executor, w: _Writes, *, now: datetime, books: Books, actor: Actor, automatic: bool) -> list[CloseRow]:
    """Carry out the planned closes (in the caller's transaction): per account, the changes to its seats
    and minimums and its move, then one invoice per plan that bills something, the closed periods and
    one event per account period. Each invoicing account is moved to its next period (as written)."""
    q = statements.close()
    ex.many(q.apply_minimums, w.minimums)
    for account_id, end_at in w.finals:
        acct = {"acct": account_id}
        ex.run(q.release_all, {**acct, "at": end_at})
        ex.run(q.cancel_all, {**acct, "at": end_at})
        ex.run(q.drop_minimums, acct)
    ex.update_rows(seat_table, "id", w.cancel)
    ex.many(q.add_seats, w.add)
    ex.update_rows(account_table, "id", w.moves)
    for member in w.waiting:
        _seat_waiting(ex, member, actor=actor, now=now)
    issued = iter(write_invoices(ex, [plan.bill for plan, _ in w.closes if plan.bill is not None],
                                 books=books, at=now, actor=actor))
    closed: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    rows: list[CloseRow] = []
    for plan, root in w.closes:
        invoice = None
        if plan.bill is not None:
            invoice, event = next(issued)
            events.append(event)
        root_plan = plan.root
        total = plan.total_minor
        ended = plan.ended
        closed.extend(
            {"account_id": member.account_id, "period_start": ended.start, "period_end": ended.end, "closed_at": now,
             "seats_cancelled": plan.seats_cancelled if member is root_plan else 0,
             "invoice_id": invoice.id if invoice else None, "total_minor": total if member is root_plan else 0,
             "plan_id": member.plan_id}
            for member in plan.members)
        row = CloseRow(root.slug, ended.start.isoformat(), ended.end.isoformat(), plan.seats_cancelled,
                       invoice.number if invoice else None, total)
        rows.append(row)
        for member in plan.members:  # one event per account period closed
            events.append(audit.row(
                at=now, operator=actor.name, action="cycle.close", account_id=member.account_id,
                automatic=automatic, period_start=row.period_start, period_end=row.period_end,
                seats_cancelled=plan.seats_cancelled if member is root_plan else None, invoice=row.invoice,
                total=format_minor(total, books.digits) if member is root_plan else None,
                billed_via=root.slug if member is not root_plan else None,
                accounts=[m.slug for m in plan.members] if member is root_plan and len(plan.members) > 1 else None,
                applied=member.applied or None))
        for key in MOVED:
            setattr(root, key, root_plan.moved[key])
    ex.many(q.closed, closed)
    ex.many(statements.invoices().events, events)
    return rows


def _seat_waiting(ex: Executor, member: MemberPlan, *, actor: Actor, now: datetime) -> None:
    """Seats the close provisions (a plan's included seats) arrive like bought ones: waiting requests
    take them, oldest first (SPEC §9), in the close's transaction (a savepoint of it, for the session)."""
    with Session(bind=ex.conn, join_transaction_mode="create_savepoint") as session:
        account = session.get(Account, member.account_id)
        assert account is not None
        waitlist.seat_waiting(session, account, actor=actor, now=now, licence_ids=member.add)
        session.commit()


def close_due(session: Session, account: Account, *, now: datetime, books: Books, actor: Actor,
              automatic: bool, book: PriceBook | None = None) -> list[CloseRow]:
    """Close every ended period of an invoicing account, oldest first, in the caller's transaction.
    The session's objects are expired afterwards (what they hold was rewritten under them)."""
    if not is_due(account, now):
        return []
    ex = Executor.of(session)
    catalogue = Catalogue(book)
    catalogue.sync(ex.conn)
    root = ex.namespace(statements.close().account, {"acct": account.id})
    rows: list[CloseRow] = []
    while root is not None and is_due(root, now):
        rows.append(_close(ex, root, now=now, books=books, catalogue=catalogue, actor=actor, automatic=automatic))
    session.expire_all()
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
    """The cron job: the due accounts' ended periods, oldest first, up to `GROUP` account periods a
    transaction (`_close_group`; a dry run rolls back one big one). On SQLite one close runs at a time
    (`store/closelock.py`): a second waits, then reads what is due (nothing, once the first is done)."""
    actor.require("billing", "close billing cycles")
    with nullcontext() if dry_run else one_close_at_a_time(engine):
        return _close_all(engine, now=now, books=books, actor=actor, slug=slug, dry_run=dry_run, progress=progress)


def _close_all(engine: Engine, *, now: datetime, books: Books, actor: Actor, slug: str | None,
               dry_run: bool, progress: Callable[[int, int], None] | None) -> list[CloseRow]:
    with db.read(engine) as session:
        now = clock.not_before(audit.latest_at(session), now)  # time never runs backwards (SPEC §8)
        due = due_accounts(session, now=now, slug=slug)
    rows: list[CloseRow] = []
    catalogue = Catalogue()
    if dry_run:
        with db.write(engine) as session:
            conn = session.connection()
            catalogue.sync(conn)
            ex = Executor(conn)
            for done, (account_id, _) in enumerate(due, 1):
                account = ex.namespace(statements.close().account, {"acct": account_id})
                while account is not None and is_due(account, now):
                    rows.append(_close(ex, account, now=now, books=books, catalogue=catalogue, actor=actor,
                                       automatic=False))
                if progress:
                    progress(done, len(due))
            session.rollback()
        return rows
    shared = engine.dialect.name == "postgresql"
    order = [account_id for account_id, _ in due]
    with _translated(shared), engine.connect() as conn, _checkpoints_apart(conn):
        conn.execution_options(seatctl_write=True)  # each transaction takes the write lock first
        ex = Executor(conn)
        closed: dict[int, list[CloseRow]] = {}  # per due account
        held: list[int] = []  # PostgreSQL: accounts another transaction held when this run came to them
        ok = False

        def close(ids: list[int], *, wait: bool) -> None:
            while ids:  # the accounts still due after a close (cron was down) close their next period
                rows, busy, ids = _close_group(ex, ids, now=now, books=books, actor=actor, catalogue=catalogue,
                                               wait=wait)
                for account_id, row in rows.items():
                    closed.setdefault(account_id, []).append(row)
                held.extend(busy)

        try:
            for first in range(0, len(order), GROUP):
                close(order[first:first + GROUP], wait=False)
                if progress:
                    progress(min(first + GROUP, len(order)), len(order))
            # What others held (another cron host, or an operator's write, closing it): wait for them, then
            # close whatever they left due, so nothing due is left open when this run ends well.
            waited, held[:] = held[:], []
            for first in range(0, len(waited), GROUP):
                close(waited[first:first + GROUP], wait=True)
            ok = True
        finally:
            if shared and closed:
                with nullcontext() if ok else suppress(exc.SQLAlchemyError):  # failing: the first error is the one
                    _flush(ex, next(iter(closed)))
    return [row for account_id in order for row in closed.get(account_id, [])]


def _flush(ex: Executor, account_id: int) -> None:
    """PostgreSQL: the run's closes committed unsynced (each one atomic, seen by every other session at
    once; only a crash of the server itself could lose the last ones). One synced commit at the end puts
    them all on disk before the run reports them: commits are written to the log in order, so syncing
    one syncs every one before it. The transaction locks a row the run closed, which writes to the log,
    so its commit is synced (one that writes nothing would not be)."""
    if ex.conn.invalidated or ex.conn.closed:
        return
    with ex.conn.begin():
        ex.first(statements.close().flush, {"acct": account_id})


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
def _translated(shared: bool = False) -> Iterator[None]:
    """A database or file fault as its error (`db.fault`). On PostgreSQL, a session lost in the middle
    of the run (terminated, the server restarted, the network) says what the run leaves behind: the
    periods closed before stay closed (each its own transaction), the rest needs a rerun."""
    try:
        yield
    except exc.DBAPIError as err:
        if shared and _lost(err):
            first = (str(err.orig).strip().splitlines() or ["the connection was closed"])[0]
            raise Busy(f"lost the connection to the ledger: {first}",
                       "Periods closed before stay closed; run seatctl cycle close again to close the rest") from err
        translated = db._faulted(err)
        if translated is err:
            raise
        raise translated from err


def _lost(err: exc.DBAPIError) -> bool:
    """The session is gone: SQLAlchemy saw it, or the server said so (connection exception, admin or
    crash shutdown), or psycopg found the connection closed (no SQLSTATE: the fast executor's
    statements bypass SQLAlchemy's own check)."""
    sqlstate = getattr(err.orig, "sqlstate", None)
    return err.connection_invalidated or (isinstance(err, exc.OperationalError) and (
        sqlstate is None or sqlstate.startswith(("08", "57P"))))


def _close_group(ex: Executor, ids: list[int], *, now: datetime, books: Books, actor: Actor, catalogue: Catalogue,
                 wait: bool) -> tuple[dict[int, CloseRow], list[int], list[int]]:
    """The cron run: the ended period of each of these accounts (the oldest, if several), all in one
    transaction on the run's connection, written together (`_Writes`). Returns the row of each account
    closed, the accounts another transaction held (PostgreSQL skips them, unless `wait`: then it waits
    for them), and the accounts still due after this close (for the next transaction)."""
    conn = ex.conn
    position = {account_id: i for i, account_id in enumerate(ids)}
    with conn.begin():
        if ex.dialect.name == "postgresql":  # read and lock them at once (those others hold: no row)
            g = statements.close_group()
            accounts = ex.namespaces(g.claim_wait if wait else g.claim, {"accts": ids})
        else:  # the transaction holds the write lock already
            lock = statements.close().lock
            accounts = [a for account_id in ids if (a := ex.namespace(lock, {"acct": account_id})) is not None]
        found = {a.id for a in accounts}
        held = [account_id for account_id in ids if account_id not in found] if ex.dialect.name == "postgresql" else []
        # In the order given (slugs): invoice numbers follow it. One not due was closed meanwhile.
        accounts = sorted((a for a in accounts if is_due(a, now)), key=lambda a: position[a.id])
        if not accounts:
            return {}, held, []
        first = accounts[0]
        catalogue.sync(conn, (first.v_prices, first.v_price_count, first.v_licences))
        states = _read_states(ex, accounts)
        writes = _Writes()
        for account in accounts:
            plan, _ = plan_period(ex, account, now=now, books=books, catalogue=catalogue, state=states.get(account.id))
            writes.gather(account, plan)
        # PostgreSQL: the writes and the COMMIT go in a few round trips (`Executor.batched`), unless waiting
        # requests are seated (a Session's work).
        with ex.batched(commit=True) if not writes.waiting else nullcontext():
            rows = _write(ex, writes, now=now, books=books, actor=actor, automatic=False)
    return ({a.id: row for a, row in zip(accounts, rows, strict=True)}, held,
            [a.id for a in accounts if is_due(a, now)])


# --- cycle show -----------------------------------------------------------------------------------

def show_cycle(session: Session, slug: str, *, now: datetime, books: Books) -> dict[str, object]:
    """The account's current period, the closes due before it (cron has not run yet) and what the
    close of the current period would keep and bill if nothing changed before its end."""
    ex = Executor(session.connection())
    q = statements.close()
    account = find_account(session, slug)
    payer = invoicing_account(session, account)
    root = ex.namespace(q.account, {"acct": payer.id})
    assert root is not None
    catalogue = Catalogue()
    catalogue.sync(ex.conn)
    projection = _Projection()
    root, plans = _project_due(ex, root, now=now, books=books, catalogue=catalogue, projection=projection)
    due: list[dict[str, object]] = [
        {"period_start": plan.ended.start.isoformat(), "period_end": plan.ended.end.isoformat(),
         "seats_cancelled": plan.seats_cancelled, "invoice_total": format_minor(plan.total_minor, books.digits)}
        for plan in plans]
    me = projection.account(ex.namespace(q.account, {"acct": account.id}))
    digits = books.digits
    card: dict[str, object] = {
        "account": me.slug, "mode": me.mode, "cycle": me.cycle, "status": me.status,
        "invoiced_to": root.slug,
    }
    current = None
    if root.closed_at is None and me.id not in projection.closed and me.closed_at is None:
        current, _ = plan_period(ex, root, now=now, books=books, catalogue=catalogue, projection=projection)
    period = Period(me.period_start, me.period_end)
    today = local_date(now, me.timezone)
    mine = next((m for m in current.members if m.account_id == me.id), None) if current else None
    card.update({
        "period_start": period.start.isoformat(), "period_end": period.end.isoformat(), "days": period.days,
        "days_left": max(0, (period.end - today).days), "due": bool(due),
        "next_period_start": mine.moved["period_start"].isoformat() if mine and not mine.final else None,
        "next_period_end": mine.moved["period_end"].isoformat() if mine and not mine.final else None,
        "pending": _pending(me, session),
        "closed": me.closed_at is not None or me.id in projection.closed,
    })
    rows = _licence_rows(session, ex, me, mine, projection, digits) if mine else []
    renewal = sum(line.amount_minor for line in (mine.renewal if mine else []))
    card["seats"] = rows
    card["renewal_total"] = format_minor(renewal if me.status != "trial" else 0, digits)
    card["close_total"] = format_minor(current.total_minor if current else 0, digits)
    card["due_periods"] = due
    return card


def _project_due(ex: Executor, root: Any, *, now: datetime, books: Books, catalogue: Catalogue,
                 projection: _Projection) -> tuple[Any, list[ClosePlan]]:
    """Plan the closes of the invoicing account's ended periods (cron has not run yet), oldest first, each
    on the state the previous one leaves, writing nothing: `root` as they leave it, and their plans."""
    plans = []
    while is_due(root, now):
        plan, _ = plan_period(ex, root, now=now, books=books, catalogue=catalogue, projection=projection)
        plans.append(plan)
        projection.absorb(plan)
        root = projection.account(root)
    return root, plans


def as_if_closed(session: Session, account: Account, *, now: datetime, books: Books) -> tuple[Any, dict[int, int]]:
    """The account as the closes of its ended periods would leave it, without writing them (a quote,
    which a viewer may ask for and a viewer may not write): its row after those closes (the account
    itself when nothing is due), and per licence the seats they would add (+) or cancel (−). Planned
    by the very code that closes, like `cycle show`."""
    payer = invoicing_account(session, account)
    ex = Executor(session.connection())
    q = statements.close()
    root = ex.namespace(q.account, {"acct": payer.id})
    if root is None or not is_due(root, now):
        return account, {}
    catalogue = Catalogue()
    catalogue.sync(ex.conn)
    projection = _Projection()
    _project_due(ex, root, now=now, books=books, catalogue=catalogue, projection=projection)
    me = projection.account(ex.namespace(q.account, {"acct": account.id}))
    change: dict[int, int] = {}
    cancelled = sorted(projection.cancelled.get(account.id, ()))
    if cancelled:
        from sqlalchemy import func

        from seatctl.store.tables import Seat

        for licence_id, count in session.exec(select(Seat.licence_id, func.count()).where(
                col(Seat.id).in_(cancelled)).group_by(col(Seat.licence_id))).all():
            change[licence_id] = change.get(licence_id, 0) - int(count)
    for seat in projection.added.get(account.id, ()):
        change[seat.licence_id] = change.get(seat.licence_id, 0) + 1
    return me, change


def _pending(account: Any, session: Session) -> dict[str, object] | None:
    from seatctl.store.tables import Plan

    pending: dict[str, object] = {}
    if account.pending_cycle:
        pending["cycle"] = account.pending_cycle
    if account.pending_anchor:
        pending["anchor"] = account.pending_anchor.isoformat()
    if account.pending_plan_id:
        plan = session.get(Plan, account.pending_plan_id)
        pending["plan"] = plan.code if plan else None
    return pending or None


def _licence_rows(session: Session, ex: Executor, account: Any, mine: MemberPlan, projection: _Projection,
                  digits: int) -> list[dict[str, object]]:
    """Per licence: seats owned and in use now, the minimum that applies at the close, the seats it
    keeps, and what its renewal (in advance) and usage (in arrears) lines bill."""
    from seatctl.store.tables import Licence

    state = read_state(ex, account, projection)
    codes = dict(session.exec(select(Licence.id, Licence.code)).all())
    renewal: dict[int, int] = {}
    usage: dict[int, int] = {}
    for line in mine.renewal:
        if line.licence_id is not None:
            renewal[line.licence_id] = renewal.get(line.licence_id, 0) + line.amount_minor
    for line in mine.usage:
        if line.licence_id is not None:
            usage[line.licence_id] = usage.get(line.licence_id, 0) + line.amount_minor
    # (a licence whose seats are all gone, as planned closes leave it, has no row: as after those closes)
    ids = {k for k, v in state.live.items() if v} | set(state.in_use) | {k for k, v in mine.minimum.items() if v} | \
        set(renewal) | set(usage)
    held_now = {h.licence_id for h in state.held if h.released_at is None}
    ids |= held_now
    rows = []
    for licence_id in sorted(ids, key=lambda i: codes[i]):
        in_use = state.in_use.get(licence_id, 0) if account.mode == "allocation" else \
            sum(1 for h in state.held if h.licence_id == licence_id and h.released_at is None)
        rows.append({
            "licence": codes[licence_id], "owned": state.live.get(licence_id, 0), "in_use": in_use,
            "minimum": mine.minimum.get(licence_id, 0), "kept": mine.kept.get(licence_id, 0),
            "renewal": format_minor(renewal.get(licence_id, 0), digits),
            "usage": format_minor(usage.get(licence_id, 0), digits),
        })
    return rows

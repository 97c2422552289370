"""The statements the close and the invoice writer run through the fast executor, built once.

Every parameter is a named bind parameter the caller gives (no literals), so each statement is
compiled once per dialect (`store/executor.py`) and reused for every account period.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    any_,
    bindparam,
    case,
    cast,
    column,
    func,
    insert,
    literal_column,
    null,
    or_,
    true,
    union_all,
    update,
)
from sqlalchemy import select as core_select

from seatctl.store.tables import (
    account_table,
    assignment_table,
    closed_period_table,
    event_table,
    invoice_counter_table,
    invoice_line_table,
    invoice_table,
    licence_price_table,
    licence_table,
    meter_table,
    minimum_table,
    plan_allowance_table,
    plan_include_table,
    plan_table,
    seat_table,
    setting_table,
    usage_record_table,
    waitlist_table,
)

# The account columns a close may change (written back in one UPDATE).
MOVED = ("cycle", "anchor", "pending_cycle", "pending_anchor", "plan_id", "pending_plan_id", "closed_at",
         "period_start", "period_end", "period_end_at")

# Kinds of row in the state read (see `close().state`).
MINIMUM, USED, OWNED, IN_USE, FREE, HELD, WAITING = range(1, 8)


def _catalogue_version() -> tuple[Any, ...]:
    """The catalogue's version, read first by each transaction of the cron run (so the run's price
    book is known to be current): the latest price, the number of prices, the latest licence."""
    return (
        core_select(func.max(licence_price_table.c.id)).scalar_subquery().label("v_prices"),
        core_select(func.count()).select_from(licence_price_table).scalar_subquery().label("v_price_count"),
        core_select(func.max(licence_table.c.id)).scalar_subquery().label("v_licences"),
    )


def _has_children() -> Any:
    """Whether the account bills children (open ones, billed via it)."""
    a = account_table
    child = a.alias("child")
    return core_select(child.c.id).where(
        child.c.parent_id == a.c.id, child.c.billed_via_parent == True,  # noqa: E712
        child.c.closed_at.is_(None)).exists().label("has_children")


def _unsynced() -> Any:
    """PostgreSQL: this transaction's commit unsynced (`set_config(…, true)` is `SET LOCAL`), as a column
    of the claim, so it costs no round trip of its own."""
    return literal_column("set_config('synchronous_commit', 'off', true)").label("unsynced")


def _state_reads(acct: Any, since: Any, end: Any) -> tuple[list[Any], list[Any]]:
    """The parts of an account's state read (see `close().state`), for a pool and for peak mode: `acct`,
    `since` and `end` are bind parameters (one account) or the columns of a list of accounts
    (`close_group()`, PostgreSQL)."""
    m, s = minimum_table, seat_table
    h, u, w = assignment_table, usage_record_table, waitlist_table
    one, zero = literal_column("1", Integer), literal_column("0", Integer)

    def kind(n: int) -> Any:
        return literal_column(str(n), Integer)

    minimums = core_select(kind(MINIMUM).label("kind"), m.c.licence_id.label("a"),
                           m.c.quantity.label("b"), cast(m.c.pending_quantity, Integer).label("c"),
                           cast(null(), DateTime).label("t"), cast(null(), DateTime).label("t2")
                           ).where(m.c.account_id == acct)
    used = core_select(kind(USED), u.c.meter_id, cast(func.sum(u.c.quantity), BigInteger), null(), null(), null()
                       ).where(u.c.account_id == acct, u.c.at >= since, u.c.at < end).group_by(u.c.meter_id)
    owned = core_select(kind(OWNED), s.c.licence_id, func.sum(case((s.c.bought_at < end, one), else_=zero)),
                        func.sum(case((s.c.cancelled_at.is_(None), one), else_=zero)), null(), null()
                        ).where(s.c.account_id == acct, or_(s.c.cancelled_at.is_(None), s.c.cancelled_at >= end)
                                ).group_by(s.c.licence_id)
    in_use = core_select(kind(IN_USE), h.c.licence_id, func.sum(case((h.c.assigned_at < end, one), else_=zero)),
                         null(), null(), null()
                         ).where(h.c.account_id == acct, or_(h.c.released_at.is_(None), h.c.released_at >= end)
                                 ).group_by(h.c.licence_id)
    free = core_select(kind(FREE), s.c.id, s.c.licence_id, null(), s.c.bought_at, null()).where(
        s.c.account_id == acct, s.c.cancelled_at.is_(None), s.c.bought_at < end,
        s.c.id.not_in(core_select(h.c.seat_id).where(h.c.account_id == acct, h.c.seat_id.is_not(None),
                                                      or_(h.c.released_at.is_(None), h.c.released_at >= end)
                                                      ).correlate_except(h)))
    held = core_select(kind(HELD), h.c.licence_id, null(), null(), h.c.assigned_at, h.c.released_at
                       ).where(h.c.account_id == acct, h.c.assigned_at < end,
                               or_(h.c.released_at.is_(None), h.c.released_at > since))
    waiting = core_select(kind(WAITING), w.c.licence_id, func.count(), null(), null(), null()
                          ).where(w.c.account_id == acct, w.c.resolved_at.is_(None)).group_by(w.c.licence_id)
    return [minimums, used, owned, in_use, free, waiting], [minimums, used, owned, held]


@functools.cache
def close() -> SimpleNamespace:
    """Every statement of the close."""
    a, m, s, h = account_table, minimum_table, seat_table, assignment_table
    acct: Any = bindparam("acct")
    end: Any = bindparam("end", type_=DateTime)
    since: Any = bindparam("since", type_=DateTime)
    zero = literal_column("0", Integer)
    catalogue_version = _catalogue_version()
    has_children = _has_children()
    pool, peak = _state_reads(acct, since, end)
    return SimpleNamespace(
        account=core_select(a).where(a.c.id == acct),
        lock=core_select(a, has_children, *catalogue_version).where(a.c.id == acct).with_for_update(of=a),
        # PostgreSQL: a transaction that writes WAL (a row lock), committed synced, so every commit before
        # it is on disk too (the end of an unsynced run).
        flush=core_select(a.c.id).where(a.c.id == acct).with_for_update(of=a),
        children=core_select(a).where(
            a.c.parent_id == bindparam("parent"), a.c.billed_via_parent == True,  # noqa: E712
            a.c.closed_at.is_(None)).order_by(a.c.slug),
        # In one read, an account's state at the end of its period, by kind of row: its minimums (licence,
        # quantity, pending), its metered use in the period (meter, units), per licence the seats not
        # cancelled by the end (licence, how many were bought before it, how many are not cancelled at
        # all), then for a pool (allocation mode) per licence the assignments still open at the end
        # (licence, how many began before it), the free seats (id, licence, bought: owned at the end, not
        # cancelled, held by no assignment still open then) and the requests waiting now (licence, how
        # many), or for peak mode the assignments held during the period (licence, assigned, released).
        state=union_all(*pool),
        state_peak=union_all(*peak),
        apply_minimums=update(m).where(m.c.account_id == acct, m.c.pending_quantity.is_not(None))
        .values(quantity=m.c.pending_quantity, pending_quantity=null()),
        drop_minimums=update(m).where(m.c.account_id == acct).values(quantity=zero, pending_quantity=null()),
        add_seats=insert(s),
        release_all=update(h).where(h.c.account_id == acct, h.c.released_at.is_(None))
        .values(released_at=bindparam("at")),
        cancel_all=update(s).where(s.c.account_id == acct, s.c.cancelled_at.is_(None))
        .values(cancelled_at=bindparam("at")),
        closed=insert(closed_period_table),
        catalogue_version=core_select(*catalogue_version),
        licences=core_select(licence_table),
        plan=core_select(plan_table).where(plan_table.c.id == bindparam("id")),
        includes=core_select(plan_include_table).where(plan_include_table.c.plan_id == bindparam("id")),
        allowances=core_select(plan_allowance_table).where(plan_allowance_table.c.plan_id == bindparam("id")),
        meter=core_select(meter_table).where(meter_table.c.id == bindparam("id")),
    )


@functools.cache
def close_group() -> SimpleNamespace:
    """PostgreSQL, the cron run: the close's reads for a group of accounts in one statement each
    (`ops/cycles.close_all`). `accts` (and `sinces`, `ends`) are arrays, one element an account."""
    from sqlalchemy.dialects.postgresql import ARRAY

    a = account_table
    accts: Any = bindparam("accts", type_=ARRAY(Integer))
    p = func.unnest(accts, bindparam("sinces", type_=ARRAY(DateTime)), bindparam("ends", type_=ARRAY(DateTime))
                    ).table_valued(column("acct", Integer), column("since", DateTime), column("end_at", DateTime),
                                   name="p").render_derived()
    pool, peak = _state_reads(p.c.acct, p.c.since, p.c.end_at)

    def per_account(parts: list[Any]) -> Any:
        # Each account's read as `close().state` runs it, the account first (LATERAL: once per account).
        state = union_all(*parts).subquery("st").lateral()
        return core_select(p.c.acct, *state.c).select_from(p.join(state, true()))

    return SimpleNamespace(
        # Lock the accounts no other transaction holds (the others: no row), as `close().claim` does one.
        claim=core_select(a, _has_children(), *_catalogue_version(), _unsynced())
        .where(a.c.id == any_(accts)).order_by(a.c.id).with_for_update(of=a, skip_locked=True),
        claim_wait=core_select(a, _has_children(), *_catalogue_version(), _unsynced())
        .where(a.c.id == any_(accts)).order_by(a.c.id).with_for_update(of=a),
        state=per_account(pool),
        state_peak=per_account(peak),
    )


@functools.cache
def invoices() -> SimpleNamespace:
    """The invoice writer's statements (any dialect)."""
    n = invoice_counter_table
    return SimpleNamespace(
        # The next number of a series: one atomic UPDATE … RETURNING on its counter row, which stays locked
        # until the transaction ends, so numbers are gapless under concurrent writers; `n` numbers at once
        # (a close of several accounts): the last of them is returned. It also returns the ledger's currency
        # as it is now (in the same round trip), for the writer to check (ops/settings.py).
        bump=update(n).where(n.c.series == bindparam("s"), n.c.year == bindparam("y"))
        .values(last=n.c.last + bindparam("n", type_=Integer))
        .returning(n.c.last, core_select(setting_table.c.value)
                   .where(setting_table.c.key == literal_column("'currency'")).scalar_subquery()),
        invoice=insert(invoice_table).returning(invoice_table.c.id),
        lines=insert(invoice_line_table),
        events=insert(event_table),
    )


@functools.cache
def create_counter(dialect: str) -> Any:
    """A series' first number of the year creates its counter row (ignored if a concurrent writer did)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    n = invoice_counter_table
    return upsert(n).values(series=bindparam("s"), year=bindparam("y"), last=literal_column("0", Integer)
                            ).on_conflict_do_nothing()


@functools.cache
def seats() -> SimpleNamespace:
    """The statements of assign and release (`ops/seats.py`), of the waitlist's hook after a release,
    and of what every write command reads first (its operator's role, the ledger's settings, the latest
    event's instant): each a single Core statement on the fast executor, where the ORM cost ~0.2 ms a
    statement and a `batch` of assign/release lines runs a dozen a line."""
    from seatctl.store.tables import app_user_table, operator_table, setting_table  # (here: the imports above are the close's)

    h, s, w, u, lic = assignment_table, seat_table, waitlist_table, app_user_table, licence_table
    acct: Any = bindparam("acct")
    licence: Any = bindparam("licence")
    # A seat is held while an assignment of it is open: one probe of the open-seat index per seat, so the
    # cost follows the account's seats, not its assignment history (which grows with every release).
    held_seat = core_select(h.c.id).where(h.c.seat_id == s.c.id, h.c.released_at.is_(None)).exists()
    return SimpleNamespace(
        operator_role=core_select(operator_table.c.role).where(operator_table.c.name == bindparam("name")),
        settings=core_select(setting_table.c.key, setting_table.c.value),
        latest_at=core_select(event_table.c.at).where(
            event_table.c.id == core_select(func.max(event_table.c.id)).scalar_subquery()),
        account=core_select(account_table).where(account_table.c.slug == bindparam("slug")),
        licence=core_select(lic.c.id, lic.c.code).where(lic.c.code == bindparam("code")),
        user=core_select(u.c.id, u.c.email, u.c.status).where(u.c.account_id == acct, u.c.email == bindparam("email")),
        # Owned, uncancelled seats nobody holds, oldest first (`ops/lookup.free_seat_ids`).
        free=core_select(s.c.id).where(s.c.account_id == acct, s.c.licence_id == licence, s.c.cancelled_at.is_(None),
                                       ~held_seat).order_by(s.c.id)
        .limit(bindparam("limit")).offset(bindparam("skip")),  # skip 0 (a literal offset would be a bind SQLite adds)
        assign=insert(h),
        # A user's open assignments with their licence codes, by code (what a release may take back).
        held_by=core_select(h.c.id, lic.c.code).join_from(h, lic, lic.c.id == h.c.licence_id)
        .where(h.c.user_id == bindparam("user"), h.c.released_at.is_(None)).order_by(lic.c.code),
        release=update(h).where(h.c.id == bindparam("id")).values(released_at=bindparam("at")),
        # An account's waiting requests, oldest first (`ops/waitlist.open_requests`).
        waiting=core_select(w.c.id, w.c.user_id, w.c.licence_id, w.c.requested_at, w.c.requested_by)
        .where(w.c.account_id == acct, w.c.resolved_at.is_(None)).order_by(w.c.id),
        events=insert(event_table),
    )


@functools.lru_cache(maxsize=8)
def users_by_email(count: int) -> Any:
    """An account's users (id, email, status) with one of `count` e-mails (bind parameters email0 …):
    assign reads its users 500 at a time (`ops/seats.py`)."""
    from seatctl.store.tables import app_user_table as u

    return core_select(u.c.id, u.c.email, u.c.status).where(
        u.c.account_id == bindparam("acct"), u.c.email.in_([bindparam(f"email{i}") for i in range(count)]))


@functools.lru_cache(maxsize=8)
def held_by_users(count: int) -> Any:
    """The open assignments (user, licence) of `count` users (bind parameters user0 …): what assign finds
    already held, on the open-assignment index (a user is in one account; naming the account would
    make SQLite scan that account's whole assignment history instead)."""
    h = assignment_table
    return core_select(h.c.user_id, h.c.licence_id).where(
        h.c.user_id.in_([bindparam(f"user{i}") for i in range(count)]), h.c.released_at.is_(None))

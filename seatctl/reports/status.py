"""Support tables: seat status, users by role, denials, revenue (usage is in usage.py)."""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from sqlalchemy import DateTime, bindparam, func, literal_column
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from seatctl.errors import NotFound
from seatctl.ops.lookup import account_ids, in_accounts
from seatctl.rules.periods import local_midnight
from seatctl.store.tables import (
    account_table,
    assignment_table,
    licence_table,
    meter_table,
    minimum_table,
    plan_allowance_table,
    plan_include_table,
    plan_table,
    purchase_order_table,
    seat_table,
    usage_record_table,
    waitlist_table,
)


def status_rows(session: Session, *, slug: str | None = None, tree: bool = False) -> list[dict[str, object]]:
    """Per account and licence: in_use, free, total, minimum, buying, waiting (free/total null in peak mode).

    Core statements on the tables, not ORM ones: `status` is typed all day, and a process that
    runs no ORM query never pays for configuring the mappers."""
    if slug is not None and not tree:
        return _one_account(session, slug)
    ids = account_ids(session, slug, tree)
    s, h, m, o, a = seat_table.c, assignment_table.c, minimum_table.c, purchase_order_table.c, account_table.c
    owned = {(acc, lic): n for acc, lic, n in session.exec(
        select(s.account_id, s.licence_id, func.count()).where(
            s.cancelled_at.is_(None), in_accounts(s.account_id, ids)
        ).group_by(s.account_id, s.licence_id)).all()}
    in_use = {(acc, lic): n for acc, lic, n in session.exec(
        select(h.account_id, h.licence_id, func.count()).where(
            h.released_at.is_(None), in_accounts(h.account_id, ids)
        ).group_by(h.account_id, h.licence_id)).all()}
    minimum = {(acc, lic): n for acc, lic, n in session.exec(
        select(m.account_id, m.licence_id, m.quantity).where(m.quantity > 0, in_accounts(m.account_id, ids))).all()}
    buying = {(acc, lic): int(n) for acc, lic, n in session.exec(
        select(o.account_id, o.licence_id, func.sum(o.quantity)).where(
            o.status == "pending", in_accounts(o.account_id, ids)
        ).group_by(o.account_id, o.licence_id)).all()}
    w = waitlist_table.c
    waiting = {(acc, lic): int(n) for acc, lic, n in session.exec(
        select(w.account_id, w.licence_id, func.count()).where(
            w.resolved_at.is_(None), in_accounts(w.account_id, ids)
        ).group_by(w.account_id, w.licence_id)).all()}
    accounts: dict[int, Any] = {row[0]: row for row in session.execute(
        core_select(a.id, a.slug, a.mode, a.plan_id, a.closed_at).where(in_accounts(a.id, ids))).all()}
    included: dict[int, dict[int, int]] = {}
    i = plan_include_table.c
    for plan_id, licence_id, quantity in session.exec(select(i.plan_id, i.licence_id, i.quantity)).all():
        included.setdefault(plan_id, {})[licence_id] = quantity
    codes: dict[int, str] = dict(session.exec(select(licence_table.c.id, licence_table.c.code)).all())
    return _table(accounts, owned=owned, in_use=in_use, minimum=minimum, buying=buying, waiting=waiting,
                  included=included, codes=codes)


Key = tuple[int, int]  # (account id, licence id)


def _table(accounts: dict[int, Any], *, owned: dict[Key, int], in_use: dict[Key, int], minimum: dict[Key, int],
           buying: dict[Key, int], waiting: dict[Key, int], included: dict[int, dict[int, int]],
           codes: dict[int, str]) -> list[dict[str, object]]:
    """The status rule, once, for both paths: one row per account and licence that has seats owned, held,
    a minimum, seats being bought or people waiting; a plan's included seats are a minimum too, and an
    account after its final close has no minimum at all (SPEC §5); free/total are null in peak mode."""
    minimum = {key: n for key, n in minimum.items() if accounts[key[0]].closed_at is None}
    for account in accounts.values():
        if account.closed_at is not None:
            continue
        for licence_id, quantity in included.get(account.plan_id or 0, {}).items():
            key = (account.id, licence_id)
            minimum[key] = max(minimum.get(key, 0), quantity)
    rows = []
    for account_id, licence_id in set(owned) | set(in_use) | set(minimum) | set(buying) | set(waiting):
        account = accounts[account_id]
        used = in_use.get((account_id, licence_id), 0)
        total = owned.get((account_id, licence_id), 0)
        peak = account.mode == "peak"
        rows.append({
            "account": account.slug, "licence": codes[licence_id], "in_use": used,
            "free": None if peak else total - used, "total": None if peak else total,
            "minimum": minimum.get((account_id, licence_id), 0), "buying": buying.get((account_id, licence_id), 0),
            "waiting": waiting.get((account_id, licence_id), 0),
        })
    return sorted(rows, key=lambda r: (str(r["account"]), str(r["licence"])))


@functools.cache
def _statements() -> SimpleNamespace:
    """`status ACCOUNT` and its metered use, typed all day and run by the line in a `batch`: statements
    built once, run on the fast executor (store/executor.py). The same queries as the general path
    above, for one account."""
    s, h, m, o, w = seat_table.c, assignment_table.c, minimum_table.c, purchase_order_table.c, waitlist_table.c
    a, i, u, p, al = account_table.c, plan_include_table.c, usage_record_table.c, plan_table.c, plan_allowance_table.c
    acct: Any = bindparam("acct")
    plan: Any = bindparam("plan")
    return SimpleNamespace(
        account=core_select(a.id, a.slug, a.mode, a.plan_id, a.period_start, a.timezone, a.closed_at)
        .where(a.slug == bindparam("slug")),
        owned=core_select(s.licence_id, func.count()).where(s.cancelled_at.is_(None), s.account_id == acct)
        .group_by(s.licence_id),
        in_use=core_select(h.licence_id, func.count()).where(h.released_at.is_(None), h.account_id == acct)
        .group_by(h.licence_id),
        minimum=core_select(m.licence_id, m.quantity).where(m.quantity > literal_column("0"), m.account_id == acct),
        buying=core_select(o.licence_id, func.sum(o.quantity)).where(o.status == bindparam("pending"), o.account_id == acct)
        .group_by(o.licence_id),
        waiting=core_select(w.licence_id, func.count()).where(w.resolved_at.is_(None), w.account_id == acct)
        .group_by(w.licence_id),
        included=core_select(i.licence_id, i.quantity).where(i.plan_id == plan),
        licences=core_select(licence_table.c.id, licence_table.c.code),
        plan_code=core_select(p.code).where(p.id == plan),
        allowances=core_select(al.meter_id, al.quantity).where(al.plan_id == plan),
        used=core_select(u.meter_id, func.sum(u.quantity)).where(
            u.account_id == acct, u.at >= bindparam("since", type_=DateTime)).group_by(u.meter_id),
        meters=core_select(meter_table.c.id, meter_table.c.code),
    )


def _account(ex: Any, slug: str) -> Any:
    account = ex.namespace(_statements().account, {"slug": slug})
    if account is None:
        raise NotFound(f"no account '{slug}'", "See: seatctl account list")
    return account


def _one_account(session: Session, slug: str) -> list[dict[str, object]]:
    """`status_rows` for one account (no subtree)."""
    from seatctl.store.executor import Executor

    q, ex = _statements(), Executor.of(session)
    account = _account(ex, slug)
    key, acct = {"acct": account.id}, account.id

    def per_licence(statement: Any, params: dict[str, object]) -> dict[Key, int]:
        return {(acct, lic): int(n) for lic, n in ex.rows(statement, params)}

    included = {} if account.plan_id is None else {account.plan_id: dict(ex.rows(q.included, {"plan": account.plan_id}))}
    return _table({acct: account}, owned=per_licence(q.owned, key), in_use=per_licence(q.in_use, key),
                  minimum=per_licence(q.minimum, key), buying=per_licence(q.buying, {**key, "pending": "pending"}),
                  waiting=per_licence(q.waiting, key), included=included, codes=dict(ex.rows(q.licences, {})))


def allowance_rows(session: Session, slug: str) -> list[dict[str, object]]:
    """This period's use of each metered service against the plan's allowance (for `status`; the fast
    executor, like `status ACCOUNT`)."""
    from seatctl.store.executor import Executor

    q, ex = _statements(), Executor.of(session)
    account = _account(ex, slug)
    plan_code = None
    allowances: dict[int, int] = {}
    if account.plan_id is not None:
        plan_code = ex.first(q.plan_code, {"plan": account.plan_id})[0]
        allowances = dict(ex.rows(q.allowances, {"plan": account.plan_id}))
    used: dict[int, int] = dict(ex.rows(q.used, {"acct": account.id,
                                                 "since": local_midnight(account.period_start, account.timezone)}))
    if not used and not allowances:
        return []
    codes: dict[int, str] = dict(ex.rows(q.meters, {}))
    rows: list[dict[str, object]] = []
    for meter_id in sorted(set(used) | set(allowances), key=lambda m: codes[m]):
        quantity = int(used.get(meter_id) or 0)
        allowance = allowances.get(meter_id, 0)
        rows.append({"account": account.slug, "plan": plan_code, "meter": codes[meter_id], "used": quantity,
                     "allowance": allowance, "overage": max(0, quantity - allowance)})
    return rows

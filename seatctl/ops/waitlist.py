"""The waitlist (SPEC §9): assignments queued for want of a free seat, seated oldest first in the
same transaction whenever seats come free or arrive.

`seat_waiting` is the one hook: release, user deactivation, purchase, order approval, a raised
minimum, a plan upgrade and the reactivation of a suspended account call it after their change. A
deactivated user's requests and a closed account's are dropped (`drop`). Invariant 8 (`doctor`):
never a free seat and a waiting request of the same licence in a trial or active account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from seatctl.ops.lookup import account_ids, free_seat_ids, in_accounts
from seatctl.rules.roles import Actor
from seatctl.store import audit, statements
from seatctl.store.executor import Executor
from seatctl.store.tables import (
    Account,
    account_table,
    app_user_table,
    assignment_table,
    licence_table,
    waitlist_table,
)

_W, _A, _U, _L = waitlist_table.c, assignment_table.c, app_user_table.c, licence_table.c
SEATING_STATUSES = ("trial", "active")  # a suspended account's requests wait until it is active again


@dataclass(frozen=True)
class Request:
    id: int
    user_id: int
    licence_id: int
    requested_at: datetime
    requested_by: str


@dataclass(frozen=True)
class Seated:
    request: Request
    email: str
    code: str
    assignment_id: int


def open_requests(session: Session, account_id: int, *, licence_ids: Iterable[int] | None = None,
                  user_ids: Iterable[int] | None = None) -> list[Request]:
    """The account's waiting requests, oldest first."""
    if licence_ids is None and user_ids is None:  # the hook after every release: one statement, fast executor
        return [Request(*row) for row in Executor.of(session).rows(statements.seats().waiting, {"acct": account_id})]
    session.flush()
    query = select(_W.id, _W.user_id, _W.licence_id, _W.requested_at, _W.requested_by).where(
        _W.account_id == account_id, _W.resolved_at.is_(None))
    if licence_ids is not None:
        query = query.where(_W.licence_id.in_(sorted(set(licence_ids))))
    if user_ids is not None:
        query = query.where(_W.user_id.in_(sorted(set(user_ids))))
    return [Request(*row) for row in session.connection().execute(query.order_by(_W.id))]


def _emails(session: Session, user_ids: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    ids = sorted(user_ids)
    for i in range(0, len(ids), 500):
        out.update(session.connection().execute(select(_U.id, _U.email).where(_U.id.in_(ids[i:i + 500]))).all())
    return out


def _codes(session: Session) -> dict[int, str]:
    return dict(session.connection().execute(select(_L.id, _L.code)).all())


def insert_assignments(session: Session, account_id: int, rows: list[tuple[int, int, int | None]],
                       now: datetime) -> dict[tuple[int, int], int]:
    """Open assignments (user, licence, seat) at `now`; returns their ids by (user, licence)."""
    if not rows:
        return {}
    session.flush()
    conn = session.connection()
    conn.execute(assignment_table.insert(), [
        {"account_id": account_id, "licence_id": lic, "user_id": user, "seat_id": seat, "assigned_at": now}
        for user, lic, seat in rows])
    ids: dict[tuple[int, int], int] = {}
    users = sorted({user for user, _, _ in rows})
    for i in range(0, len(users), 500):
        for aid, user, lic in conn.execute(select(_A.id, _A.user_id, _A.licence_id).where(
                _A.account_id == account_id, _A.released_at.is_(None), _A.user_id.in_(users[i:i + 500]))):
            ids[(user, lic)] = aid
    return ids


def resolve(session: Session, resolved: list[tuple[int, str, int | None]], now: datetime) -> None:
    """Close requests: (request id, resolution, assignment id)."""
    if not resolved:
        return
    session.flush()
    session.connection().execute(
        update(waitlist_table).where(_W.id == bindparam("wid")).values(
            resolved_at=bindparam("at"), resolution=bindparam("how"), assignment_id=bindparam("aid")),
        [{"wid": wid, "at": now, "how": how, "aid": aid} for wid, how, aid in resolved])


def seat_waiting(session: Session, account: Account, *, actor: Actor, now: datetime,
                 licence_ids: Iterable[int] | None = None) -> list[Seated]:
    """Give free seats to waiting requests, oldest first (per licence); each seating is an `assign`
    event with `"from_waitlist": true`. Nothing happens in a suspended, closed or peak account."""
    if account.mode != "allocation" or account.status not in SEATING_STATUSES:
        return []
    assert account.id is not None
    waiting = open_requests(session, account.id, licence_ids=licence_ids)
    if not waiting:
        return []
    by_licence: dict[int, list[Request]] = defaultdict(list)
    for request in waiting:
        by_licence[request.licence_id].append(request)
    pairs: list[tuple[Request, int]] = []
    for licence_id, requests in by_licence.items():
        seats = free_seat_ids(session, account.id, licence_id, len(requests))
        pairs += zip(requests, seats, strict=False)
    if not pairs:
        return []
    ids = insert_assignments(session, account.id, [(r.user_id, r.licence_id, seat) for r, seat in pairs], now)
    resolve(session, [(r.id, "seated", ids[(r.user_id, r.licence_id)]) for r, _ in pairs], now)
    emails, codes = _emails(session, {r.user_id for r, _ in pairs}), _codes(session)
    seated = [Seated(r, emails[r.user_id], codes[r.licence_id], ids[(r.user_id, r.licence_id)]) for r, _ in pairs]
    audit.insert_rows(session, [
        audit.row(at=now, operator=actor.name, action="assign", account_id=account.id, licence_id=s.request.licence_id,
                  quantity=1, user=s.email, licence=s.code, from_waitlist=True,
                  requested_at=s.request.requested_at.isoformat(timespec="seconds") + "Z",
                  requested_by=s.request.requested_by)
        for s in seated])
    return seated


def queue(session: Session, account: Account, wanted: list[tuple[int, str, int, str]], *, source: str,
          actor: Actor, now: datetime) -> list[tuple[int, str, int, str]]:
    """Queue (user id, email, licence id, code) requests, each once: returns the new ones (a user
    already waiting for that licence keeps their place). Each new request is a `wait` event."""
    assert account.id is not None
    if not wanted:
        return []
    already = {(r.user_id, r.licence_id)
               for r in open_requests(session, account.id, user_ids={user for user, _, _, _ in wanted})}
    fresh: list[tuple[int, str, int, str]] = []
    for item in wanted:
        if (item[0], item[2]) not in already:
            already.add((item[0], item[2]))
            fresh.append(item)
    if fresh:
        session.connection().execute(waitlist_table.insert(), [
            {"account_id": account.id, "user_id": user, "licence_id": lic, "requested_at": now,
             "requested_by": actor.name, "source": source} for user, _, lic, _ in fresh])
        audit.insert_rows(session, [
            audit.row(at=now, operator=actor.name, action="wait", account_id=account.id, licence_id=lic, quantity=1,
                      user=email, licence=code, source=source) for _, email, lic, code in fresh])
    return fresh


def drop(session: Session, account: Account, requests: list[Request], *, actor: Actor, now: datetime,
         reason: str, resolution: str = "dropped") -> int:
    """Close requests without a seat (a deactivated user, a closed account, a licence the directory
    no longer gives): one `waitlist.drop` (or `waitlist.cancel`) event each."""
    if not requests:
        return 0
    resolve(session, [(r.id, resolution, None) for r in requests], now)
    emails, codes = _emails(session, {r.user_id for r in requests}), _codes(session)
    action = "waitlist.cancel" if resolution == "cancelled" else "waitlist.drop"
    audit.insert_rows(session, [
        audit.row(at=now, operator=actor.name, action=action, account_id=account.id, licence_id=r.licence_id,
                  quantity=1, user=emails[r.user_id], licence=codes[r.licence_id], reason=reason,
                  requested_at=r.requested_at.isoformat(timespec="seconds") + "Z")
        for r in requests])
    return len(requests)


def drop_users(session: Session, account: Account, user_ids: Iterable[int], *, actor: Actor, now: datetime,
               reason: str = "user deactivated") -> int:
    assert account.id is not None
    ids = set(user_ids)
    if not ids:
        return 0
    return drop(session, account, open_requests(session, account.id, user_ids=ids), actor=actor, now=now, reason=reason)


def drop_account(session: Session, account: Account, *, actor: Actor, now: datetime) -> int:
    assert account.id is not None
    return drop(session, account, open_requests(session, account.id), actor=actor, now=now, reason="account closed")


def seated_directly(session: Session, account: Account, assigned: dict[tuple[int, int], int], *,
                    now: datetime) -> int:
    """A waiting user who got the licence another way (`assign --buy`): their request is seated."""
    assert account.id is not None
    if not assigned:
        return 0
    requests = [r for r in open_requests(session, account.id, user_ids={u for u, _ in assigned})
                if (r.user_id, r.licence_id) in assigned]
    resolve(session, [(r.id, "seated", assigned[(r.user_id, r.licence_id)]) for r in requests], now)
    return len(requests)




WAITLIST_COLUMNS = ["account", "licence", "position", "email", "requested_at", "requested_by", "source"]


def waitlist_rows(session: Session, *, slug: str | None = None, tree: bool = False) -> list[dict[str, object]]:
    """Open requests by account, licence and position in the queue (1 is seated first)."""
    ids = account_ids(session, slug, tree)
    a = account_table.c
    query = (select(a.slug, _L.code, _U.email, _W.requested_at, _W.requested_by, _W.source)
             .select_from(waitlist_table).join(account_table, a.id == _W.account_id)
             .join(app_user_table, _U.id == _W.user_id).join(licence_table, _L.id == _W.licence_id)
             .where(_W.resolved_at.is_(None), in_accounts(_W.account_id, ids))
             .order_by(a.slug, _L.code, _W.id))
    rows: list[dict[str, object]] = []
    position: dict[tuple[str, str], int] = defaultdict(int)
    for slug_, code, email, at, by, source in session.connection().execute(query):
        position[(slug_, code)] += 1
        rows.append({"account": slug_, "licence": code, "position": position[(slug_, code)], "email": email,
                     "requested_at": at.isoformat(timespec="seconds") + "Z", "requested_by": by, "source": source})
    return rows


def waiting_counts(session: Session, ids: list[int] | None) -> dict[tuple[int, int], int]:
    """Open requests per (account id, licence id): `status` and `report denials` show them."""
    return {(acc, lic): int(n) for acc, lic, n in session.connection().execute(
        select(_W.account_id, _W.licence_id, func.count()).where(
            _W.resolved_at.is_(None), in_accounts(_W.account_id, ids)).group_by(_W.account_id, _W.licence_id))}


def position_of(session: Session, account_id: int, licence_id: int, user_id: int) -> int | None:
    """Where a user's request stands in its licence's queue (1 is next)."""
    requests = open_requests(session, account_id, licence_ids=[licence_id])
    for place, request in enumerate(requests, 1):
        if request.user_id == user_id:
            return place
    return None

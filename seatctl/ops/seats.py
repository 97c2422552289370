"""Seat pools: counts, free seats, and purchases (the prorated charge and its invoice)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session, col, select

from seatctl.errors import NotFound, Refused
from seatctl.ops import catalogue, waitlist
from seatctl.ops.catalogue import LicenceRef, PriceBook, require_schedule
from seatctl.ops.lookup import find_user, free_seat_ids, in_use_now, owned_now, user_ref
from seatctl.ops.orders import buy, confirm_purchase
from seatctl.ops.write import for_write, require_open
from seatctl.rules.books import Books
from seatctl.rules.roles import Actor
from seatctl.store import audit, statements
from seatctl.store.executor import Executor
from seatctl.store.tables import Account, Assignment, Operator


@dataclass
class Missing:
    licence: LicenceRef
    needed: int
    in_use: int
    total: int


class NoFreeSeat(Refused):
    """An assignment refused for want of free seats. It leaves a `denial` event per licence type short
    (SPEC §6: reports count them, the clearest signal of what to buy), written although the assignment
    is not."""

    def __init__(self, account: Account, missing: list[Missing], user: str | None, *, actor: Actor,
                 now: datetime) -> None:
        first = missing[0]
        what = "; ".join(
            f"no free '{m.licence.code}' seat in account '{account.slug}' ({m.in_use} of {m.total} in use)"
            if m.needed == 1 else
            f"{m.needed} '{m.licence.code}' seats missing in account '{account.slug}' ({m.in_use} of {m.total} in use)"
            for m in missing
        )
        hint = f"Buy one: seatctl buy {account.slug} {first.licence.code} 1" if first.needed == 1 and len(missing) == 1 \
            else "Buy them: " + " && ".join(f"seatctl buy {account.slug} {m.licence.code} {m.needed}" for m in missing)
        super().__init__(what, hint)
        self.account_id = account.id
        self.missing = missing
        self.user = user
        self.events = [audit.row(at=now, operator=actor.name, action="denial", account_id=account.id,
                                 licence_id=m.licence.id, quantity=m.needed, licence=m.licence.code, user=user,
                                 in_use=m.in_use, total=m.total) for m in missing]


@dataclass
class AssignResult:
    account: str
    user: str | None
    assigned: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    bought: list[dict[str, object]] = field(default_factory=list)
    orders: list[dict[str, object]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # codes queued by --wait (SPEC §9)
    seated: list[str] = field(default_factory=list)  # "CODE to EMAIL": waiting requests given a freed seat
    note: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"account": self.account, "user": self.user, "assigned": self.assigned,
                                  "released": self.released, "unchanged": self.unchanged, "waiting": self.waiting}
        if self.bought:
            out["bought"] = self.bought
        if self.orders:
            out["orders"] = self.orders
        return out


def assign(session: Session, *, slug: str, pairs: list[tuple[str, str]], buy_missing: bool = False,
           wait: bool = False, actor: Actor, now: datetime, books: Books) -> AssignResult:
    """Give each (email, licence) a seat: all or nothing, unless `wait` queues the ones that find no
    free seat (their denials are recorded in this transaction). Returns one result for the batch."""
    actor.require("operator", "assign seats")
    account = for_write(session, slug, actor=actor, now=now, books=books, allow_closed=True)
    assert account.id is not None
    users: dict[str, Any] = {}
    licences: dict[str, LicenceRef] = {}
    todo: list[tuple[Any, LicenceRef]] = []
    result = AssignResult(slug, pairs[0][0] if len({e for e, _ in pairs}) == 1 else None)
    known = _users_by_email(session, account, {email.strip().lower() for email, _ in pairs})
    # Every name first (not found, 3), then the rules (4): SPEC §8's order of errors.
    for email, code in pairs:
        key = email.strip().lower()
        if key not in users:
            users[key] = known.get(key) or find_user(session, account, key)  # NotFound names the first unknown
        if code not in licences:
            licences[code] = catalogue.ref(session, code)
    require_open(account)
    if account.status == "suspended":
        raise Refused(f"account '{slug}' is suspended", f"Reactivate it first: seatctl account activate {slug}")
    for user in users.values():
        if user.status != "active":
            raise Refused(f"user '{user.email}' is inactive", f"Activate first: seatctl user activate {slug} {user.email}")
    held = _held(session, account, sorted({user.id for user in users.values()}))
    seen = set()
    for email, code in pairs:
        user, licence = users[email.strip().lower()], licences[code]
        if (user.id, licence.id) in held or (user.id, licence.id) in seen:
            result.unchanged.append(code)
            continue
        seen.add((user.id, licence.id))
        todo.append((user, licence))
    if account.mode == "peak":
        book = PriceBook(session)
        for licence in {lic.code: lic for _, lic in todo}.values():
            require_schedule(book, licence, account.cycle, now)
        _insert_assignments(session, account, [(u, lic, None) for u, lic in todo], now)
    else:
        need = Counter(lic.code for _, lic in todo)
        free: dict[str, list[int]] = {}
        missing = []
        for code, count in need.items():
            licence = licences[code]
            assert licence.id is not None
            free[code] = free_seat_ids(session, account.id, licence.id, count)
            if len(free[code]) < count:
                owned = owned_now(session, account.id, licence.id)
                missing.append(Missing(licence, count - len(free[code]), in_use_now(session, account.id, licence.id), owned))
        if missing and not buy_missing and not wait:
            raise NoFreeSeat(account, missing, result.user, actor=actor, now=now)
        if missing and buy_missing:
            if not actor.can("billing"):
                # An operator may only request: file pending orders, assign nothing (all or nothing),
                # or with --wait assign what finds a seat and queue the rest until the orders are approved.
                for m in missing:
                    p = buy(session, slug=slug, code=m.licence.code, quantity=m.needed, actor=actor, now=now, books=books)
                    result.orders.append(p.as_dict(books))
                approvers = ", ".join(_approvers(session)) or "an operator with the billing role"
                ids = ", ".join(str(o["order"]) for o in result.orders)
                result.note = (f"{NoFreeSeat(account, missing, result.user, actor=actor, now=now).what}; filed order {ids}. "
                               f"{approvers} can approve it: seatctl order approve {result.orders[0]['order']}")
                if not wait:
                    result.unchanged = []
                    return result
        if missing and wait and not (buy_missing and actor.can("billing")):
            todo = _queue_missing(session, account, todo, free, missing, result, actor=actor, now=now)
            missing = []
        if missing:  # --buy by a billing operator: the missing seats are bought in this transaction
            book = PriceBook(session)
            for m in missing:
                p = confirm_purchase(session, account, catalogue.find(session, m.licence.code), m.needed, now=now,
                                     books=books, book=book, actor=actor)
                result.bought.append(p.as_dict(books))
                assert m.licence.id is not None
                free[m.licence.code] = free_seat_ids(session, account.id, m.licence.id, need[m.licence.code])
        seats = {code: iter(ids) for code, ids in free.items()}  # each free seat once, oldest first
        _insert_assignments(session, account, [(user, licence, next(seats[licence.code])) for user, licence in todo],
                            now)
        if todo and buy_missing:  # a waiting user who got the seat bought for them leaves the queue
            waitlist.seated_directly(session, account, _open_ids(session, account, todo), now=now)
    result.assigned = [lic.code for _, lic in todo]
    audit.insert_rows(session, [
        audit.row(at=now, operator=actor.name, action="assign", account_id=account.id, licence_id=licence.id,
                  quantity=1, user=user.email, licence=licence.code)
        for user, licence in todo])
    return result


def _queue_missing(session: Session, account: Account, todo: list[tuple[Any, LicenceRef]], free: dict[str, list[int]],
                   missing: list[Missing], result: AssignResult, *, actor: Actor, now: datetime
                   ) -> list[tuple[Any, LicenceRef]]:
    """`--wait`: the pairs that find a free seat (in the order given) are kept; the others are queued,
    each refused assignment recorded as a denial. Returns the pairs to assign now."""
    left = {code: len(ids) for code, ids in free.items()}
    keep, queued = [], []
    for user, licence in todo:
        if left.get(licence.code, 0) > 0:
            left[licence.code] -= 1
            keep.append((user, licence))
        else:
            queued.append((user, licence))
    fresh = Counter(code for _, _, _, code in waitlist.queue(
        session, account, [(u.id, u.email, lic.id, lic.code) for u, lic in queued], source="assign", actor=actor,
        now=now))
    # A request already waiting keeps its place and is not refused again.
    audit.insert_rows(session, [
        audit.row(at=now, operator=actor.name, action="denial", account_id=account.id, licence_id=m.licence.id,
                  quantity=fresh[m.licence.code], licence=m.licence.code, user=result.user, in_use=m.in_use,
                  total=m.total, waiting=True)
        for m in missing if fresh[m.licence.code]])
    result.waiting = [lic.code for _, lic in queued]
    places = []
    for user, licence in queued[:3]:
        place = waitlist.position_of(session, account.id, licence.id, user.id)
        places.append(f"'{user.email}' waits for a '{licence.code}' seat (position {place})")
    more = f" and {len(queued) - 3} more" if len(queued) > 3 else ""
    waiting = "; ".join(places) + more
    result.note = (f"{result.note}; {waiting}" if result.note else
                   f"{waiting}: seated when a seat comes free or is bought. See: seatctl waitlist list --account "
                   f"{account.slug}")
    return keep


def _open_ids(session: Session, account: Account, pairs: list[tuple[Any, LicenceRef]]) -> dict[tuple[int, int], int]:
    wanted = {(user.id, licence.id) for user, licence in pairs}
    rows = session.exec(select(Assignment.id, Assignment.user_id, Assignment.licence_id).where(
        Assignment.account_id == account.id, col(Assignment.released_at).is_(None),
        col(Assignment.user_id).in_(sorted({u for u, _ in wanted})))).all()
    return {(u, lic): aid for aid, u, lic in rows if (u, lic) in wanted}


def _users_by_email(session: Session, account: Account, emails: set[str]) -> dict[str, Any]:
    """The account's users with these e-mails (id, email, status), read a few hundred at a time."""
    found: dict[str, Any] = {}
    wanted = sorted(emails)
    ex = Executor.of(session)
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        for uid, email, status in ex.rows(statements.users_by_email(len(chunk)),
                                          {"acct": account.id, **{f"email{j}": e for j, e in enumerate(chunk)}}):
            found[email] = SimpleNamespace(id=uid, email=email, status=status)
    return found


def _held(session: Session, account: Account, user_ids: list[int]) -> set[tuple[int, int]]:
    """The (user, licence) pairs these users already hold, read a few hundred users at a time."""
    held: set[tuple[int, int]] = set()
    ex = Executor.of(session)
    for i in range(0, len(user_ids), 500):
        chunk = user_ids[i:i + 500]
        held.update((u, lic) for u, lic in ex.rows(statements.held_by_users(len(chunk)),
                                                   {f"user{j}": u for j, u in enumerate(chunk)}))
    return held


def _approvers(session: Session) -> list[str]:
    return list(session.exec(select(Operator.name).where(col(Operator.role).in_(("billing", "owner")))
                             .order_by(Operator.name)).all())


def _insert_assignments(session: Session, account: Account, rows: list[tuple[Any, LicenceRef, int | None]],
                        now: datetime) -> None:
    values = [{"account_id": account.id, "licence_id": lic.id, "user_id": user.id, "seat_id": seat, "assigned_at": now}
              for user, lic, seat in rows]
    if len(values) <= audit.FEW:  # one user's: the fast executor
        Executor.of(session).many(statements.seats().assign, values)
    elif values:  # a CSV's: SQLAlchemy's multi-row inserts (fewer round trips on PostgreSQL)
        session.flush()
        session.connection().execute(Assignment.__table__.insert(), values)


def release(session: Session, *, slug: str, email: str, codes: list[str], actor: Actor, now: datetime,
            books: Books) -> AssignResult:
    actor.require("operator", "release seats")
    account = for_write(session, slug, actor=actor, now=now, books=books, allow_closed=True)
    user = user_ref(session, account, email)
    result = AssignResult(slug, user.email)
    licences = {code: catalogue.ref(session, code) for code in codes}
    require_open(account)  # after every name: not found (3) wins over a rule (4)
    released = _release(session, account, user, codes, now=now)
    result.released = released
    result.unchanged = [c for c in codes if c not in released]
    audit.insert_rows(session, [
        audit.row(at=now, operator=actor.name, action="release", account_id=account.id,
                  licence_id=licences[code].id, quantity=1, user=user.email, licence=code)
        for code in released])
    if released:  # the freed seats go to the waitlist, oldest request first
        result.seated = [f"{s.code} to {s.email}" for s in waitlist.seat_waiting(session, account, actor=actor, now=now)]
    return result


def _release(session: Session, account: Account, user: Any, codes: list[str] | None, *, now: datetime) -> list[str]:
    """End the user's open assignments of these licence codes (every one: None), by code; their codes."""
    ex = Executor.of(session)
    rows = [(aid, code) for aid, code in ex.rows(statements.seats().held_by, {"user": user.id})
            if codes is None or code in codes]
    if rows:
        ex.many(statements.seats().release, [{"id": aid, "at": now} for aid, _ in rows])
    return [code for _, code in rows]


def cancel_waiting(session: Session, *, slug: str, email: str, code: str, actor: Actor, now: datetime,
           books: Books) -> dict[str, object]:
    """`waitlist cancel ACCOUNT EMAIL CODE`: drop one waiting request."""
    actor.require("operator", "cancel waiting requests")
    account = for_write(session, slug, actor=actor, now=now, books=books, allow_closed=True)
    user = find_user(session, account, email)
    licence = catalogue.find(session, code)
    require_open(account)
    assert account.id is not None and user.id is not None and licence.id is not None
    requests = waitlist.open_requests(session, account.id, user_ids=[user.id], licence_ids=[licence.id])
    if not requests:
        raise NotFound(f"'{user.email}' is not waiting for a '{code}' seat in account '{slug}'",
                       f"See: seatctl waitlist list --account {slug}")
    waitlist.drop(session, account, requests, actor=actor, now=now, reason="cancelled", resolution="cancelled")
    return {"account": slug, "email": user.email, "licence": code, "status": "cancelled",
            "requested_at": requests[0].requested_at.isoformat(timespec="seconds") + "Z"}

"""`seatctl sync` (SPEC §9): make an account's users and seats match a directory export.

The plan is worked out from one read of the account (its users, open assignments, seat counts and
waiting requests: five statements, whatever the file's size) with set operations against the file,
then applied in the caller's transaction in bulk statements: users added, updated, reactivated and
deactivated, seats released, then assigned (the seats a sync frees go to its own assignments first,
then to the waitlist, oldest request first). A dry run stops after the plan, with the purchase quote.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, select, update
from sqlmodel import Session

from seatctl.errors import NotFound, Refused, SeatctlError
from seatctl.ops import waitlist
from seatctl.ops.catalogue import PriceBook, require_schedule
from seatctl.ops.orders import buy as request_purchase
from seatctl.ops.orders import confirm_purchase, quote_draft, quote_total
from seatctl.ops.waitlist import Request
from seatctl.ops.write import for_write, require_open
from seatctl.rules.books import Books
from seatctl.rules.directory import Export, default_role
from seatctl.rules.money import format_minor
from seatctl.rules.roles import Actor
from seatctl.store import audit
from seatctl.store.tables import (
    Account,
    Licence,
    app_user_table,
    assignment_table,
    licence_table,
    seat_table,
)

_U, _A, _S, _L = app_user_table.c, assignment_table.c, seat_table.c, licence_table.c
ACTIONS = ("user.add", "user.update", "user.activate", "user.deactivate", "release", "assign", "wait")
_ORDER = {action: i for i, action in enumerate(("user.add", "user.activate", "user.update", "user.deactivate",
                                                  "release", "assign", "wait"))}
CHUNK = 500  # ids per IN (...) list


@dataclass
class Change:
    email: str
    action: str  # one of ACTIONS
    licence: str | None = None
    detail: str = ""  # for people: a name change, "from the waitlist"

    def as_dict(self) -> dict[str, object]:
        return {"email": self.email, "action": self.action, "licence": self.licence}


@dataclass
class SyncResult:
    account: str
    dry_run: bool
    source: str
    sha256: str
    changes: list[Change] = field(default_factory=list)
    bought: list[dict[str, object]] = field(default_factory=list)
    unmanaged: int = 0
    unmapped: int = 0
    still_waiting: int = 0  # requests of listed users that keep waiting (not counted in `waiting`)
    lacking: dict[str, int] = field(default_factory=dict)  # licence code -> seats the file needs beyond the free ones
    quote_minor: int = 0  # what buying `lacking` costs now
    currency: str = "EUR"
    refusal: SeatctlError | None = None  # a dry run's refusal: printed with the plan, then its exit code

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def as_dict(self) -> dict[str, object]:
        return {
            "account": self.account, "dry_run": self.dry_run,
            "added": self.count("user.add"), "updated": self.count("user.update"),
            "reactivated": self.count("user.activate"), "deactivated": self.count("user.deactivate"),
            "assigned": self.count("assign"), "released": self.count("release"), "waiting": self.count("wait"),
            "unmanaged": self.unmanaged, "unmapped": self.unmapped, "bought": self.bought,
            "changes": [c.as_dict() for c in self.changes],
        }


class _User(NamedTuple):
    id: int
    email: str
    name: str | None
    role: str
    status: str


@dataclass
class _Own:
    """An assignment the file asks for: to an existing user (`user_id`) or a new one (by e-mail)."""

    email: str
    licence_id: int
    code: str
    user_id: int | None
    request: Request | None  # the user already waits for it: seated from the waitlist


@dataclass
class _Plan:
    adds: list[Any] = field(default_factory=list)  # Wanted rows
    updates: list[tuple[_User, str | None, str | None, str]] = field(default_factory=list)  # user, name, role, detail
    activate: list[_User] = field(default_factory=list)
    deactivate: list[_User] = field(default_factory=list)
    releases: list[tuple[_User, int, int]] = field(default_factory=list)  # user, licence id, assignment id
    drops: list[tuple[Request, str]] = field(default_factory=list)  # request, reason
    own: dict[int, list[_Own]] = field(default_factory=lambda: defaultdict(list))  # by licence, in seating order
    seated: dict[int, int] = field(default_factory=dict)  # licence -> how many of `own` get a seat
    queue_seated: list[Request] = field(default_factory=list)  # older requests given the seats left over
    unmanaged: int = 0
    emails: dict[int, str] = field(default_factory=dict)  # user id -> e-mail, every user of the account


def sync(session: Session, *, slug: str, export: Export, remove_missing: bool = False, buy: bool = False,
         wait: bool = False, dry_run: bool = False, actor: Actor, now: datetime, books: Books) -> SyncResult:
    """Plan and (unless `dry_run`) apply. Lacking seats without `buy` or `wait`: Refused (exit 4),
    raised, or for a dry run returned in `refusal` with the plan."""
    actor.require("operator", "sync users and seats")
    account = for_write(session, slug, actor=actor, now=now, books=books, lock=not dry_run, allow_closed=True)
    assert account.id is not None
    session.flush()
    conn = session.connection()
    licences: dict[str, tuple[int, str]] = {code: (lid, name) for lid, code, name in conn.execute(
        select(_L.id, _L.code, _L.name))}
    for code, row in sorted(export.code_rows.items(), key=lambda item: item[1]):
        if code not in licences:
            where = f"; or fix licence_map in profile '{export.profile}'" if export.profile else ""
            raise NotFound(f"row {row} of '{export.source}': no licence type '{code}'", f"See: seatctl licence list{where}")
    require_open(account)  # after every name: not found (3) wins over a rule (4)
    code_of = {lid: code for code, (lid, _) in licences.items()}
    users, held, waiting, free = _read(session, account)
    plan = _plan(export, users, held, waiting, free, code_of, licences, account, remove_missing)
    result = SyncResult(slug, dry_run, export.source, export.sha256, unmanaged=plan.unmanaged,
                        unmapped=export.unmapped, currency=books.currency)
    own_total = sum(len(v) for v in plan.own.values())
    if own_total and account.status == "suspended":
        raise Refused(f"account '{slug}' is suspended: the file gives {own_total} seat(s) its users do not hold",
                      f"Reactivate it first: seatctl account activate {slug}")
    if account.mode == "peak":
        book = PriceBook(session)
        for licence_id in plan.own:
            require_schedule(book, _licence(session, licence_id), account.cycle, now)
    lacking = {lid: len(plan.own[lid]) - plan.seated[lid] for lid in plan.own if len(plan.own[lid]) > plan.seated[lid]}
    result.lacking = {code_of[lid]: n for lid, n in sorted(lacking.items(), key=lambda item: code_of[item[0]])}
    quotes: dict[int, int] = {}
    if lacking:
        book = PriceBook(session)
        for lid, n in lacking.items():
            try:
                draft = quote_draft(session, account, _licence(session, lid), n, now=now, books=books, book=book)
            except Refused:  # no price for the account's cycle: it cannot be bought, but it can be waited for
                if buy:
                    raise
                quotes[lid] = 0
                continue
            quotes[lid] = quote_total(session, draft, account, books)
        result.quote_minor = sum(quotes.values())
    if lacking and not buy and not wait:
        parts = ", ".join(f"{n} '{code}'" for code, n in result.lacking.items())
        commands = " && ".join(f"seatctl buy {slug} {code} {n}" for code, n in result.lacking.items())
        money = f"{format_minor(result.quote_minor, books.digits)} {books.currency}"
        refusal = Refused(f"the file needs {parts} seat(s) more than account '{slug}' has free (buying them: {money})",
                          f"Buy them: {commands}; or run sync with --buy, or --wait to queue those assignments")
        if not dry_run:
            raise refusal
        result.refusal = refusal
    if dry_run:
        if lacking and (buy or not wait):
            result.bought = [{"licence": code_of[lid], "quantity": n, "order": None, "invoice": None,
                              "total": format_minor(quotes[lid], books.digits)}
                             for lid, n in sorted(lacking.items(), key=lambda item: code_of[item[0]])]
        # A refused plan lists every assignment the file asks for; `bought` says what they lack.
        all_seated = (buy and actor.can("billing")) or result.refusal is not None
        result.changes = _predicted(plan, all_seated, code_of)
        result.still_waiting = _still_waiting(plan, all_seated)
        return result
    _apply(session, account, plan, result, lacking, buy=buy, options={
        "remove_missing": remove_missing, "buy": buy, "wait": wait}, export=export, code_of=code_of, actor=actor,
        now=now, books=books)
    return result


def _licence(session: Session, licence_id: int) -> Licence:
    licence = session.get(Licence, licence_id)
    assert licence is not None
    return licence


def _plain_rows(conn: Connection, statement: Any) -> list[Any]:
    """Rows of integers and text as the driver returns them: SQLAlchemy's per-row processing costs
    more than the read itself for an account of 50,000 users (no column here needs a conversion)."""
    result = conn.execute(statement)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


def _read(session: Session, account: Account) -> tuple[dict[str, _User], dict[int, dict[int, int]],
                                                      dict[int, dict[int, Request]], Counter[int]]:
    """The account as the plan needs it: users by e-mail, their open assignments and waiting requests,
    and the free seats per licence."""
    conn = session.connection()
    make = _User._make
    users = {row[1]: make(row) for row in _plain_rows(
        conn, select(_U.id, _U.email, _U.name, _U.role, _U.status).where(_U.account_id == account.id))}
    held: dict[int, dict[int, int]] = defaultdict(dict)
    in_use: Counter[int] = Counter()
    for aid, uid, lid, seat in _plain_rows(conn, select(_A.id, _A.user_id, _A.licence_id, _A.seat_id).where(
            _A.account_id == account.id, _A.released_at.is_(None))):
        held[uid][lid] = aid
        if seat is not None:
            in_use[lid] += 1
    waiting: dict[int, dict[int, Request]] = defaultdict(dict)
    assert account.id is not None
    for request in waitlist.open_requests(session, account.id):
        waiting[request.user_id][request.licence_id] = request
    free: Counter[int] = Counter()
    if account.mode == "allocation":
        for lid, owned in conn.execute(select(_S.licence_id, func.count()).where(
                _S.account_id == account.id, _S.cancelled_at.is_(None)).group_by(_S.licence_id)):
            free[lid] = max(0, int(owned) - in_use[lid])
    return users, held, waiting, free


def _plan(export: Export, users: dict[str, _User], held: dict[int, dict[int, int]],
          waiting: dict[int, dict[int, Request]], free: Counter[int], code_of: dict[int, str],
          licences: dict[str, tuple[int, str]], account: Account, remove_missing: bool) -> _Plan:
    plan = _Plan()
    new_own: dict[int, list[_Own]] = defaultdict(list)  # in file order
    old_own: dict[int, list[_Own]] = defaultdict(list)  # users already waiting: oldest request first
    freed: Counter[int] = Counter()

    def leave(user: _User, reason: str) -> None:
        plan.deactivate.append(user)
        for lid, aid in held.get(user.id, {}).items():
            plan.releases.append((user, lid, aid))
            freed[lid] += 1
        plan.drops += [(r, reason) for r in waiting.get(user.id, {}).values()]

    for want in export.rows:
        user = users.get(want.email)
        wanted_ids = [licences[code][0] for code in want.licences]
        if user is None:
            plan.adds.append(want)
            if want.active and export.manages_licences:
                for lid in wanted_ids:
                    new_own[lid].append(_Own(want.email, lid, code_of[lid], None, None))
            continue
        name = want.name if want.name is not None and want.name != user.name else None
        role = want.role if want.role is not None and want.role != user.role else None
        if name is not None or role is not None:
            detail = "; ".join(part for part in (
                f"name {user.name or '(none)'!r} -> {name!r}" if name is not None else "",
                f"role {user.role} -> {role}" if role is not None else "") if part)
            plan.updates.append((user, name, role, detail))
        if not want.active:
            if user.status == "active":
                leave(user, "inactive in the directory")
            continue
        if user.status != "active":
            plan.activate.append(user)
        if not export.manages_licences:
            continue
        have = held.get(user.id, {})
        queued = waiting.get(user.id, {})
        wanted = set(wanted_ids)
        for lid in sorted(set(have) - wanted, key=code_of.__getitem__):
            plan.releases.append((user, lid, have[lid]))
            freed[lid] += 1
        for lid in wanted_ids:
            if lid not in have:
                request = queued.get(lid)
                (old_own if request else new_own)[lid].append(_Own(user.email, lid, code_of[lid], user.id, request))
        plan.drops += [(r, "not given by the directory") for lid, r in queued.items() if lid not in wanted]
    listed = {w.email for w in export.rows}
    for email, user in users.items():
        if email not in listed and user.status == "active":
            if remove_missing:
                leave(user, "not in the directory")
            else:
                plan.unmanaged += 1
    peak = account.mode == "peak"
    own_requests = set()
    for lid in set(new_own) | set(old_own):
        olds = sorted(old_own[lid], key=lambda o: o.request.id if o.request else 0)
        plan.own[lid] = olds + new_own[lid]
        own_requests |= {o.request.id for o in olds if o.request}
        plan.seated[lid] = len(plan.own[lid]) if peak else min(len(plan.own[lid]), free[lid] + freed[lid])
    if not peak and account.status in waitlist.SEATING_STATUSES:
        dropped = {r.id for r, _ in plan.drops}
        queue: dict[int, list[Request]] = defaultdict(list)
        for per_user in waiting.values():
            for request in per_user.values():
                if request.id not in dropped and request.id not in own_requests:
                    queue[request.licence_id].append(request)
        for lid, requests in queue.items():
            left = free[lid] + freed[lid] - plan.seated.get(lid, 0)
            if left > 0:
                plan.queue_seated += sorted(requests, key=lambda r: r.id)[:left]
    plan.emails = {u.id: u.email for u in users.values()}
    return plan


def _changes_before_seats(plan: _Plan, code_of: dict[int, str]) -> list[Change]:
    changes = [Change(w.email, "user.add", None, f"{w.name or ''} ({default_role(w.role)})".strip()
                      + ("" if w.active else ", inactive")) for w in plan.adds]
    changes += [Change(u.email, "user.update", None, detail) for u, _, _, detail in plan.updates]
    changes += [Change(u.email, "user.activate") for u in plan.activate]
    changes += [Change(u.email, "user.deactivate") for u in plan.deactivate]
    changes += [Change(u.email, "release", code_of[lid]) for u, lid, _ in plan.releases]
    return changes


def _sorted(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (c.email, _ORDER[c.action], c.licence or ""))


def _predicted(plan: _Plan, bought: bool, code_of: dict[int, str]) -> list[Change]:
    """The changes a run would make (a dry run's plan)."""
    changes = _changes_before_seats(plan, code_of)
    emails = plan.emails
    for lid, owns in plan.own.items():
        seated = len(owns) if bought else plan.seated[lid]
        for i, own in enumerate(owns):
            if i < seated:
                changes.append(Change(own.email, "assign", own.code, "from the waitlist" if own.request else ""))
            elif own.request is None:
                changes.append(Change(own.email, "wait", own.code))
    changes += [Change(emails[r.user_id], "assign", code_of[r.licence_id], "from the waitlist")
                for r in plan.queue_seated]
    return _sorted(changes)


def _still_waiting(plan: _Plan, bought: bool) -> int:
    if bought:
        return 0
    return sum(1 for lid, owns in plan.own.items() for own in owns[plan.seated[lid]:] if own.request is not None)


def _apply(session: Session, account: Account, plan: _Plan, result: SyncResult, lacking: dict[int, int], *,
           buy: bool, options: dict[str, bool], export: Export, code_of: dict[int, str], actor: Actor,
           now: datetime, books: Books) -> None:
    assert account.id is not None
    conn = session.connection()
    events: list[dict[str, Any]] = []

    def event(action: str, **details: Any) -> None:
        events.append(audit.row(at=now, operator=actor.name, action=action, account_id=account.id, **details))

    changes = _changes_before_seats(plan, code_of)
    # Users: added, updated, reactivated, deactivated.
    new_ids: dict[str, int] = {}
    if plan.adds:
        conn.execute(app_user_table.insert(), [
            {"account_id": account.id, "email": w.email, "name": w.name, "role": default_role(w.role),
             "status": "active" if w.active else "inactive", "created_at": now} for w in plan.adds])
        fresh = {w.email for w in plan.adds}
        new_ids = {email: uid for uid, email in conn.execute(select(_U.id, _U.email).where(
            _U.account_id == account.id, _U.created_at == now)) if email in fresh}
        emails = [w.email for w in plan.adds]
        event("user.add", quantity=len(emails), users=emails, count=len(emails), sync=True)  # every address
    if plan.updates:
        conn.execute(update(app_user_table).where(_U.id == bindparam("uid")).values(
            name=bindparam("v_name"), role=bindparam("v_role")),
            [{"uid": u.id, "v_name": name if name is not None else u.name, "v_role": role or u.role}
             for u, name, role, _ in plan.updates])
        for u, name, role, _ in plan.updates:
            details = {k: v for k, v in (("name", name), ("role", role)) if v is not None}
            event("user.update", user=u.email, sync=True, **details)
    status = [(u.id, "active") for u in plan.activate] + [(u.id, "inactive") for u in plan.deactivate]
    if status:
        conn.execute(update(app_user_table).where(_U.id == bindparam("uid")).values(status=bindparam("v_status")),
                     [{"uid": uid, "v_status": value} for uid, value in status])
    # Seats: releases first (a reshuffle needs no extra seat), then the waiting requests dropped.
    release_ids = [aid for _, _, aid in plan.releases]
    for i in range(0, len(release_ids), CHUNK):
        conn.execute(update(assignment_table).where(_A.id.in_(release_ids[i:i + CHUNK])).values(released_at=now))
    leaving = {u.id for u in plan.deactivate}
    released_by: dict[int, list[str]] = defaultdict(list)
    for u, lid, _ in plan.releases:
        if u.id in leaving:
            released_by[u.id].append(code_of[lid])
        else:
            event("release", licence_id=lid, quantity=1, user=u.email, licence=code_of[lid], sync=True)
    for u in plan.activate:
        event("user.activate", user=u.email, sync=True)
    for u in plan.deactivate:
        event("user.deactivate", user=u.email, released=sorted(released_by[u.id]), sync=True)
    by_reason: dict[str, list[Request]] = defaultdict(list)
    for request, reason in plan.drops:
        by_reason[reason].append(request)
    audit.insert_rows(session, events)
    events.clear()
    for reason, requests in by_reason.items():
        waitlist.drop(session, account, requests, actor=actor, now=now, reason=reason)
    # Seats the file lacks: bought (billing), requested (operator: the assignments wait) or waited for.
    billing = buy and actor.can("billing")
    for lid, n in sorted(lacking.items(), key=lambda item: code_of[item[0]]) if buy else []:
        if billing:
            p = confirm_purchase(session, account, _licence(session, lid), n, now=now, books=books,
                                 book=PriceBook(session), actor=actor)
        else:
            p = request_purchase(session, slug=account.slug, code=code_of[lid], quantity=n, actor=actor, now=now,
                                 books=books)
        data = p.as_dict(books)
        result.bought.append({k: data[k] for k in ("licence", "quantity", "order", "invoice", "total")})
    # Assignments: the sync's own first, in seating order; what finds no seat waits.
    seats = _free_seats(session, account, set(plan.own)) if account.mode == "allocation" else {}
    give: list[tuple[int, int, int | None]] = []
    given: list[_Own] = []
    waits: list[_Own] = []
    for lid, owns in plan.own.items():
        pool = iter(seats.get(lid, []))
        for own in owns:
            seat = next(pool, None) if account.mode == "allocation" else None
            if account.mode == "allocation" and seat is None:
                if own.request is None:
                    waits.append(own)
                else:
                    result.still_waiting += 1
                continue
            uid = own.user_id if own.user_id is not None else new_ids[own.email]
            give.append((uid, lid, seat))
            given.append(own)
    ids = waitlist.insert_assignments(session, account.id, give, now)
    waitlist.resolve(session, [(o.request.id, "seated", ids[(o.request.user_id, o.licence_id)])
                               for o in given if o.request is not None], now)
    for own in given:
        event("assign", licence_id=own.licence_id, quantity=1, user=own.email, licence=own.code, sync=True,
              **({"from_waitlist": True} if own.request else {}))
        changes.append(Change(own.email, "assign", own.code, "from the waitlist" if own.request else ""))
    audit.insert_rows(session, events)
    events.clear()
    if waits:
        queued = waitlist.queue(session, account, [
            (own.user_id if own.user_id is not None else new_ids[own.email], own.email, own.licence_id, own.code)
            for own in waits], source="sync", actor=actor, now=now)
        per_licence = Counter(lid for _, _, lid, _ in queued)
        for lid, n in sorted(per_licence.items(), key=lambda item: code_of[item[0]]):
            event("denial", licence_id=lid, quantity=n, licence=code_of[lid], user=None, sync=True, waiting=True)
        changes += [Change(email, "wait", code) for _, email, _, code in queued]
    # Seats freed beyond the sync's own needs go to the waitlist, oldest request first.
    for seated in waitlist.seat_waiting(session, account, actor=actor, now=now):
        changes.append(Change(seated.email, "assign", seated.code, "from the waitlist"))
    result.changes = _sorted(changes)
    if result.changes or result.bought:
        counts = {k: v for k, v in result.as_dict().items() if isinstance(v, int) and not isinstance(v, bool)}
        event("sync", file=export.source, sha256=export.sha256, profile=export.profile, rows=len(export.rows),
              **counts, bought=result.bought, **options)
    audit.insert_rows(session, events)


def _free_seats(session: Session, account: Account, licence_ids: set[int]) -> dict[int, list[int]]:
    """Free seats per licence, oldest first, after this transaction's releases (one statement)."""
    if not licence_ids:
        return {}
    held = select(_A.seat_id).where(_A.account_id == account.id, _A.released_at.is_(None), _A.seat_id.is_not(None))
    out: dict[int, list[int]] = defaultdict(list)
    for sid, lid in session.connection().execute(select(_S.id, _S.licence_id).where(
            _S.account_id == account.id, _S.cancelled_at.is_(None), _S.licence_id.in_(sorted(licence_ids)),
            _S.id.not_in(held)).order_by(_S.id)):
        out[lid].append(sid)
    return out

"""`seatctl doctor`: the database's own checks and every invariant of SPEC §7, one row each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exc, text
from sqlmodel import Session

from seatctl.store.tables import APPEND_ONLY_TABLES


@dataclass
class Check:
    check: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class _Query:
    """A check's query, run by the check (so a damaged page fails that check only)."""

    session: Session
    sql: str
    limit: int = 5

    def __call__(self) -> list[tuple]:
        return [tuple(r) for r in self.session.execute(text(self.sql + f" LIMIT {self.limit}")).all()]


def _rows(session: Session, sql: str, limit: int = 5) -> _Query:
    return _Query(session, sql, limit)


def _violations(name: str, query: _Query, describe: Callable[[tuple], str], ok: str) -> Check:
    return _guarded(name, query.session, lambda: _verdict(name, query(), describe, ok))


def _verdict(name: str, rows: list[tuple], describe: Callable[[tuple], str], ok: str) -> Check:
    if not rows:
        return Check(name, "ok", ok)
    shown = "; ".join(describe(r) for r in rows[:5])
    return Check(name, "FAIL", shown + (" …" if len(rows) >= 5 else ""))


DAMAGED_DETAIL = "the ledger file is damaged ({}): restore a backup"


def damaged(message: str) -> list[Check]:
    """What doctor reports when the file is too damaged to read even who is asking."""
    return [Check("integrity", "FAIL", DAMAGED_DETAIL.format(message))]


def _integrity(session: Session, dialect: str) -> list[Check]:
    if dialect != "sqlite":
        return [Check("integrity", "ok", f"left to {dialect} itself"),
                Check("foreign_key_check", "ok", f"enforced by {dialect}")]
    try:
        result = [r[0] for r in session.execute(text("PRAGMA integrity_check")).all()]
    except exc.DBAPIError as err:  # a page so damaged that the check itself stops
        return damaged(_first_line(err))
    checks = [Check("integrity", "ok" if result == ["ok"] else "FAIL",
                    "; ".join(result[:5]) if result != ["ok"] else "the file's pages and indexes are sound")]
    checks.append(_guarded("foreign_key_check", session, lambda: _foreign_keys(session)))
    return checks


def _foreign_keys(session: Session) -> Check:
    fks = session.execute(text("PRAGMA foreign_key_check")).all()
    return Check("foreign_key_check", "FAIL" if fks else "ok",
                 "; ".join(f"{r[0]} row {r[1]} → {r[2]}" for r in fks[:5]) or "no dangling references")


def _first_line(err: exc.DBAPIError) -> str:
    return str(err.orig).strip().splitlines()[0] if str(err.orig).strip() else type(err.orig).__name__


def _guarded(name: str, session: Session, check: Callable[[], Check]) -> Check:
    """A check that cannot read what it checks (a damaged page) fails, and the others still run."""
    try:
        return check()
    except exc.DBAPIError as err:
        session.rollback()  # PostgreSQL refuses every statement after an error until the transaction ends
        return Check(name, "FAIL", f"cannot be checked: {_first_line(err)}")


def _append_only(session: Session, dialect: str) -> Check:
    if dialect == "sqlite":
        names = {r[0] for r in session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    else:
        names = {r[0] for r in session.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
    missing = [f"trg_{t}_no_{v}" for t in APPEND_ONLY_TABLES for v in ("update", "delete")
               if f"trg_{t}_no_{v}" not in names]
    return Check("append_only", "FAIL" if missing else "ok",
                 f"missing triggers: {', '.join(missing)}" if missing else "invoices, lines and events refuse edits")


def run_checks(session: Session) -> list[Check]:
    dialect = session.get_bind().dialect.name
    checks = _integrity(session, dialect)
    checks.append(_violations("seat_owned_while_held", _rows(session, """
        SELECT a.id, s.id FROM assignment a JOIN seat s ON s.id = a.seat_id
        WHERE s.bought_at > a.assigned_at
           OR (s.cancelled_at IS NOT NULL AND (a.released_at IS NULL OR a.released_at > s.cancelled_at))"""),
        lambda r: f"assignment {r[0]} holds seat {r[1]} outside its ownership", "in use ≤ owned at every instant"))
    checks.append(_violations("one_holder_per_seat", _rows(session, """
        SELECT a.seat_id, a.id, b.id FROM assignment a JOIN assignment b
          ON a.seat_id = b.seat_id AND a.id < b.id
        WHERE a.assigned_at < COALESCE(b.released_at, '9999-12-31')
          AND b.assigned_at < COALESCE(a.released_at, '9999-12-31')"""),
        lambda r: f"seat {r[0]} held by assignments {r[1]} and {r[2]} at once", "no seat held twice"))
    checks.append(_violations("one_seat_per_user_licence", _rows(session, """
        SELECT a.user_id, a.licence_id FROM assignment a JOIN assignment b
          ON a.user_id = b.user_id AND a.licence_id = b.licence_id AND a.id < b.id
        WHERE a.assigned_at < COALESCE(b.released_at, '9999-12-31')
          AND b.assigned_at < COALESCE(a.released_at, '9999-12-31')"""),
        lambda r: f"user {r[0]} held licence {r[1]} twice at once", "no user holds a licence twice"))
    checks.append(_violations("minimums_held", _rows(session, """
        SELECT ac.slug, l.code, m.quantity, COUNT(s.id) FROM minimum m
        JOIN account ac ON ac.id = m.account_id JOIN licence l ON l.id = m.licence_id
        LEFT JOIN seat s ON s.account_id = m.account_id AND s.licence_id = m.licence_id AND s.cancelled_at IS NULL
        WHERE ac.mode = 'allocation' AND ac.closed_at IS NULL
        GROUP BY ac.slug, l.code, m.quantity HAVING COUNT(s.id) < m.quantity"""),
        lambda r: f"'{r[0]}' owns {r[3]} '{r[1]}' seats, minimum {r[2]}", "every allocation account holds its minimums"))
    checks.append(_violations("one_close_per_period", _rows(session, """
        SELECT a.account_id, a.period_start FROM closed_period a JOIN closed_period b
          ON a.account_id = b.account_id AND a.id < b.id
        WHERE a.period_start < b.period_end AND b.period_start < a.period_end"""),
        lambda r: f"account {r[0]} period {r[1]} closed twice", "no account period closed twice"))
    checks.append(_violations("one_invoice_per_period", _rows(session, """
        SELECT account_id, period_start, COUNT(*) FROM invoice WHERE kind IN ('renewal', 'usage')
        GROUP BY account_id, period_start, kind HAVING COUNT(*) > 1"""),
        lambda r: f"account {r[0]} has {r[2]} invoices for {r[1]}", "at most one renewal or usage invoice per period"))
    checks.append(_violations("gapless_numbers", _rows(session, """
        SELECT i.series, i.year, COUNT(*), MAX(i.seq), MIN(i.seq), MAX(c.last) FROM invoice i
        LEFT JOIN invoice_counter c ON c.series = i.series AND c.year = i.year
        GROUP BY i.series, i.year
        HAVING COUNT(*) <> MAX(i.seq) OR MIN(i.seq) <> 1 OR MAX(c.last) IS NULL OR MAX(c.last) <> MAX(i.seq)"""),
        lambda r: f"{r[0]}{r[1]}: {r[2]} invoices, numbers {r[4]}..{r[3]}, counter {r[5]}",
        "invoice numbers run 1, 2, 3… per series and year"))
    checks.append(_violations("totals_match_lines", _rows(session, """
        SELECT i.number, i.total_minor, COALESCE(SUM(l.amount_minor), 0) FROM invoice i
        LEFT JOIN invoice_line l ON l.invoice_id = i.id
        GROUP BY i.id, i.number, i.total_minor, i.subtotal_minor, i.tax_minor
        HAVING i.total_minor <> COALESCE(SUM(l.amount_minor), 0) OR i.total_minor <> i.subtotal_minor + i.tax_minor"""),
        lambda r: f"{r[0]} total {r[1]} but lines sum to {r[2]}", "each total is the sum of its lines"))
    checks.append(_violations("no_free_seat_while_waiting", _rows(session, """
        SELECT ac.slug, l.code, w.n, f.n FROM
          (SELECT account_id, licence_id, COUNT(*) AS n FROM waitlist WHERE resolved_at IS NULL
           GROUP BY account_id, licence_id) w
        JOIN (SELECT s.account_id, s.licence_id, COUNT(*) AS n FROM seat s
              WHERE s.cancelled_at IS NULL AND NOT EXISTS (
                SELECT 1 FROM assignment a WHERE a.seat_id = s.id AND a.released_at IS NULL)
              GROUP BY s.account_id, s.licence_id) f
          ON f.account_id = w.account_id AND f.licence_id = w.licence_id
        JOIN account ac ON ac.id = w.account_id JOIN licence l ON l.id = w.licence_id
        WHERE ac.status IN ('trial', 'active') AND ac.mode = 'allocation'
        ORDER BY ac.slug, l.code"""),
        lambda r: f"'{r[0]}' has {r[3]} free '{r[1]}' seat(s) and {r[2]} waiting request(s)",
        "no free seat while a request of its licence waits (trial and active accounts)"))
    checks.append(_violations("waiting_requests_valid", _rows(session, """
        SELECT ac.slug, u.email, l.code, CASE WHEN ac.status = 'closed' THEN 'the account is closed'
               WHEN u.status <> 'active' THEN 'the user is inactive'
               WHEN u.account_id <> w.account_id THEN 'the user is in another account' ELSE 'the user holds it' END
        FROM waitlist w JOIN account ac ON ac.id = w.account_id JOIN app_user u ON u.id = w.user_id
        JOIN licence l ON l.id = w.licence_id
        WHERE w.resolved_at IS NULL AND (ac.status = 'closed' OR u.status <> 'active' OR u.account_id <> w.account_id
          OR EXISTS (SELECT 1 FROM assignment a WHERE a.user_id = w.user_id AND a.licence_id = w.licence_id
                     AND a.released_at IS NULL))
        ORDER BY ac.slug, u.email, l.code"""),
        lambda r: f"'{r[1]}' waits for '{r[2]}' in '{r[0]}' but {r[3]}",
        "every waiting request is an active user's, in an open account, for a licence they do not hold"))
    checks.append(_guarded("time_runs_forward", session, lambda: _time_runs_forward(session, dialect)))
    checks.append(_guarded("every_change_has_event", session, lambda: _every_change_has_event(session)))
    checks.append(_guarded("grants", session, lambda: _grants(session, dialect)))
    checks.append(_guarded("append_only", session, lambda: _append_only(session, dialect)))
    return checks


def _every_change_has_event(session: Session) -> Check:
    pairs = [
        ("invoices", "SELECT COUNT(*) FROM invoice WHERE kind <> 'credit'", "invoice.issue"),
        ("credit notes", "SELECT COUNT(*) FROM invoice WHERE kind = 'credit'", "invoice.void"),
        ("closed periods", "SELECT COUNT(*) FROM closed_period", "cycle.close"),
        ("purchases", "SELECT COUNT(*) FROM purchase_order WHERE status = 'confirmed'", "buy"),
        ("assignments", "SELECT COUNT(*) FROM assignment", "assign"),
    ]
    counts = {a: n for a, n in session.execute(text("SELECT action, COUNT(*) FROM event GROUP BY action")).all()}
    problems = []
    for what, sql, action in pairs:
        rows = int(session.execute(text(sql)).scalar() or 0)
        if rows != counts.get(action, 0):
            problems.append(f"{rows} {what} but {counts.get(action, 0)} '{action}' events")
    return Check("every_change_has_event", "FAIL" if problems else "ok",
                 "; ".join(problems) or "invoices, closes, purchases and assignments all have their events")


def _time_runs_forward(session: Session, dialect: str) -> Check:
    """Events in the order they were written (id), and invoices in number order per series, never go
    back in time (SPEC §8). SQLite writes one transaction at a time, so any step back is a fault. On
    PostgreSQL, writes to different accounts run side by side and take their ids and numbers in commit
    order, so a step back within the clock skew tolerance (`clock.SKEW`) is allowed there."""
    from sqlalchemy import DateTime, func, select

    from seatctl.clock import SKEW, instant_text
    from seatctl.store.tables import event_table, invoice_table

    tolerance = timedelta(0) if dialect == "sqlite" else SKEW
    e, i = event_table.c, invoice_table.c
    ev = select(e.id, e.at, func.lag(e.at, type_=DateTime).over(order_by=e.id).label("before")).subquery()
    inv = select(i.number, i.issued_at, func.lag(i.issued_at, type_=DateTime).over(
        partition_by=i.series, order_by=(i.year, i.seq)).label("before"),
        func.lag(i.number).over(partition_by=i.series, order_by=(i.year, i.seq)).label("previous")).subquery()
    problems = [f"event {n} at {instant_text(at)} follows one at {instant_text(before)}"
                for n, at, before in session.execute(select(ev).where(ev.c.at < ev.c.before).order_by(ev.c.id))
                if before - at > tolerance][:3]
    problems += [f"{n} issued {instant_text(at)}, before {previous} ({instant_text(before)})"
                 for n, at, before, previous in session.execute(
                     select(inv).where(inv.c.issued_at < inv.c.before).order_by(inv.c.number))
                 if before - at > tolerance][:3]
    return Check("time_runs_forward", "FAIL" if problems else "ok",
                 "; ".join(problems) or "events and invoice issue times never go back in time")


def _grants(session: Session, dialect: str) -> Check:
    """PostgreSQL: every registered operator's database role holds exactly the rights of its seatctl
    role (SPEC §6), and PUBLIC none. SQLite has no grants: the file's permissions are the boundary."""
    if dialect != "postgresql":
        return Check("grants", "ok", "none on SQLite: the file's permissions are the boundary")
    from seatctl.ops.operators import grant_drift

    problems = grant_drift(session)
    return Check("grants", "FAIL" if problems else "ok",
                 "; ".join(problems) + ". Give them again: seatctl init" if problems
                 else "every operator's database role holds exactly what its seatctl role needs")

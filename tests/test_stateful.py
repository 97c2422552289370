"""A Hypothesis state machine drives the domain API (buy, assign, release, deactivate, minimums, the
clock, cycle close) on a fresh SQLite ledger per example, against a small model of each seat pool;
after every step the ledger matches the model and keeps the invariants of SPEC §7."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import text
from support import copy_ledger

from seatctl.errors import Refused
from seatctl.ops import accounts, catalogue, orders, seats, users
from seatctl.ops.context import load_books
from seatctl.ops.cycles import close_all
from seatctl.ops.doctor import run_checks
from seatctl.ops.ledger import init_ledger
from seatctl.rules.emails import UserRow
from seatctl.rules.pricing import build
from seatctl.rules.roles import Actor
from seatctl.store import engine as db

START = datetime(2026, 11, 1, 9, 0, 0)  # naive UTC, like every timestamp in the ledger
CODES = ("base", "voip")
USERS = tuple(f"u{i}@example.com" for i in range(5))
OWNER = Actor("alice", "owner")
CRON = Actor("cron", "billing")
OPERATOR = Actor("olivia", "operator")


def build_template(folder: Path) -> Path:
    """A ledger with two licence types and an operator per role, built once and copied per example."""
    path = folder / "template.db"
    init_ledger(db.Location(str(path)), currency="EUR", timezone="UTC", operator="alice", busy_timeout=10.0,
                now=START)
    engine = db.open_ledger(db.Location(str(path)))
    try:
        with db.write(engine) as session:
            from seatctl.ops.operators import add_operator

            add_operator(session, name="cron", role="billing", actor=OWNER, now=START)
            add_operator(session, name="olivia", role="operator", actor=OWNER, now=START)
            for code, price in (("base", "30.00"), ("voip", "5.35")):
                catalogue.add_licence(session, code=code, name=code.title(),
                                      prices=[catalogue.PriceInput("monthly", build(price, None, None, None))],
                                      actor=OWNER, now=START)
    finally:
        engine.dispose()
    return path


class Pool:
    """The model of one licence's seat pool in the account."""

    def __init__(self) -> None:
        self.owned = 0
        self.holders: set[str] = set()
        self.minimum = 0
        self.pending_minimum: int | None = None

    def copy(self) -> Pool:
        other = Pool()
        other.owned, other.holders = self.owned, set(self.holders)
        other.minimum, other.pending_minimum = self.minimum, self.pending_minimum
        return other

    @property
    def free(self) -> int:
        return self.owned - len(self.holders)


class SeatLedger(RuleBasedStateMachine):
    template: Path
    workdir: Path

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(dir=self.workdir))
        path = self.folder / "ledger.db"
        copy_ledger(self.template, path)
        self.engine = db.open_ledger(db.Location(str(path)))
        self.now = START
        self.pools = {code: Pool() for code in CODES}
        self.active = dict.fromkeys(USERS, True)
        with db.write(self.engine) as session:
            books = load_books(session)
            accounts.add_account(session, slug="acme", name="Acme", actor=CRON, now=self.now, books=books)
            users.add_users(session, slug="acme", rows=[UserRow(u, None, "member") for u in USERS],
                             actor=OPERATOR, now=self.now, books=books)

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- the model's view of the automatic close ------------------------------------------------

    def _period_ended(self) -> bool:
        with db.read(self.engine) as session:
            end_at = session.execute(text("SELECT period_end_at FROM account WHERE slug = 'acme'")).scalar_one()
        return datetime.fromisoformat(str(end_at)) <= self.now

    def _after_close(self) -> dict[str, Pool]:
        """The pools once every ended period is closed: pending minimums apply, then free seats
        above max(in use at the period end, minimum) are cancelled."""
        pools = {code: pool.copy() for code, pool in self.pools.items()}
        if self._period_ended():
            for pool in pools.values():
                if pool.pending_minimum is not None:
                    pool.minimum, pool.pending_minimum = pool.pending_minimum, None
                pool.owned = min(pool.owned, max(len(pool.holders), pool.minimum))
        return pools

    def _write(self, fn, actor: Actor = CRON):  # type: ignore[no-untyped-def]
        with db.write(self.engine) as session:
            return fn(session, actor, load_books(session))

    # --- rules --------------------------------------------------------------------------------

    @rule(code=st.sampled_from(CODES), quantity=st.integers(1, 3))
    def buy(self, code: str, quantity: int) -> None:
        pools = self._after_close()
        purchase = self._write(lambda s, a, b: orders.buy(s, slug="acme", code=code, quantity=quantity, actor=a,
                                                           now=self.now, books=b))
        assert purchase.status == "confirmed"
        pools[code].owned += quantity
        self.pools = pools

    @rule(user=st.sampled_from(USERS), code=st.sampled_from(CODES), buy_missing=st.booleans())
    def assign(self, user: str, code: str, buy_missing: bool) -> None:
        pools = self._after_close()
        pool = pools[code]
        try:
            result = self._write(lambda s, a, b: seats.assign(s, slug="acme", pairs=[(user, code)],
                                                                buy_missing=buy_missing, actor=a, now=self.now,
                                                                books=b))
        except Refused as err:
            assert not self.active[user] or (pool.free == 0 and not buy_missing and user not in pool.holders), \
                f"refused: {err}"
            return  # the whole transaction, close included, rolled back
        assert self.active[user], "an inactive user got a seat"
        if user in pool.holders:
            assert (result.assigned, result.unchanged) == ([], [code])
        else:
            assert result.assigned == [code]
            if pool.free == 0:
                assert buy_missing, "assigned without a free seat"
                pool.owned += 1
            pool.holders.add(user)
        self.pools = pools

    @rule(user=st.sampled_from(USERS), code=st.sampled_from(CODES))
    def release(self, user: str, code: str) -> None:
        pools = self._after_close()
        result = self._write(lambda s, a, b: seats.release(s, slug="acme", email=user, codes=[code], actor=a,
                                                             now=self.now, books=b), OPERATOR)
        assert result.released == ([code] if user in pools[code].holders else [])
        pools[code].holders.discard(user)
        self.pools = pools

    @rule(user=st.sampled_from(USERS), active=st.booleans())
    def set_user_status(self, user: str, active: bool) -> None:
        pools = self._after_close()
        [row] = self._write(lambda s, a, b: users.set_user_status(s, slug="acme", emails=[user], active=active,
                                                                    actor=a, now=self.now, books=b), OPERATOR)
        assert row["status"] == ("active" if active else "inactive")
        if not active:
            assert sorted(row["released"]) == sorted(c for c in CODES if user in pools[c].holders)
            for pool in pools.values():
                pool.holders.discard(user)
        self.active[user] = active
        self.pools = pools

    @rule(code=st.sampled_from(CODES), minimum=st.integers(0, 4))
    def set_minimum(self, code: str, minimum: int) -> None:
        pools = self._after_close()
        self._write(lambda s, a, b: accounts.set_minimums(s, slug="acme", minimums={code: minimum}, actor=a,
                                                         now=self.now, books=b))
        pool = pools[code]
        if minimum >= pool.minimum:  # raising buys the missing seats at once
            pool.minimum, pool.pending_minimum = minimum, None
            pool.owned = max(pool.owned, minimum)
        else:  # lowering waits for the next close
            pool.pending_minimum = minimum
        self.pools = pools

    @rule(days=st.integers(1, 40), hours=st.integers(0, 23))
    def advance_clock(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    @precondition(lambda self: self.now > START)
    @rule()
    def close_cycles(self) -> None:
        pools = self._after_close()
        ended = self._period_ended()
        with db.read(self.engine) as session:
            books = load_books(session)
        rows = close_all(self.engine, now=self.now, books=books, actor=CRON)
        assert bool(rows) == ended
        self.pools = pools

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def ledger_matches_the_model_and_keeps_the_invariants(self) -> None:
        with db.read(self.engine) as session:
            owned = dict(session.execute(text(
                "SELECT l.code, COUNT(s.id) FROM licence l LEFT JOIN seat s ON s.licence_id = l.id "
                "AND s.cancelled_at IS NULL GROUP BY l.code")).all())
            held = set(session.execute(text(
                "SELECT u.email, l.code FROM assignment a JOIN app_user u ON u.id = a.user_id "
                "JOIN licence l ON l.id = a.licence_id WHERE a.released_at IS NULL")).all())
            minimums = dict(session.execute(text(
                "SELECT l.code, m.quantity FROM minimum m JOIN licence l ON l.id = m.licence_id")).all())
            twice = session.execute(text(
                "SELECT seat_id FROM assignment WHERE released_at IS NULL AND seat_id IS NOT NULL "
                "GROUP BY seat_id HAVING COUNT(*) > 1")).all()
            statuses = dict(session.execute(text("SELECT email, status FROM app_user")).all())
            checks = run_checks(session)
        for code, pool in self.pools.items():
            in_use = sum(1 for _, c in held if c == code)
            assert in_use <= owned[code], (code, in_use, owned[code])
            assert owned[code] >= minimums.get(code, 0), (code, owned[code], minimums.get(code))
            assert (owned[code], in_use) == (pool.owned, len(pool.holders)), (code, owned[code], in_use)
            assert minimums.get(code, 0) == pool.minimum, code
        assert held == {(u, c) for c, pool in self.pools.items() for u in pool.holders}
        assert twice == []
        assert statuses == {u: "active" if a else "inactive" for u, a in self.active.items()}
        assert [c.as_dict() for c in checks if c.status != "ok"] == []


def test_the_ledger_keeps_its_invariants_under_random_operations(tmp_path_factory):
    SeatLedger.template = build_template(tmp_path_factory.mktemp("stateful-template"))
    SeatLedger.workdir = tmp_path_factory.mktemp("stateful")
    run_state_machine_as_test(SeatLedger, settings=settings(
        max_examples=25, stateful_step_count=20, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], database=None,
    ))

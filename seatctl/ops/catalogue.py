"""Licence types and their price versions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session, col, select

from seatctl.errors import NotFound, Refused, UsageError
from seatctl.rules import bounds
from seatctl.rules.money import price_text
from seatctl.rules.names import clean_name
from seatctl.rules.periods import CYCLES
from seatctl.rules.pricing import Schedule, build, format_tiers, is_plain_tiers, read_tiers
from seatctl.rules.roles import Actor
from seatctl.store import audit, statements
from seatctl.store.executor import Executor
from seatctl.store.tables import Licence, LicencePrice, Meter

CODE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def check_code(code: str, what: str = "licence code") -> str:
    if not CODE.match(code):
        raise UsageError(f"{what} '{code}' is not valid", "Use lower-case letters, digits, '-' or '_'")
    return code


def find(session: Session, code: str) -> Licence:
    licence = session.exec(select(Licence).where(Licence.code == code)).first()
    if licence is None:
        raise _no_licence(code)
    return licence


@dataclass(frozen=True)
class LicenceRef:
    """A licence type's id and code: what assign and release need of it."""

    id: int
    code: str


def ref(session: Session, code: str) -> LicenceRef:
    """`find` for a command that only needs the id and code, read with one Core statement on the fast
    executor (the ORM load costs ~0.2 ms, a fair share of an assignment in a batch)."""
    row = Executor.of(session).first(statements.seats().licence, {"code": code})
    if row is None:
        raise _no_licence(code)
    return LicenceRef(int(row[0]), row[1])


def _no_licence(code: str) -> NotFound:
    return NotFound(f"no licence type '{code}'", "See: seatctl licence list")


def schedule_of(row: LicencePrice) -> Schedule:
    return Schedule(read_tiers(row.tiers), row.tier_mode, row.block)


class PriceBook:
    """Price versions loaded once per command: the latest set at or before an instant wins;
    before the first version, the first one applies (a licence prices periods that began
    before it was added)."""

    def __init__(self, session: Session) -> None:
        self._versions: dict[tuple[int, str], list[LicencePrice]] = {}
        for row in session.exec(select(LicencePrice).order_by(col(LicencePrice.set_at), col(LicencePrice.id))):
            self._versions.setdefault((row.licence_id, row.cycle), []).append(row)

    def schedule(self, licence_id: int, cycle: str, at: datetime) -> Schedule | None:
        versions = self._versions.get((licence_id, cycle))
        if not versions:
            return None
        chosen = versions[0]
        for row in versions:
            if row.set_at <= at:
                chosen = row
        return schedule_of(chosen)


def require_schedule(book: PriceBook, licence: Licence | LicenceRef, cycle: str, at: datetime) -> Schedule:
    assert licence.id is not None
    schedule = book.schedule(licence.id, cycle, at)
    if schedule is None:
        raise Refused(
            f"licence '{licence.code}' has no {cycle} price",
            f"Set one: seatctl licence set-price {licence.code} --{'monthly' if cycle == 'monthly' else 'annual'} PRICE",
        )
    return schedule


@dataclass(frozen=True)
class PriceInput:
    cycle: str
    schedule: Schedule


def add_licence(
    session: Session, *, code: str, name: str, prices: list[PriceInput], actor: Actor, now: datetime,
) -> Licence:
    actor.require("billing", "add licence types")
    check_code(code)
    name = clean_name(name, "a licence name") or ""
    if not name:
        raise UsageError("a licence needs a name", "Add --name TEXT")
    if session.exec(select(Licence).where(Licence.code == code)).first():
        raise Refused(f"licence type '{code}' already exists", "See: seatctl licence list")
    if not any(p.cycle == "monthly" for p in prices) and not any(p.cycle == "annual" for p in prices):
        raise UsageError("a licence needs a price", "Add --monthly PRICE or --tiers SPEC")
    licence = Licence(code=code, name=name, created_at=now)
    session.add(licence)
    session.flush()
    _store_prices(session, licence, prices, now)
    audit.record(session, at=now, operator=actor.name, action="licence.add", licence_id=licence.id,
                 code=code, name=name, prices={p.cycle: p.schedule.spec() for p in prices})
    return licence


def _store_prices(session: Session, licence: Licence, prices: list[PriceInput], now: datetime) -> None:
    assert licence.id is not None
    for p in prices:
        if p.cycle not in CYCLES:
            raise UsageError(f"unknown cycle '{p.cycle}'", "Use monthly or annual")
        session.add(LicencePrice(licence_id=licence.id, cycle=p.cycle, tiers=p.schedule.spec(),
                                 tier_mode=p.schedule.mode, block=p.schedule.block, set_at=now))


def set_price(session: Session, *, code: str, prices: list[PriceInput], actor: Actor, now: datetime) -> Licence:
    """A new price version; it applies from each account's next period."""
    if not prices:  # usage (2) before permission (5)
        raise UsageError("no price given", "Add --monthly PRICE, --annual PRICE or tiers")
    actor.require("billing", "change prices")
    licence = find(session, code)
    repaired = _repair_prices(session, licence)
    _store_prices(session, licence, prices, now)
    audit.record(session, at=now, operator=actor.name, action="licence.set-price", licence_id=licence.id,
                 code=code, prices={p.cycle: p.schedule.spec() for p in prices},
                 **({"repaired": repaired} if repaired else {}))
    return licence


def _repair_prices(session: Session, licence: Licence) -> dict[str, str]:
    """Rewrite the licence's stored price text that is not plain decimal text (`2E+1`, written before
    prices were checked) as the same numbers in plain text (`20`). Returns {old text: new text}."""
    repaired: dict[str, str] = {}
    for row in session.exec(select(LicencePrice).where(LicencePrice.licence_id == licence.id)).all():
        if is_plain_tiers(row.tiers):
            continue
        plain = format_tiers(read_tiers(row.tiers))
        if plain != row.tiers:
            repaired[row.tiers] = plain
            row.tiers = plain
            session.add(row)
    return repaired


def list_licences(session: Session, *, now: datetime, digits: int = 2) -> list[dict[str, object]]:
    book = PriceBook(session)
    rows = []
    for licence in session.exec(select(Licence).order_by(Licence.code)).all():
        assert licence.id is not None
        row: dict[str, object] = {"code": licence.code, "name": licence.name}
        for cycle in CYCLES:
            schedule = book.schedule(licence.id, cycle, now)
            row[cycle] = None if schedule is None else _price_text(schedule, digits)
        rows.append(row)
    return rows


def _price_text(schedule: Schedule, digits: int) -> str:
    if len(schedule.tiers) == 1 and schedule.tiers[0].flat == 0:
        text = price_text(schedule.tiers[0].unit, digits)
    else:
        text = f"{schedule.mode} {schedule.spec()}"
    if schedule.block > 1:
        text += f" (blocks of {schedule.block})"
    return text


def show_licence(session: Session, *, code: str, now: datetime, digits: int = 2) -> list[dict[str, object]]:
    """The tier table of a licence's prices in force now: one row per tier and cycle length."""
    licence = find(session, code)
    assert licence.id is not None
    book = PriceBook(session)
    rows: list[dict[str, object]] = []
    for cycle in CYCLES:
        schedule = book.schedule(licence.id, cycle, now)
        if schedule is None:
            continue
        lower = 1
        for tier in schedule.tiers:
            rows.append({"licence": code, "cycle": cycle, "mode": schedule.mode, "from": lower,
                         "upto": tier.upto, "unit_price": price_text(tier.unit, digits),
                         "flat": price_text(tier.flat, digits),
                         "block": schedule.block})
            lower = (tier.upto or 0) + 1
    return rows


def find_meter(session: Session, code: str) -> Meter:
    meter = session.exec(select(Meter).where(Meter.code == code)).first()
    if meter is None:
        raise NotFound(f"no meter '{code}'", "See: seatctl meter list")
    return meter


def meter_schedule(meter: Meter | Row[Any]) -> Schedule:
    """A meter's price schedule, from its model or from a row of the close's statements."""
    return Schedule(read_tiers(meter.tiers), meter.tier_mode)


def add_meter(session: Session, *, code: str, name: str, unit_price: str | None, tiers: str | None,
              tier_mode: str | None, actor: Actor, now: datetime) -> Meter:
    check_code(code, "meter code")
    schedule = build(unit_price, tiers, tier_mode, None, upto_limit=bounds.MAX_USAGE)
    actor.require("billing", "add meters")
    if session.exec(select(Meter).where(Meter.code == code)).first():
        raise Refused(f"meter '{code}' already exists", "See: seatctl meter list")
    meter = Meter(code=code, name=clean_name(name, "a meter name") or code, tiers=schedule.spec(),
                  tier_mode=schedule.mode, created_at=now)
    session.add(meter)
    audit.record(session, at=now, operator=actor.name, action="meter.add", code=code, name=name,
                 tiers=schedule.spec(), tier_mode=schedule.mode)
    return meter


def meter_rows(session: Session, digits: int = 2) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for m in session.exec(select(Meter).order_by(Meter.code)).all():
        schedule = meter_schedule(m)
        flat = len(schedule.tiers) == 1 and not schedule.tiers[0].flat
        out.append({"code": m.code, "name": m.name,
                    "unit_price": price_text(schedule.tiers[0].unit, digits) if flat else None,
                    "tiers": None if flat else f"{m.tier_mode} {m.tiers}"})
    return out

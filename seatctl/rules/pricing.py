"""Prices: flat, volume or graduated tiers, whole blocks; proration by days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from seatctl.errors import UsageError
from seatctl.rules import bounds

TIER_MODES = ("volume", "graduated")


@dataclass(frozen=True)
class Tier:
    upto: int | None  # inclusive; None is "inf"
    unit: Decimal
    flat: Decimal = Decimal(0)


@dataclass(frozen=True)
class Schedule:
    """The price of holding q seats (or q units) for one whole period."""

    tiers: tuple[Tier, ...]
    mode: str = "volume"
    block: int = 1

    def billed_quantity(self, q: int) -> int:
        if self.block <= 1 or q == 0:
            return q
        return -(-q // self.block) * self.block

    def price(self, q: int) -> Decimal:
        if q < 0:
            raise ValueError("negative quantity")
        qb = self.billed_quantity(q)
        if qb == 0:
            return Decimal(0)
        if self.mode == "volume":
            for tier in self.tiers:
                if tier.upto is None or qb <= tier.upto:
                    return qb * tier.unit + tier.flat
            raise AssertionError("tiers end with inf")
        total = Decimal(0)
        lower = 0
        for tier in self.tiers:
            if qb <= lower:
                break
            top = qb if tier.upto is None else min(qb, tier.upto)
            total += (top - lower) * tier.unit + tier.flat
            if tier.upto is None:
                break
            lower = tier.upto
        return total

    @property
    def is_flat(self) -> bool:
        return len(self.tiers) == 1 and self.tiers[0].flat == 0 and self.block <= 1

    def spec(self) -> str:
        return format_tiers(self.tiers)


def flat(unit: Decimal, block: int = 1) -> Schedule:
    return Schedule((Tier(None, unit),), "volume", block)


def parse_tiers(spec: str, *, upto_limit: int = bounds.MAX_SEATS) -> tuple[Tier, ...]:
    """`UPTO:UNIT[+FLAT],…,inf:UNIT[+FLAT]` as typed: each UPTO inclusive and increasing, a whole number
    up to `upto_limit` (seats, or usage units for a meter); prices plain decimal text (SPEC §8)."""
    tiers: list[Tier] = []
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise UsageError("empty tier list", "Write tiers like 5:7.00,10:6.50,inf:6.00")
    last = 0
    for i, part in enumerate(parts):
        upto_text, sep, price_text = part.partition(":")
        if not sep:
            raise UsageError(f"tier '{part}' has no ':'", "Write tiers like 5:7.00,inf:6.00+10")
        unit_text, plus, flat_text = price_text.partition("+")
        if upto_text.strip().lower() == "inf":
            upto = None
            if i != len(parts) - 1:
                raise UsageError("only the last tier may be 'inf'", "e.g. 5:7.00,inf:6.00")
        else:
            upto = bounds.whole(upto_text, "tier bound", low=1, high=upto_limit,
                                hint=f"A tier bound is a whole number from 1 to {upto_limit:,}, e.g. 5:7.00,inf:6.00")
            if upto <= last:
                raise UsageError(f"tier bound {upto} must be above {last}", "Bounds increase")
            last = upto
        tiers.append(
            Tier(upto, bounds.price(unit_text, "tier price"),
                 bounds.price(flat_text, "tier flat amount") if plus else Decimal(0))
        )
    if tiers[-1].upto is not None:
        raise UsageError("the last tier must be 'inf'", f"Add e.g. ',inf:{tiers[-1].unit}'")
    return tuple(tiers)


# Stored tier text, as `format_tiers` wrote it. Ledgers written before prices were checked may hold a
# number in exponent form (`inf:2E+1`): it is read as the number it is, its `+` not taken for a flat
# amount's (`doctor` reports such text, `licence set-price` rewrites it).
_NUMBER = r"[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?"
_STORED_TIER = re.compile(rf"\s*(inf|[0-9]+)\s*:\s*({_NUMBER})\s*(?:\+\s*({_NUMBER})\s*)?")


def read_tiers(text: str) -> tuple[Tier, ...]:
    """Tiers as stored in the ledger (no bounds: they were checked when written)."""
    tiers: list[Tier] = []
    for part in text.split(","):
        found = _STORED_TIER.fullmatch(part)
        try:
            if found is None:
                raise InvalidOperation
            upto, unit, flat = found.groups()
            tiers.append(Tier(None if upto == "inf" else int(upto), Decimal(unit), Decimal(flat) if flat else Decimal(0)))
        except InvalidOperation:
            raise UsageError(f"the ledger holds unreadable price text '{text}'",
                             "Set the price again: seatctl licence set-price (see: seatctl doctor)") from None
    return tuple(tiers)


def is_plain_tiers(text: str) -> bool:
    """Whether stored tier text has only plain decimal prices (see `read_tiers`)."""
    try:
        parse_tiers(text, upto_limit=bounds.MAX_USAGE)
    except UsageError:
        return False
    return True


def format_tiers(tiers: tuple[Tier, ...]) -> str:
    """The stored (and shown) text of tiers: prices as plain decimal text, never in exponent form."""
    out = []
    for t in tiers:
        text = f"{'inf' if t.upto is None else t.upto}:{t.unit:f}"
        if t.flat:
            text += f"+{t.flat:f}"
        out.append(text)
    return ",".join(out)


def build(price: str | None, tiers: str | None, mode: str | None, block: int | str | None, *,
          upto_limit: int = bounds.MAX_SEATS) -> Schedule:
    """A schedule from command-line words: a flat price or tiers (then a mode is required)."""
    if block is not None:
        block = bounds.seats(block, "--block", hint="A block is a whole number of seats from 1 to 1,000,000")
    if tiers:
        if mode not in TIER_MODES:
            raise UsageError("tiers need --tier-mode volume or graduated", "Add --tier-mode volume")
        return Schedule(parse_tiers(tiers, upto_limit=upto_limit), mode, block or 1)
    if price is None:
        raise UsageError("no price given", "Add --monthly PRICE or --tiers SPEC")
    return flat(bounds.price(price), block or 1)

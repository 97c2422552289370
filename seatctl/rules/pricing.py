"""Prices: flat, volume or graduated tiers, whole blocks; proration by days."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from seatctl.errors import UsageError
from seatctl.rules.money import parse_amount

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


def parse_tiers(spec: str) -> tuple[Tier, ...]:
    """`UPTO:UNIT[+FLAT],…,inf:UNIT[+FLAT]`, each UPTO inclusive and increasing."""
    tiers: list[Tier] = []
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise UsageError("empty tier list", "Write tiers like 5:7.00,10:6.50,inf:6.00")
    last = 0
    for i, part in enumerate(parts):
        upto_text, sep, price_text = part.partition(":")
        if not sep:
            raise UsageError(f"tier '{part}' has no ':'", "Write tiers like 5:7.00,inf:6.00+10")
        unit_text, _, flat_text = price_text.partition("+")
        if upto_text.strip().lower() == "inf":
            upto = None
            if i != len(parts) - 1:
                raise UsageError("only the last tier may be 'inf'", "e.g. 5:7.00,inf:6.00")
        else:
            try:
                upto = int(upto_text)
            except ValueError:
                raise UsageError(f"tier bound '{upto_text}' is not a whole number", "e.g. 5:7.00,inf:6.00") from None
            if upto <= last:
                raise UsageError(f"tier bound {upto} must be above {last}", "Bounds increase")
            last = upto
        tiers.append(
            Tier(upto, parse_amount(unit_text, "tier price"),
                 parse_amount(flat_text, "tier flat amount") if flat_text else Decimal(0))
        )
    if tiers[-1].upto is not None:
        raise UsageError("the last tier must be 'inf'", f"Add e.g. ',inf:{tiers[-1].unit}'")
    return tuple(tiers)


def format_tiers(tiers: tuple[Tier, ...]) -> str:
    out = []
    for t in tiers:
        text = f"{'inf' if t.upto is None else t.upto}:{t.unit}"
        if t.flat:
            text += f"+{t.flat}"
        out.append(text)
    return ",".join(out)


def build(price: str | None, tiers: str | None, mode: str | None, block: int | None) -> Schedule:
    """A schedule from command-line words: a flat price or tiers (then a mode is required)."""
    if block is not None and block < 1:
        raise UsageError("--block must be 1 or more", "e.g. --block 50")
    if tiers:
        if mode not in TIER_MODES:
            raise UsageError("tiers need --tier-mode volume or graduated", "Add --tier-mode volume")
        return Schedule(parse_tiers(tiers), mode, block or 1)
    if price is None:
        raise UsageError("no price given", "Add --monthly PRICE or --tiers SPEC")
    return flat(parse_amount(price), block or 1)

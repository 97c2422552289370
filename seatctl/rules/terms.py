"""A plan's terms as billing sees them: the base fee per cycle, seats included, allowances."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class Plan(Protocol):
    """What billing reads of a plan (a stored plan row has these)."""

    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def monthly_fee(self) -> str | None: ...  # exact decimal text; None: not sold for that cycle
    @property
    def annual_fee(self) -> str | None: ...


@dataclass(frozen=True)
class Terms:
    """What a plan gives an account (no plan: no fee, nothing included)."""

    plan: Plan | None = None
    includes: dict[int, int] = field(default_factory=dict)  # licence id → seats
    allowances: dict[int, int] = field(default_factory=dict)  # meter id → units

    def fee(self, cycle: str) -> Decimal | None:
        if self.plan is None:
            return Decimal(0)
        text = self.plan.monthly_fee if cycle == "monthly" else self.plan.annual_fee
        return None if text is None else Decimal(text)

    def included(self, licence_id: int) -> int:
        return self.includes.get(licence_id, 0)


NO_PLAN = Terms()

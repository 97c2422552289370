"""The bounds of numeric input (SPEC §8), in one place. Every entry goes through these: command-line
arguments and options, CSV files (`usage import`), tier specs, plan terms; `batch` and `shell` lines
are command lines too. Anything outside them is a usage error (exit 2), raised before the command
reads or writes the ledger, so a refused command writes nothing.

- a seat quantity (`buy`, a tier bound, a block size, a plan's included seats) is a whole number
  from 1 to 1,000,000 (0 allowed where it means "none": a minimum, an included count);
- a usage quantity (`usage record`, `usage import`, a plan's allowance, a meter's tier bound) is a
  whole number from 0 to 10^12;
- a price (licence prices, tiers, meter unit prices, plan fees) is plain decimal text: ASCII digits,
  at most one point, at most 6 decimals, below 10^9; no sign, exponent, currency sign, thousands
  separator or space inside.

Whole numbers are parsed from their text here, never by `int()` on unchecked text: at most 13
digits are ever converted, so no input can cost memory or overflow a database integer."""

from __future__ import annotations

import re
from decimal import Decimal

from seatctl.errors import UsageError

MAX_SEATS = 1_000_000
MAX_USAGE = 10**12
PRICE_DIGITS = 9  # digits before the point: a price is below 10^9
PRICE_DECIMALS = 6
# What one metered line may bill in a period (in major units): far above any real use, far below what
# overflows a 64-bit amount in minor units. Usage beyond it is refused when it is recorded.
MAX_BILL = 10**13

_WHOLE = re.compile(r"[0-9]+")
_PRICE = re.compile(r"(?=\.?[0-9])([0-9]*)(?:\.([0-9]*))?")


def whole(value: int | str, what: str, *, low: int, high: int, hint: str) -> int:
    """A whole number from `low` to `high` (an int, or its text: ASCII digits only)."""
    if isinstance(value, bool):
        raise UsageError(f"{what} '{value}' is not a whole number", hint)
    if isinstance(value, str):
        text = value.strip()
        if not _WHOLE.fullmatch(text):
            shown = text if len(text) <= 40 else text[:40] + "…"
            raise UsageError(f"{what} '{shown}' is not a whole number", hint)
        digits = text.lstrip("0") or "0"
        if len(digits) > len(str(high)):
            raise UsageError(f"{what} {digits[:20]}{'…' if len(digits) > 20 else ''} is more than {high:,}", hint)
        value = int(digits)
    shown = str(value) if len(str(value)) <= 20 else str(value)[:20] + "…"
    if value < low:
        raise UsageError(f"{what} {shown} is less than {low:,}", hint)
    if value > high:
        raise UsageError(f"{what} {shown} is more than {high:,}", hint)
    return value


def seats(value: int | str, what: str = "quantity", *, low: int = 1,
          hint: str = "A seat quantity is a whole number from 1 to 1,000,000") -> int:
    return whole(value, what, low=low, high=MAX_SEATS, hint=hint)


def minimum(value: int | str, what: str = "minimum",
            hint: str = "A minimum is a whole number from 0 to 1,000,000") -> int:
    return whole(value, what, low=0, high=MAX_SEATS, hint=hint)


def usage(value: int | str, what: str = "quantity",
          hint: str = "A usage quantity is a whole number from 0 to 1,000,000,000,000") -> int:
    return whole(value, what, low=0, high=MAX_USAGE, hint=hint)


def price(text: str, what: str = "price") -> Decimal:
    """Plain decimal text: `12`, `12.5`, `0.0375`, `12.` or `.5`; returned as the Decimal it reads."""
    raw = str(text)
    found = _PRICE.fullmatch(raw.strip())
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    if found is None:
        raise UsageError(f"{what} '{shown}' is not plain decimal text",
                         "Write digits with at most one point, like 12.50 (no sign, exponent, currency sign "
                         "or thousands separator)")
    units, decimals = found.group(1), found.group(2) or ""
    if len(decimals) > PRICE_DECIMALS:
        raise UsageError(f"{what} '{shown}' has more than {PRICE_DECIMALS} decimals", "Write it like 0.0375")
    if len(units.lstrip("0")) > PRICE_DIGITS:
        raise UsageError(f"{what} '{shown}' is too large", f"A price is below {10**PRICE_DIGITS:,}")
    return Decimal((units or "0") + ("." + decimals if decimals else ""))


def is_plain_price(text: str) -> bool:
    """Whether stored price text is plain decimal text (ledgers written before the bounds may hold
    `2E+1`: read as the number it is, reported by `doctor`)."""
    try:
        price(text)
    except UsageError:
        return False
    return text == text.strip()

"""Money is Decimal, stored as integer minor units, rounded half-up per invoice line."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from seatctl.errors import UsageError
from seatctl.rules.bounds import price


def minor_digits(currency: str) -> int:
    """Digits after the point for a currency (EUR 2, JPY 0), from CLDR via Babel."""
    from babel.numbers import get_currency_precision, list_currencies

    code = currency.upper()
    if code not in list_currencies():
        raise UsageError(f"unknown currency '{currency}'", "Use an ISO 4217 code such as EUR")
    return int(get_currency_precision(code))


def quantum(digits: int) -> Decimal:
    return Decimal(1).scaleb(-digits)


def round_amount(amount: Decimal, digits: int) -> Decimal:
    """Half-up to the currency's minor unit."""
    return amount.quantize(quantum(digits), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, digits: int) -> int:
    return int(round_amount(amount, digits).scaleb(digits))


def from_minor(minor: int, digits: int) -> Decimal:
    return Decimal(minor).scaleb(-digits).quantize(quantum(digits))


def format_minor(minor: int, digits: int) -> str:
    """The text JSON and tables show: '12.50', '-3.00', '1200' for JPY."""
    return str(from_minor(minor, digits))


def parse_amount(text: str, what: str = "price") -> Decimal:
    """A price as typed: plain decimal text (SPEC §8 bounds; `rules/bounds.py`)."""
    return price(text, what)


def price_text(value: Decimal, digits: int) -> str:
    """A catalogue price shown with at least the currency's digits ("6.5" → "6.50"), more if it has them."""
    exponent = value.as_tuple().exponent
    places = max(digits, -exponent if isinstance(exponent, int) else digits)
    return str(value.quantize(quantum(places)))

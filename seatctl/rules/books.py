"""The ledger-wide facts billing needs: currency and its digits, time zone, tax, invoice prefix."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Books:
    currency: str = "EUR"
    digits: int = 2
    timezone: str = "UTC"
    tax_rate: Decimal | None = None
    invoice_prefix: str = "INV-"

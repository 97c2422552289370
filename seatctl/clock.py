"""The one place that reads the clock. `SEATCTL_NOW` (ISO-8601) replaces it."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from seatctl.errors import UsageError


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant (a date alone means its midnight); naive values are UTC.

    Returns a naive UTC datetime, the form every timestamp has in the ledger.
    """
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"'{text}' is not an ISO-8601 instant", "Use e.g. 2026-11-16T09:30:00Z"
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"'{text}' is not a date", "Use YYYY-MM-DD, e.g. 2026-11-16") from None


def now() -> datetime:
    """The current instant as a naive UTC datetime (microseconds kept)."""
    raw = os.environ.get("SEATCTL_NOW")
    if raw:
        return parse_instant(raw)
    return datetime.now(UTC).replace(tzinfo=None)

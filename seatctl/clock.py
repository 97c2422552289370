"""The one place that reads the clock. `SEATCTL_NOW` (ISO-8601) replaces it."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

from seatctl.errors import Refused, UsageError

# Clock skew tolerated between machines sharing a ledger (SPEC §8).
SKEW = timedelta(seconds=60)


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


def instant_text(value: datetime) -> str:
    """A ledger instant as people read it: ISO-8601 UTC, to the second (or finer when it matters)."""
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def not_before(latest: datetime | None, now: datetime) -> datetime:
    """Time never runs backwards in the ledger (SPEC §8): the instant a write is recorded at, given
    the ledger's latest event. A clock behind it by at most `SKEW` is recorded at `latest`; further
    behind, the write is refused (exit 4, naming that instant)."""
    if latest is None or now >= latest:
        return now
    if latest - now <= SKEW:
        return latest
    raise Refused(f"the clock says {instant_text(now)}, before the ledger's latest event at {instant_text(latest)}",
                  "Time never runs backwards in the ledger: set this machine's clock (or SEATCTL_NOW) right "
                  "and run again")

"""Billing periods: anchor-day boundaries clamped to month ends, counted on local calendars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pendulum

from seatctl.errors import UsageError

CYCLES = ("monthly", "annual")


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def days_left(self, day: date) -> int:
        """Days from `day` (included) to the end (excluded)."""
        return (self.end - day).days


def _months(cycle: str) -> int:
    if cycle == "monthly":
        return 1
    if cycle == "annual":
        return 12
    raise UsageError(f"unknown cycle '{cycle}'", "Use monthly or annual")


def boundary(anchor: date, cycle: str, k: int) -> date:
    """The k-th boundary from the anchor (k may be negative), clamped to the month's last day.

    Always computed from the anchor itself, so clamping never moves the anchor:
    anchor Jan 31 gives Feb 28 (29), Mar 31, Apr 30, May 31.
    """
    shifted = pendulum.date(anchor.year, anchor.month, anchor.day).add(months=k * _months(cycle))
    return date(shifted.year, shifted.month, shifted.day)


def _index_at_or_before(day: date, anchor: date, cycle: str) -> int:
    step = _months(cycle)
    k = ((day.year - anchor.year) * 12 + (day.month - anchor.month)) // step
    while boundary(anchor, cycle, k) > day:
        k -= 1
    while boundary(anchor, cycle, k + 1) <= day:
        k += 1
    return k


def next_boundary(after: date, anchor: date, cycle: str) -> date:
    """The first boundary strictly after `after`."""
    return boundary(anchor, cycle, _index_at_or_before(after, anchor, cycle) + 1)


def period_containing(day: date, anchor: date, cycle: str) -> Period:
    k = _index_at_or_before(day, anchor, cycle)
    return Period(boundary(anchor, cycle, k), boundary(anchor, cycle, k + 1))


def period_from(start: date, anchor: date, cycle: str) -> Period:
    """The period that begins at `start` (a boundary, possibly of an older anchor)."""
    return Period(start, next_boundary(start, anchor, cycle))


def check_timezone(name: str) -> str:
    try:
        pendulum.timezone(name)
    except Exception:  # pendulum raises its own InvalidTimezone; any failure is bad input
        raise UsageError(f"unknown time zone '{name}'", "Use an IANA name such as Europe/Madrid") from None
    return name


def local_midnight(day: date, tz: str) -> datetime:
    """00:00 local time on `day`, as the naive UTC datetime the ledger stores."""
    local = pendulum.datetime(day.year, day.month, day.day, tz=tz)
    return local.in_timezone("UTC").naive()


def local_date(instant: datetime, tz: str) -> date:
    """The local calendar date of a naive UTC instant."""
    aware = pendulum.instance(instant.replace(tzinfo=UTC)).in_timezone(tz)
    return date(aware.year, aware.month, aware.day)

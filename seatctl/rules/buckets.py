"""Report buckets: days, ISO weeks (from Monday) or months, clipped to an inclusive date range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from seatctl.errors import UsageError
from seatctl.rules.periods import local_date, local_midnight

BY = ("day", "week", "month")


@dataclass(frozen=True)
class Bucket:
    label: date  # the first day of the day, ISO week or month
    start: date  # counted from here (clipped to --from) …
    end: date  # … to here, excluded (clipped to the day after --to)

    def instants(self, tz: str) -> tuple[datetime, datetime]:
        return local_midnight(self.start, tz), local_midnight(self.end, tz)


def _next(label: date, by: str) -> date:
    if by == "day":
        return label + timedelta(days=1)
    if by == "week":
        return label + timedelta(days=7)
    return date(label.year + (label.month == 12), label.month % 12 + 1, 1)


def _first(day: date, by: str) -> date:
    if by == "day":
        return day
    if by == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def make_buckets(since: date, until: date, by: str) -> list[Bucket]:
    if by not in BY:
        raise UsageError(f"unknown bucket '{by}'", "Use --by day, week or month")
    if until < since:
        raise UsageError(f"--to {until} is before --from {since}", "Swap them")
    if (until - since).days > 3660:
        raise UsageError("the range is longer than ten years", "Use a shorter range")
    stop = until + timedelta(days=1)
    out = []
    label = _first(since, by)
    while label < stop:
        following = _next(label, by)
        out.append(Bucket(label, max(label, since), min(following, stop)))
        label = following
    return out


def default_range(now: datetime, tz: str, *, today: bool = False, this_week: bool = False,
                  this_month: bool = False, since: date | None = None, until: date | None = None
                  ) -> tuple[date, date, str | None]:
    """--today, --this-week, --this-month, else --from/--to (default: this month). Returns (from, to, by)."""
    day = local_date(now, tz)
    if sum([today, this_week, this_month]) > 1:
        raise UsageError("give one of --today, --this-week, --this-month", "Or --from and --to")
    if (today or this_week or this_month) and (since or until):
        raise UsageError("a shortcut and --from/--to together", "Give one or the other")
    if today:
        return day, day, "day"
    if this_week:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6), "day"
    if this_month or (since is None and until is None):
        first = day.replace(day=1)
        return first, _next(first, "month") - timedelta(days=1), None
    if since is None or until is None:
        raise UsageError("give both --from and --to", "e.g. --from 2026-01-01 --to 2026-03-31")
    return since, until, None

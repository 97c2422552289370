"""`report usage` never counts the future (SPEC §8, `report usage`): the bucket that holds now is
counted up to now, its `owned_end` and `in_use_end` are the levels at now, and later buckets count
nothing, whatever the ledger holds after now (issue 14, item 2)."""

from __future__ import annotations

import pytest

DEC2_MORNING = "2026-12-02T06:00:00Z"
DEC2_NOON = "2026-12-02T12:00:00Z"


@pytest.fixture
def acme(acme):
    """acme with a minimum of one base seat from 1 Nov; ana holds it from 2 Dec 06:00."""
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("account", "set-min", "acme", "base=1")
    acme.ok("assign", "acme", "ana@example.com", "base", now=DEC2_MORNING)
    return acme


def usage(cli, now, *extra):
    rows = cli.json("report", "usage", "--account", "acme", *extra, now=now)
    return {row["bucket"]: row for row in rows}


def test_the_month_that_holds_now_counts_seat_days_up_to_now(acme):
    rows = usage(acme, DEC2_NOON, "--from", "2026-12-01", "--to", "2026-12-31", "--by", "month")
    assert rows["2026-12-01"]["seat_days"] == 0.25  # 06:00 → 12:00, not to 1 Jan (29.75)
    assert rows["2026-12-01"]["in_use_end"] == 1
    assert rows["2026-12-01"]["owned_end"] == 1


def test_what_happens_after_now_is_not_counted(acme):
    """The ledger already holds a release and a purchase after the report's clock (a replay, or a
    machine whose clock is behind): the report at noon shows the seat held at noon and nothing later."""
    acme.ok("release", "acme", "ana@example.com", "base", now="2026-12-02T18:00:00Z")
    acme.ok("buy", "acme", "base", "2", "--yes", now="2026-12-03T09:00:00Z")
    rows = usage(acme, DEC2_NOON, "--from", "2026-12-01", "--to", "2026-12-31", "--by", "month")
    dec = rows["2026-12-01"]
    assert (dec["seat_days"], dec["in_use_end"], dec["owned_end"], dec["released"], dec["bought"]) == (0.25, 1, 1, 0, 0)
    by_day = usage(acme, DEC2_NOON, "--from", "2026-12-01", "--to", "2026-12-04", "--by", "day")
    assert [by_day[d]["seat_days"] for d in sorted(by_day)] == [0, 0.25, 0, 0]
    assert [by_day[d]["owned_end"] for d in sorted(by_day)] == [1, 1, 0, 0]  # 3 and 4 Dec: after now
    assert [by_day[d]["in_use_peak"] for d in sorted(by_day)] == [0, 1, 0, 0]


def test_buckets_after_now_count_nothing(acme):
    rows = usage(acme, DEC2_NOON, "--from", "2026-11-01", "--to", "2027-01-31", "--by", "month")
    assert rows["2027-01-01"] == {"bucket": "2027-01-01", "account": "acme", "licence": "base", "owned_end": 0,
                                  "in_use_peak": 0, "in_use_end": 0, "seat_days": 0, "bought": 0,
                                  "released": 0, "cancelled": 0, "denied": 0}
    assert rows["2026-11-01"]["owned_end"] == 1 and rows["2026-11-01"]["seat_days"] == 0


def test_today_counts_up_to_now(acme):
    rows = usage(acme, DEC2_NOON, "--today")
    assert rows["2026-12-02"]["seat_days"] == 0.25


def test_a_range_after_now_has_no_rows(acme):
    assert acme.json("report", "usage", "--from", "2027-02-01", "--to", "2027-02-28", now=DEC2_NOON) == []


def test_an_event_at_now_is_counted(acme):
    acme.ok("buy", "acme", "voip", "1", "--yes", now=DEC2_NOON)
    rows = acme.json("report", "usage", "--account", "acme", "--licence", "voip", "--today", now=DEC2_NOON)
    assert [(r["owned_end"], r["bought"]) for r in rows] == [(1, 1)]

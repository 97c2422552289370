"""Pure functions: billing-period boundaries (seatctl.periods) and prices (seatctl.pricing). No database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatctl.errors import UsageError
from seatctl.rules.periods import (
    Period,
    boundary,
    local_date,
    local_midnight,
    next_boundary,
    period_containing,
    period_from,
)
from seatctl.rules.pricing import Schedule, build, flat, parse_tiers

D = Decimal


# --- boundaries -------------------------------------------------------------------------------

def test_anchor_31_clamps_to_month_ends_without_moving_the_anchor():
    anchor = date(2027, 1, 31)
    assert [boundary(anchor, "monthly", k) for k in range(5)] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]


def test_anchor_31_gives_feb_29_in_a_leap_year():
    assert boundary(date(2028, 1, 31), "monthly", 1) == date(2028, 2, 29)
    assert boundary(date(2028, 1, 31), "monthly", 2) == date(2028, 3, 31)


def test_periods_chain_through_clamped_month_ends():
    anchor = date(2027, 1, 31)
    day, ends = date(2027, 1, 31), []
    for _ in range(4):
        period = period_containing(day, anchor, "monthly")
        ends.append(period.end)
        day = period.end
    assert ends == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]


def test_next_boundary_is_strictly_after_a_clamped_boundary():
    assert next_boundary(date(2027, 2, 28), date(2027, 1, 31), "monthly") == date(2027, 3, 31)
    assert next_boundary(date(2027, 2, 27), date(2027, 1, 31), "monthly") == date(2027, 2, 28)


def test_annual_periods_from_a_feb_29_anchor():
    anchor = date(2028, 2, 29)
    assert [boundary(anchor, "annual", k) for k in range(5)] == [
        date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29)]


def test_annual_period_lengths_follow_the_calendar():
    anchor = date(2028, 2, 29)
    assert period_containing(date(2028, 6, 1), anchor, "annual") == Period(date(2028, 2, 29), date(2029, 2, 28))
    assert period_containing(date(2028, 6, 1), anchor, "annual").days == 365
    assert period_containing(date(2031, 3, 1), anchor, "annual") == Period(date(2031, 2, 28), date(2032, 2, 29))
    assert period_containing(date(2031, 3, 1), anchor, "annual").days == 366


def test_monthly_periods_from_a_feb_29_anchor_return_to_the_29th():
    anchor = date(2028, 2, 29)
    assert period_containing(date(2029, 2, 28), anchor, "monthly") == Period(date(2029, 2, 28), date(2029, 3, 29))


@pytest.mark.parametrize(("day", "anchor", "cycle", "expected"), [
    (date(2026, 10, 1), date(2026, 11, 15), "monthly", Period(date(2026, 9, 15), date(2026, 10, 15))),
    (date(2026, 12, 5), date(2027, 1, 31), "monthly", Period(date(2026, 11, 30), date(2026, 12, 31))),
    (date(2027, 2, 28), date(2027, 3, 31), "monthly", Period(date(2027, 2, 28), date(2027, 3, 31))),
    (date(2027, 6, 1), date(2028, 2, 29), "annual", Period(date(2027, 2, 28), date(2028, 2, 29))),
    (date(2020, 1, 1), date(2026, 11, 1), "annual", Period(date(2019, 11, 1), date(2020, 11, 1))),
])
def test_period_containing_a_date_before_the_anchor(day, anchor, cycle, expected):
    assert period_containing(day, anchor, cycle) == expected


def test_period_containing_a_boundary_starts_on_it():
    assert period_containing(date(2026, 12, 1), date(2026, 11, 1), "monthly") == Period(
        date(2026, 12, 1), date(2027, 1, 1))


def test_period_from_an_old_boundary_runs_to_the_first_new_anchor_date():
    # an anchor change: the next period runs from the boundary to the first new-anchor date after it
    assert period_from(date(2026, 12, 1), date(2026, 12, 15), "monthly") == Period(date(2026, 12, 1), date(2026, 12, 15))
    assert period_from(date(2026, 12, 1), date(2026, 11, 20), "monthly") == Period(date(2026, 12, 1), date(2026, 12, 20))


def test_unknown_cycle_is_a_usage_error():
    with pytest.raises(UsageError):
        boundary(date(2026, 1, 1), "weekly", 1)


# --- days -------------------------------------------------------------------------------------

def test_days_count_the_start_day_and_not_the_end_day():
    period = Period(date(2026, 11, 1), date(2026, 12, 1))
    assert period.days == 30
    assert period.days_left(date(2026, 11, 16)) == 15
    assert period.days_left(date(2026, 11, 1)) == 30
    assert period.days_left(date(2026, 11, 30)) == 1


def test_february_periods_have_28_or_29_days():
    assert period_containing(date(2027, 2, 10), date(2027, 1, 1), "monthly").days == 28
    assert period_containing(date(2028, 2, 10), date(2028, 1, 1), "monthly").days == 29


# --- local time across DST (Europe/Madrid: CET +1, CEST +2) -----------------------------------

def test_local_midnight_before_and_after_spring_forward():
    assert local_midnight(date(2026, 3, 29), "Europe/Madrid") == datetime(2026, 3, 28, 23, 0)
    assert local_midnight(date(2026, 3, 30), "Europe/Madrid") == datetime(2026, 3, 29, 22, 0)


def test_local_midnight_before_and_after_fall_back():
    assert local_midnight(date(2026, 10, 25), "Europe/Madrid") == datetime(2026, 10, 24, 22, 0)
    assert local_midnight(date(2026, 10, 26), "Europe/Madrid") == datetime(2026, 10, 25, 23, 0)


def test_a_period_across_a_dst_change_still_counts_calendar_days():
    start = local_midnight(date(2026, 3, 1), "Europe/Madrid")
    end = local_midnight(date(2026, 4, 1), "Europe/Madrid")
    assert end - start == timedelta(days=31, hours=-1)  # one hour short in UTC…
    assert Period(date(2026, 3, 1), date(2026, 4, 1)).days == 31  # …but 31 calendar days


@pytest.mark.parametrize(("instant", "expected"), [
    (datetime(2026, 3, 28, 22, 59), date(2026, 3, 28)),
    (datetime(2026, 3, 28, 23, 0), date(2026, 3, 29)),
    (datetime(2026, 3, 29, 21, 59), date(2026, 3, 29)),
    (datetime(2026, 3, 29, 22, 0), date(2026, 3, 30)),
    (datetime(2026, 10, 24, 21, 59), date(2026, 10, 24)),
    (datetime(2026, 10, 24, 22, 0), date(2026, 10, 25)),
    (datetime(2026, 10, 25, 22, 59), date(2026, 10, 25)),
    (datetime(2026, 10, 25, 23, 0), date(2026, 10, 26)),
])
def test_local_date_of_utc_instants_around_dst_changes(instant, expected):
    assert local_date(instant, "Europe/Madrid") == expected


def test_utc_midnight_is_the_instant_itself():
    assert local_midnight(date(2026, 11, 1), "UTC") == datetime(2026, 11, 1, 0, 0)


# --- properties -------------------------------------------------------------------------------

anchors = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2070, 12, 31))
cycles = st.sampled_from(["monthly", "annual"])


@given(anchor=anchors, day=days, cycle=cycles)
def test_every_day_lies_in_its_period(anchor, day, cycle):
    period = period_containing(day, anchor, cycle)
    assert period.start <= day < period.end


@given(anchor=anchors, day=days, cycle=cycles)
def test_periods_tile_without_gaps_or_overlaps(anchor, day, cycle):
    period = period_containing(day, anchor, cycle)
    assert period_containing(period.end, anchor, cycle).start == period.end
    assert period_containing(period.start - timedelta(days=1), anchor, cycle).end == period.start
    assert next_boundary(period.start, anchor, cycle) == period.end


@given(anchor=anchors, day=days, cycle=cycles, offset=st.integers(min_value=0, max_value=400))
def test_every_day_between_two_boundaries_belongs_to_exactly_one_period(anchor, day, cycle, offset):
    period = period_containing(day, anchor, cycle)
    inside = period.start + timedelta(days=offset % period.days)
    assert period_containing(inside, anchor, cycle) == period


@given(anchor=anchors, day=days)
def test_boundaries_fall_on_the_anchor_day_clamped(anchor, day):
    period = period_containing(day, anchor, "monthly")
    for edge in (period.start, period.end):
        last_of_month = (edge.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        assert edge.day == min(anchor.day, last_of_month.day)
    assert 28 <= period.days <= 31


@given(day=st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
       tz=st.sampled_from(["UTC", "Europe/Madrid", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
                           "Pacific/Kiritimati"]))
def test_local_midnight_falls_on_its_own_local_date(day, tz):
    assert local_date(local_midnight(day, tz), tz) == day
    assert local_date(local_midnight(day, tz) - timedelta(seconds=1), tz) == day - timedelta(days=1)


# --- prices -----------------------------------------------------------------------------------

TIERS = "5:7.00,10:6.50,inf:6.00"


@pytest.mark.parametrize(("q", "expected"), [
    (0, "0"), (1, "7.00"), (5, "35.00"), (6, "39.00"), (10, "65.00"), (11, "66.00"), (20, "120.00")])
def test_volume_tiers_price_every_unit_at_the_reached_tier(q, expected):
    assert Schedule(parse_tiers(TIERS), "volume").price(q) == D(expected)


@pytest.mark.parametrize(("q", "expected"), [
    (0, "0"), (1, "7.00"), (5, "35.00"), (6, "41.50"), (10, "67.50"), (11, "73.50"), (20, "127.50")])
def test_graduated_tiers_price_each_unit_in_its_own_tier(q, expected):
    assert Schedule(parse_tiers(TIERS), "graduated").price(q) == D(expected)


def test_a_volume_tier_can_make_one_more_seat_cheaper_in_total():
    schedule = Schedule(parse_tiers("5:10.00,inf:7.00"), "volume")
    assert schedule.price(5) == D("50.00")
    assert schedule.price(6) == D("42.00")


@pytest.mark.parametrize(("q", "expected"), [(0, "0"), (1, "20.00"), (5, "20.00"), (6, "28.00"), (7, "31.00")])
def test_volume_flat_amount_is_added_once_for_the_reached_tier(q, expected):
    assert Schedule(parse_tiers("5:0+20.00,inf:3.00+10.00"), "volume").price(q) == D(expected)


@pytest.mark.parametrize(("q", "expected"), [(0, "0"), (1, "12.00"), (5, "20.00"), (6, "26.00"), (8, "28.00")])
def test_graduated_flat_amount_is_added_for_every_reached_tier(q, expected):
    assert Schedule(parse_tiers("5:2.00+10.00,inf:1.00+5.00"), "graduated").price(q) == D(expected)


def test_blocks_of_50_bill_whole_blocks():
    schedule = flat(D("6.00"), block=50)
    assert schedule.price(0) == D(0)
    assert schedule.price(1) == schedule.price(50) == D("300.00")
    assert schedule.price(51) == schedule.price(100) == D("600.00")


def test_blocks_round_up_before_tiers_apply():
    schedule = Schedule(parse_tiers("50:6.00,inf:5.00"), "volume", block=50)
    assert schedule.price(50) == D("300.00")
    assert schedule.price(51) == D("500.00")  # billed as 100 seats, all in the second tier


def test_flat_price_is_quantity_times_unit():
    assert flat(D("5.35")).price(3) == D("16.05")
    assert flat(D("5.35")).price(0) == D(0)


@pytest.mark.parametrize("spec", [
    "", " , ", "5:7.00", "5:7.00,10:6.50", "inf:6.00,5:7.00", "5:7.00,5:6.50,inf:6.00", "10:7.00,5:6.50,inf:6.00",
    "x:7.00,inf:6.00", "5-7.00,inf:6.00", "5:abc,inf:6.00", "5:-1.00,inf:6.00", "5:7.00+x,inf:6.00",
    "0:7.00,inf:6.00", "2.5:7.00,inf:6.00",
])
def test_bad_tier_specs_are_usage_errors(spec):
    with pytest.raises(UsageError):
        parse_tiers(spec)


def test_tiers_need_a_mode_and_blocks_must_be_positive():
    with pytest.raises(UsageError):
        build(None, TIERS, None, None)
    with pytest.raises(UsageError):
        build("5.00", None, None, 0)
    with pytest.raises(UsageError):
        build(None, None, None, None)


@given(bounds=st.lists(st.integers(min_value=1, max_value=60), min_size=0, max_size=4, unique=True),
       units=st.lists(st.integers(min_value=0, max_value=5000), min_size=5, max_size=5),
       q=st.integers(min_value=0, max_value=150))
def test_graduated_price_is_the_sum_of_each_units_own_tier_price(bounds, units, q):
    bounds = sorted(bounds)
    prices = [D(u).scaleb(-2) for u in units]
    spec = ",".join([f"{b}:{p}" for b, p in zip(bounds, prices, strict=False)] + [f"inf:{prices[len(bounds)]}"])
    schedule = Schedule(parse_tiers(spec), "graduated")

    def unit_of(n: int) -> Decimal:
        for b, p in zip(bounds, prices, strict=False):
            if n <= b:
                return p
        return prices[len(bounds)]

    assert schedule.price(q) == sum((unit_of(n) for n in range(1, q + 1)), D(0))


@given(block=st.integers(min_value=1, max_value=60), q=st.integers(min_value=1, max_value=500))
def test_inside_a_block_costs_the_same_and_crossing_one_costs_a_block(block, q):
    schedule = flat(D("2.00"), block=block)
    whole = -(-q // block) * block
    assert schedule.price(q) == schedule.price(whole) == whole * D("2.00")
    assert schedule.price(whole + 1) - schedule.price(whole) == block * D("2.00")

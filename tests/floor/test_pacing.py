"""Pacing: every number below is worked out by hand from the schedule, not from the code."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.floor.pacing import (
    PERIODS,
    Pace,
    Thresholds,
    calling_seconds,
    calling_windows,
    expected_by,
    hour_shares,
    pace_for,
    period_bounds,
    period_calling_seconds,
    period_days,
)
from app.floor.schedule import Schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# The seed's floor: 09:30-11:30 and 13:00-17:30, 390 calling minutes a day, Monday to Friday.
FLOOR = Schedule(SHANGHAI, ((time(9, 30), time(11, 30)), (time(13, 0), time(17, 30))))
TUESDAY = date(2026, 3, 10)
WEDNESDAY = date(2026, 3, 11)
SATURDAY = date(2026, 3, 14)
SPRING_FORWARD = date(2026, 3, 8)  # New York: 02:00 EST jumps to 03:00 EDT (a Sunday)
FALL_BACK = date(2026, 11, 1)  # New York: 02:00 EDT falls back to 01:00 EST (a Sunday)
EVERY_DAY = frozenset(range(1, 8))
NIGHT = Schedule(NEW_YORK, ((time(1), time(4)),), EVERY_DAY)


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def day_pace(actual: float, now: datetime, target: float = 300, **kw) -> Pace:
    return pace_for(
        target=target, actual=actual, schedule=FLOOR, period="day", day=now.date(), now=now, **kw
    )


# --- the floor's day ---------------------------------------------------------------------------


def test_worked_example_at_1040_a_rep_with_33_dials_is_red_and_heading_for_184():
    p = day_pace(33, at(10, 40))
    # 70 of 390 calling minutes gone; 320 left.
    assert p.expected == pytest.approx(300 * 70 / 390)
    assert p.pace == pytest.approx(33 / (300 * 70 / 390))
    assert p.projection == pytest.approx(33 * 390 / 70)
    assert p.needed_per_hour == pytest.approx(267 / (320 / 60))
    assert p.as_dict() == {
        "target": 300,
        "stretch": 360.0,
        "expected": 53.8,
        "actual": 33,
        "pace": 0.6129,  # 0.612857…, 61 %
        "status": "red",
        "projection": 183.9,
        "needed_per_hour": 50.1,
    }


@pytest.mark.parametrize("now", [at(0, 0), at(8, 0), at(9, 30)])
def test_expected_is_zero_before_the_first_window(now):
    p = day_pace(0, now)
    assert p.expected == 0
    assert p.pace is None
    assert p.status == "green"
    assert p.projection is None
    assert p.needed_per_hour == pytest.approx(300 / 6.5)  # the whole 6.5 calling hours ahead
    assert p.as_dict()["needed_per_hour"] == 46.2


def test_expected_grows_minute_by_minute_inside_a_window():
    assert day_pace(0, at(9, 31)).expected == pytest.approx(300 / 390)
    assert day_pace(0, at(11, 0)).expected == pytest.approx(300 * 90 / 390)
    assert day_pace(0, at(14, 0)).expected == pytest.approx(300 * 180 / 390)


@pytest.mark.parametrize("now", [at(11, 30), at(12, 15), at(13, 0)])
def test_expected_stays_flat_over_lunch(now):
    p = day_pace(100, now)
    assert p.expected == pytest.approx(300 * 120 / 390)  # 92.3
    assert p.pace == pytest.approx(100 / (300 * 120 / 390))
    assert p.status == "green"
    assert p.projection == pytest.approx(100 * 390 / 120)
    assert p.needed_per_hour == pytest.approx(200 / 4.5)  # 270 afternoon minutes left


def test_expected_moves_again_one_minute_into_the_afternoon():
    assert day_pace(0, at(13, 1)).expected == pytest.approx(300 * 121 / 390)


@pytest.mark.parametrize("now", [at(17, 30), at(18, 0), at(23, 59)])
def test_after_the_last_window_expected_is_the_target_and_nothing_more_is_needed(now):
    p = day_pace(280, now)
    assert p.expected == 300
    assert p.pace == pytest.approx(280 / 300)
    assert p.status == "amber"
    assert p.projection == 280
    assert p.needed_per_hour is None


def test_the_next_mornings_calls_do_not_count_toward_yesterdays_expected():
    p = pace_for(
        target=300, actual=300, schedule=FLOOR, period="day", day=TUESDAY, now=at(10, 0, WEDNESDAY)
    )
    assert p.expected == 300
    assert p.status == "green"


def test_a_non_working_day_expects_nothing_and_is_green():
    p = day_pace(0, at(11, 0, SATURDAY))
    assert p.expected == 0
    assert p.pace is None
    assert p.status == "green"
    assert p.projection is None
    assert p.needed_per_hour is None


# --- week and month targets --------------------------------------------------------------------


def test_a_weekly_invite_target_on_wednesday_noon_paces_over_two_and_a_third_working_days():
    # Mon + Tue full (2 x 390) and Wednesday's morning window (120) of 5 x 390 calling minutes.
    p = pace_for(
        target=5, actual=1, schedule=FLOOR, period="week", day=WEDNESDAY, now=at(12, 0, WEDNESDAY)
    )
    assert p.expected == pytest.approx(5 * 900 / 1950)  # 2.3
    assert p.pace == pytest.approx(1 / (5 * 900 / 1950))  # 0.43
    assert p.status == "red"
    assert p.projection == pytest.approx(1950 / 900)  # 2.2
    assert p.needed_per_hour == pytest.approx(4 / (1050 / 60))  # 4 invites in 17.5 h
    assert p.as_dict()["expected"] == 2.3


def test_a_monthly_target_halfway_through_the_working_days_expects_half():
    # March 2026 has 22 weekdays; by Monday 16th 18:00, 11 of them are done.
    monday = date(2026, 3, 16)
    p = pace_for(
        target=6600, actual=3000, schedule=FLOOR, period="month", day=monday, now=at(18, 0, monday)
    )
    assert p.expected == pytest.approx(3300)
    assert p.pace == pytest.approx(3000 / 3300)
    assert p.status == "amber"
    assert p.projection == pytest.approx(6000)
    assert p.needed_per_hour == pytest.approx(3600 / (11 * 6.5))
    assert period_calling_seconds(FLOOR, "month", monday) == 22 * 390 * 60


def test_a_week_evaluated_on_its_saturday_is_over():
    p = pace_for(
        target=5, actual=5, schedule=FLOOR, period="week", day=SATURDAY, now=at(9, 0, SATURDAY)
    )
    assert p.expected == 5
    assert p.needed_per_hour is None


# --- status, stretch, serialisation ------------------------------------------------------------


def test_reaching_the_target_is_green_whatever_the_thresholds():
    p = day_pace(300, at(17, 0), thresholds=Thresholds(green=1.5, amber=1.2))
    assert p.pace == pytest.approx(300 / (300 * 360 / 390))
    assert p.status == "green"


def test_thresholds_decide_between_amber_and_red():
    # At 11:00 expected is 69.2; 60 dials is 0.867 of it.
    assert day_pace(60, at(11, 0)).status == "amber"
    assert day_pace(60, at(11, 0), thresholds=Thresholds(green=1.0, amber=0.9)).status == "red"
    assert day_pace(70, at(11, 0)).status == "green"


def test_stretch_is_the_target_plus_the_stretch_percentage():
    assert day_pace(0, at(9)).stretch == pytest.approx(360)
    assert day_pace(0, at(9), stretch_pct=0).stretch == 300
    assert day_pace(0, at(9), target=13000, stretch_pct=15).as_dict()["stretch"] == 14950.0


def test_as_dict_keeps_whole_numbers_as_ints_and_fractions_as_floats():
    d = day_pace(12.5, at(10, 40), target=300.0).as_dict()
    assert list(d) == [
        "target",
        "stretch",
        "expected",
        "actual",
        "pace",
        "status",
        "projection",
        "needed_per_hour",
    ]
    assert d["target"] == 300 and isinstance(d["target"], int)
    assert d["actual"] == 12.5
    assert day_pace(0, at(8)).as_dict()["pace"] is None


# --- periods ------------------------------------------------------------------------------------


def test_period_days_are_the_day_the_iso_week_and_the_calendar_month():
    assert period_days("day", WEDNESDAY) == (WEDNESDAY, WEDNESDAY)
    assert period_days("week", WEDNESDAY) == (date(2026, 3, 9), date(2026, 3, 15))
    assert period_days("week", date(2026, 3, 15)) == (date(2026, 3, 9), date(2026, 3, 15))
    assert period_days("week", date(2027, 1, 1)) == (date(2026, 12, 28), date(2027, 1, 3))
    assert period_days("month", date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))


def test_an_unknown_period_is_refused():
    with pytest.raises(ValueError, match="quarter"):
        period_days("quarter", TUESDAY)


def test_period_bounds_are_local_midnights():
    start, end = period_bounds(FLOOR, "week", WEDNESDAY)
    assert start == datetime(2026, 3, 9, tzinfo=SHANGHAI)
    assert end == datetime(2026, 3, 16, tzinfo=SHANGHAI)
    assert start.tzinfo is SHANGHAI


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="naive"):
        calling_seconds(FLOOR, at(9), datetime(2026, 3, 10, 12, 0))


def test_calling_seconds_is_zero_for_an_empty_or_backward_span():
    assert calling_seconds(FLOOR, at(10), at(10)) == 0
    assert calling_seconds(FLOOR, at(11), at(10)) == 0


def test_calling_seconds_agrees_across_timezones_of_the_instants():
    start = at(10).astimezone(NEW_YORK)
    assert calling_seconds(FLOOR, start, at(14).astimezone(UTC)) == (90 + 60) * 60


def test_hour_shares_split_the_floors_day_by_local_hour():
    shares = hour_shares(FLOOR, TUESDAY)
    minutes = {9: 30, 10: 60, 11: 30, 13: 60, 14: 60, 15: 60, 16: 60, 17: 30}
    assert shares == pytest.approx({h: m / 390 for h, m in minutes.items()})
    assert hour_shares(FLOOR, SATURDAY) == {}


# --- DST (America/New_York, windows 01:00-04:00 every day) --------------------------------------


def test_a_spring_forward_day_holds_two_calling_hours_and_no_2_oclock():
    start, end = period_bounds(NIGHT, "day", SPRING_FORWARD)
    assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=23)
    assert calling_seconds(NIGHT, start, end) == 2 * 3600
    assert hour_shares(NIGHT, SPRING_FORWARD) == {1: 0.5, 3: 0.5}


def test_a_fall_back_day_holds_four_calling_hours_and_1_oclock_twice():
    start, end = period_bounds(NIGHT, "day", FALL_BACK)
    assert (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=25)
    assert calling_seconds(NIGHT, start, end) == 4 * 3600
    assert hour_shares(NIGHT, FALL_BACK) == {1: 0.5, 2: 0.25, 3: 0.25}


def test_expected_on_a_spring_forward_day_counts_real_hours():
    # 03:30 EDT is 1.5 real hours after 01:00 EST.
    now = datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)
    assert expected_by(100, NIGHT, "day", SPRING_FORWARD, now) == pytest.approx(75)


def test_the_second_pass_of_a_repeated_hour_is_later_than_the_first():
    # 01:30 EST (fold=1) is 1.5 real hours after 01:00 EDT, though the clock shows 01:30.
    now = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    assert expected_by(100, NIGHT, "day", FALL_BACK, now) == pytest.approx(100 * 1.5 / 4)


def test_a_window_in_the_skipped_hour_holds_nothing_and_one_straddling_it_only_its_real_part():
    gap = Schedule(NEW_YORK, ((time(2), time(2, 30)), (time(2, 30), time(3, 30))), EVERY_DAY)
    (a1, b1), (a2, b2) = calling_windows(gap, SPRING_FORWARD)
    assert b1 - a1 == timedelta(0)
    assert b2 - a2 == timedelta(minutes=30)  # 03:00-03:30 EDT
    assert hour_shares(gap, SPRING_FORWARD) == {3: 1.0}


def test_a_window_inside_the_repeated_hour_is_its_first_pass():
    first_pass = Schedule(NEW_YORK, ((time(1), time(1, 30)),), EVERY_DAY)
    assert period_calling_seconds(first_pass, "day", FALL_BACK) == 30 * 60


# --- invariants ---------------------------------------------------------------------------------

ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # DST changes at midnight
    "Pacific/Apia",  # skipped 2011-12-30 entirely
]
# Transition days (and neighbours) of the zones above, so DST is not left to luck.
DST_DAYS = [
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 4, 5),
    date(2026, 10, 4),
    date(2026, 9, 27),
    date(2026, 9, 6),
    date(2011, 12, 29),
    date(2011, 12, 30),
    date(2011, 12, 31),
]


@st.composite
def schedules(draw) -> Schedule:
    minutes = sorted(draw(st.sets(st.integers(0, 23 * 60 + 59), min_size=2, max_size=8)))
    if len(minutes) % 2:
        minutes.pop()
    clock = [time(m // 60, m % 60) for m in minutes]
    windows = tuple(zip(clock[::2], clock[1::2], strict=True))
    days = draw(st.frozensets(st.integers(1, 7), min_size=1))
    return Schedule(ZoneInfo(draw(st.sampled_from(ZONES))), windows, days)


days = st.one_of(st.dates(date(2010, 1, 1), date(2035, 12, 31)), st.sampled_from(DST_DAYS))
periods = st.sampled_from(PERIODS)
targets = st.floats(min_value=0, max_value=1e6, allow_nan=False)
offsets = st.integers(-2 * 86400, 33 * 86400).map(lambda s: timedelta(seconds=s))


def _earliest(tz: ZoneInfo, day: date, wall: time) -> datetime:
    # Whichever reading of an ambiguous or skipped wall time comes first: calling cannot start
    # before it.
    local = datetime.combine(day, wall, tzinfo=tz)
    return min(local.astimezone(UTC), local.replace(fold=1).astimezone(UTC))


@settings(deadline=None)
@given(schedules(), periods, days, targets, offsets, offsets)
def test_expected_never_falls_as_time_passes(schedule, period, day, target, d1, d2):
    start = period_bounds(schedule, period, day)[0]
    t1, t2 = sorted((start + d1, start + d2), key=lambda t: t.astimezone(UTC))
    assert expected_by(target, schedule, period, day, t1) <= expected_by(
        target, schedule, period, day, t2
    )


@settings(deadline=None)
@given(schedules(), periods, days, targets, st.integers(0, 3 * 86400))
def test_expected_is_zero_until_the_first_window_opens(schedule, period, day, target, back):
    first, last = period_days(period, day)
    working = [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + timedelta(days=n)).isoweekday() in schedule.working_days
    ]
    opens = (
        _earliest(schedule.timezone, working[0], schedule.windows[0][0])
        if working
        else period_bounds(schedule, period, day)[1]
    )
    t = opens - timedelta(seconds=back)
    assert expected_by(target, schedule, period, day, t) == 0


@settings(deadline=None)
@given(schedules(), periods, days, targets, st.integers(0, 40 * 86400))
def test_expected_is_the_target_from_the_end_of_the_period_on(schedule, period, day, target, after):
    end = period_bounds(schedule, period, day)[1]
    t = end + timedelta(seconds=after)
    has_calling_time = period_calling_seconds(schedule, period, day) > 0
    assert expected_by(target, schedule, period, day, t) == (target if has_calling_time else 0)


@settings(deadline=None)
@given(schedules(), days)
def test_hour_shares_sum_to_one_on_a_working_day_with_calling_time(schedule, day):
    shares = hour_shares(schedule, day)
    if period_calling_seconds(schedule, "day", day) > 0:
        assert math.isclose(sum(shares.values()), 1.0)
        assert set(shares) <= set(range(24))
        assert all(s > 0 for s in shares.values())
    else:
        assert shares == {}
    if day.isoweekday() not in schedule.working_days:
        assert shares == {}


@settings(deadline=None)
@given(schedules(), days, offsets, offsets, offsets)
def test_calling_time_adds_up_across_a_split(schedule, day, d1, d2, d3):
    base = datetime.combine(day, time(), tzinfo=UTC)
    a, b, c = sorted((base + d1, base + d2, base + d3))
    assert calling_seconds(schedule, a, c) == calling_seconds(schedule, a, b) + calling_seconds(
        schedule, b, c
    )

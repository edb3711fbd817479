"""The simulated floor (app/demo/floor.py): pure, so every test passes its own ``now``."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from app.config import parse_windows
from app.demo.floor import (
    MOBILE_PREFIXES,
    TEAMS,
    TIER_SKILLS,
    Call,
    RepDay,
    RepProfile,
    backfill_floor,
    build_floor,
    choose_floor_clock,
    etc_zone,
    floor_day,
    in_calling_window,
    live_floor,
    poisson,
    roster_rows,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOWS = parse_windows("09:30-11:30,13:00-17:30")
DAY = date(2026, 11, 26)  # a Thursday
SEED = 7


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI)


def rep_of(tier: str, code: str = "9001") -> RepProfile:
    """A rep with the tier's skill exactly (no per-rep jitter), for rate checks."""
    return RepProfile(code, "测试", "一组", tier, TIER_SKILLS[tier], 100)  # type: ignore[arg-type]


def full_day(profile: RepProfile, day: date, seed: int = SEED) -> list[Call]:
    return RepDay(profile, day, SHANGHAI, WINDOWS, seed).backfill(at(23, 59, day))


def days(n: int) -> list[date]:
    return [DAY + timedelta(days=i) for i in range(n)]


# --- the roster ------------------------------------------------------------------------------


def test_floor_is_three_teams_of_eight_with_one_new_hire_each():
    floor = build_floor(SEED)
    assert len(floor) == 24
    assert [r.code for r in floor] == [str(c) for c in range(8001, 8025)]
    assert Counter(r.team for r in floor) == dict.fromkeys(TEAMS, 8)
    assert len({r.name for r in floor}) == 24
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", r.name) for r in floor)
    for team in TEAMS:
        tiers = Counter(r.tier for r in floor if r.team == team)
        assert tiers["new"] == 1 and tiers["top"] == 1
    # FLOOR_RULES: ~10 % top, ~70 % core, the rest laggards and new hires.
    assert Counter(r.tier for r in floor) == {"top": 3, "core": 16, "laggard": 2, "new": 3}


def test_floor_is_the_same_for_a_seed_and_reshuffled_by_another():
    assert build_floor(SEED) == build_floor(SEED)
    assert any(
        [r.tier for r in build_floor(s)] != [r.tier for r in build_floor(SEED)] for s in range(8)
    )


def test_new_hires_are_two_days_in_and_veterans_long_hired():
    today = date(2026, 11, 27)
    rows = {r["code"]: r for r in roster_rows(build_floor(SEED), today)}
    for rep in build_floor(SEED):
        hired = rows[rep.code]["hired_on"]
        if rep.new_hire:
            assert hired == today - timedelta(days=2)
        else:
            assert hired <= today - timedelta(days=60)
        assert set(rows[rep.code]) == {"code", "name", "team", "hired_on"}


# --- backfill --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now", [at(9, 29), at(9, 31), at(10, 40), at(12, 15), at(13, 5), at(17, 29), at(20)]
)
def test_backfill_never_places_calls_in_the_future(now):
    calls = backfill_floor(floor_day(build_floor(SEED), DAY, SHANGHAI, WINDOWS, SEED), now)
    assert all(c.started_at <= c.ended_at <= now for c in calls)
    if now < at(9, 30):
        assert calls == []


def test_backfill_is_deterministic_for_a_seed_and_day():
    floor = build_floor(SEED)

    def run(now: datetime, seed: int = SEED, day: date = DAY) -> list[Call]:
        return backfill_floor(floor_day(floor, day, SHANGHAI, WINDOWS, seed), now)

    first = run(at(10, 40, DAY))
    assert first == run(at(10, 40, DAY))
    # A rerun later in the day repeats every call of the first run, then adds the newer ones:
    # the server sees duplicates, not a second set.
    later = run(at(15, 10))
    first_ids = {c.call_id for c in first}
    assert [c for c in later if c.call_id in first_ids] == first
    assert len(later) > 2 * len(first)
    assert run(at(10, 40), seed=SEED + 1) != first
    other_day = run(at(10, 40, DAY + timedelta(days=1)), day=DAY + timedelta(days=1))
    assert not first_ids & {c.call_id for c in other_day}


def test_call_ids_are_unique_and_fixed_by_day_rep_and_sequence():
    calls = backfill_floor(floor_day(build_floor(SEED), DAY, SHANGHAI, WINDOWS, SEED), at(18))
    ids = [c.call_id for c in calls]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"demo-20261126-80(0[1-9]|1\d|2[0-4])-\d{4}", i) for i in ids)
    for rep, group in _by_rep(calls).items():
        assert sorted(c.call_id for c in group) == [
            f"demo-20261126-{rep}-{n:04d}" for n in range(len(group))
        ]


def _by_rep(calls: list[Call]) -> dict[str, list[Call]]:
    out: dict[str, list[Call]] = {}
    for c in calls:
        out.setdefault(c.rep, []).append(c)
    return out


def test_calls_fall_inside_calling_windows():
    calls = backfill_floor(floor_day(build_floor(SEED), DAY, SHANGHAI, WINDOWS, SEED), at(23))
    assert calls
    assert all(in_calling_window(c.started_at, SHANGHAI, WINDOWS) for c in calls)
    hours = Counter(c.started_at.hour for c in calls)
    assert set(hours) == {9, 10, 11, 13, 14, 15, 16, 17}
    # A rep is on one call at a time: the next dial starts after the last one hung up.
    for group in _by_rep(calls).values():
        for a, b in zip(group, group[1:], strict=False):
            assert b.started_at >= a.ended_at


def test_core_rep_makes_about_300_dials_over_a_full_day():
    core = rep_of("core")
    days_ = [full_day(core, d) for d in days(30)]
    dials = [len(d) for d in days_]
    connects = [sum(c.disposition == "answered" for c in d) for d in days_]
    talk = [sum(c.talk_seconds for c in d) for d in days_]
    sales = [sum(c.outcome == "sale" for c in d) for d in days_]
    invites = [sum(c.outcome == "invite" for c in d) for d in days_]
    assert 280 <= mean(dials) <= 320, mean(dials)
    assert all(220 <= n <= 380 for n in dials), dials
    assert 0.27 <= sum(connects) / sum(dials) <= 0.33
    assert 11_500 <= mean(talk) <= 14_500, mean(talk)
    assert 0.5 <= mean(sales) <= 2.5 and max(sales) <= 6, sales
    assert 0.4 <= mean(invites) <= 2.0, invites
    values = [c.order_value for d in days_ for c in d if c.outcome == "sale"]
    assert values and all(50_000 <= v <= 500_000 and v % 1000 == 0 for v in values)


def test_new_hires_dial_about_half_and_top_reps_sell_most():
    per_tier = {
        tier: [full_day(rep_of(tier), d) for d in days(20)] for tier in ("top", "core", "laggard")
    }
    per_tier["new"] = [full_day(rep_of("new"), d) for d in days(20)]
    dials = {t: mean(len(d) for d in ds) for t, ds in per_tier.items()}
    revenue = {t: mean(sum(c.order_value for c in d) for d in ds) for t, ds in per_tier.items()}
    assert 130 <= dials["new"] <= 170, dials  # the first-week ramp: 150 a day
    assert dials["top"] > dials["core"] > dials["laggard"] > dials["new"]
    assert revenue["top"] > revenue["core"] > revenue["laggard"]


def test_records_are_iso_with_offset_and_times_agree_with_talk_seconds():
    calls = full_day(rep_of("core"), DAY)
    assert {c.disposition for c in calls} >= {"answered", "no_answer", "busy"}
    for c in calls:
        rec = c.record()
        started = datetime.fromisoformat(rec["started_at"])
        assert started.utcoffset() == timedelta(hours=8)
        ended = datetime.fromisoformat(rec["ended_at"])
        if c.disposition == "answered":
            answered = datetime.fromisoformat(rec["answered_at"])
            assert started <= answered and (ended - answered).total_seconds() == c.talk_seconds
            assert c.talk_seconds > 0
        else:
            assert rec["answered_at"] is None and c.talk_seconds == 0 and c.outcome == "none"
        assert re.fullmatch(r"\d{11}", rec["customer"]) and rec["customer"][:3] in MOBILE_PREFIXES
        assert re.fullmatch(r"\d+\.\d{2}", rec["order_value"])
        assert (rec["outcome"] == "sale") == (c.order_value > 0)


def test_a_sale_reported_at_hang_up_carries_no_outcome_and_its_wrap_up_does():
    sale = next(c for d in days(20) for c in full_day(rep_of("top"), d) if c.outcome == "sale")
    assert "outcome" not in sale.cdr() and "order_value" not in sale.cdr()
    assert sale.wrap_up() == {
        "outcome": "sale",
        "order_value": f"{sale.order_value // 100}.00",
    }


def test_leads_are_sometimes_redialled_never_after_a_connect():
    calls = full_day(rep_of("core"), DAY)
    counts = Counter(c.customer for c in calls)
    assert 0.75 * len(calls) <= len(counts) < len(calls)
    connected: set[str] = set()
    for c in calls:
        assert c.customer not in connected
        if c.disposition == "answered":
            connected.add(c.customer)


# --- live ------------------------------------------------------------------------------------


def test_live_calls_hang_up_between_ticks_and_scale_with_speed():
    floor = build_floor(SEED)
    rep_days = floor_day(floor, DAY, SHANGHAI, WINDOWS, SEED)
    backfilled = backfill_floor(rep_days, at(10))
    since, calls = at(10), []
    for _ in range(300):  # five minutes of one-second ticks
        now = since + timedelta(seconds=1)
        tick = live_floor(rep_days, since, now, speed=30)
        assert all(since - timedelta(hours=1) < c.started_at <= c.ended_at <= now for c in tick)
        assert all(c.ended_at > since - timedelta(seconds=1) for c in tick)
        calls += tick
        since = now
    expected = sum(rd.dials_per_second for rd in rep_days) * 30 * 300
    assert 0.85 * expected <= len(calls) <= 1.15 * expected
    assert not {c.call_id for c in calls} & {c.call_id for c in backfilled}


@pytest.mark.parametrize("when", [at(12, 0), at(9, 0), at(18, 0), at(3, 0)])
def test_live_places_no_calls_outside_windows(when):
    rep_days = floor_day(build_floor(SEED), DAY, SHANGHAI, WINDOWS, SEED)
    assert live_floor(rep_days, when, when + timedelta(seconds=60), speed=50) == []


def test_poisson_has_the_asked_mean():
    rng = random.Random(1)
    for lam in (0.3, 4.0, 80.0):
        assert abs(mean(poisson(rng, lam) for _ in range(4000)) - lam) < 0.06 * lam + 0.03
    assert poisson(rng, 0) == 0


# --- the floor clock -------------------------------------------------------------------------


def test_etc_zones_invert_the_sign_as_posix_does():
    assert etc_zone(3) == "Etc/GMT-3"
    assert etc_zone(-5) == "Etc/GMT+5"
    assert etc_zone(0) == "Etc/GMT"
    assert datetime(2026, 1, 1, tzinfo=ZoneInfo(etc_zone(3))).utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize("local", [at(9, 30), at(13, 0), at(17, 19)])
def test_clock_keeps_the_configured_zone_inside_calling_hours_on_a_weekday(local):
    clock = choose_floor_clock(local.astimezone(UTC), "Asia/Shanghai", WINDOWS)
    assert clock.kept and clock.zone == "Asia/Shanghai"
    assert "inside calling hours" in clock.describe()


def test_clock_moves_a_floor_outside_calling_hours_to_mid_morning():
    for minute in range(0, 24 * 60, 7):
        now = (at(0) + timedelta(minutes=minute)).astimezone(UTC)
        clock = choose_floor_clock(now, "Asia/Shanghai", WINDOWS)
        shanghai = now.astimezone(SHANGHAI).time()
        calling = time(9, 30) <= shanghai < time(11, 20) or time(13, 0) <= shanghai < time(17, 20)
        assert clock.kept == calling, shanghai
        if clock.kept:
            continue
        assert clock.zone.startswith("Etc/GMT")
        assert clock.local == now.astimezone(ZoneInfo(clock.zone))
        # Mid-morning, with at least half an hour of the window still to run.
        assert time(10, 0) <= clock.local.time() <= time(11, 0), clock
        assert in_calling_window(now + timedelta(minutes=30), ZoneInfo(clock.zone), WINDOWS)
        assert clock.local.weekday() < 5  # Thursday/Friday in Shanghai: a weekday is in reach
        lunch = time(11, 20) <= shanghai < time(13, 0)
        reason = "between calling windows" if lunch else "outside calling hours"
        if time(17, 20) <= shanghai < time(17, 30):
            reason = "between calling windows"  # the last ten minutes: nothing left to watch
        assert f"{reason} in Asia/Shanghai" in clock.describe()


def test_clock_moves_a_floor_at_lunch_so_the_demo_is_never_still():
    lunch = at(12, 15).astimezone(UTC)
    clock = choose_floor_clock(lunch, "Asia/Shanghai", WINDOWS)
    assert not clock.kept and "between calling windows in Asia/Shanghai" in clock.describe()
    assert in_calling_window(lunch + timedelta(minutes=30), ZoneInfo(clock.zone), WINDOWS)


def test_clock_on_a_weekend_says_so_and_works_that_day_on_a_live_floor():
    # Saturday 12:00 UTC: from UTC-12 to UTC+14 it is Saturday or Sunday everywhere.
    saturday = datetime(2026, 11, 28, 20, 0, tzinfo=SHANGHAI).astimezone(UTC)
    clock = choose_floor_clock(saturday, "Asia/Shanghai", WINDOWS)
    assert not clock.kept
    assert "not a calling day in Asia/Shanghai (Sat 20:00)" in clock.describe()
    assert in_calling_window(saturday, ZoneInfo(clock.zone), WINDOWS)
    # Saturday everywhere near mid-morning: the demo floor works Saturdays, and says so.
    assert clock.local.isoweekday() == 6 and clock.added_day == 6
    assert clock.working_days == {1, 2, 3, 4, 5, 6}
    assert clock.describe().endswith("; the demo floor works Saturdays too")
    # Late on Sunday (UTC) it is Monday morning far east: a weekday wins over a weekend.
    sunday_evening = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    monday = choose_floor_clock(sunday_evening, "Asia/Shanghai", WINDOWS)
    assert monday.local.weekday() == 0 and monday.zone == "Etc/GMT-14"
    assert monday.added_day is None and monday.working_days == {1, 2, 3, 4, 5}


def test_clock_keeps_a_configured_weekend_shift():
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
    clock = choose_floor_clock(saturday, "Asia/Shanghai", WINDOWS, {1, 2, 3, 4, 5, 6})
    assert clock.kept and clock.added_day is None


@pytest.mark.parametrize("weekday", range(7))
def test_clock_opens_on_a_moving_working_day_at_every_hour_of_the_week(weekday):
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    for minute in range(0, 24 * 60, 10):
        now = monday + timedelta(days=weekday, minutes=minute)
        clock = choose_floor_clock(now, "Asia/Shanghai", WINDOWS)
        tz = ZoneInfo(clock.zone)
        assert clock.local == now.astimezone(tz)
        assert clock.local.isoweekday() in clock.working_days, clock
        # Inside a calling window with ten minutes left (the configured zone) or thirty (moved).
        assert in_calling_window(now + timedelta(minutes=10), tz, WINDOWS), clock
        if not clock.kept:
            assert in_calling_window(now + timedelta(minutes=30), tz, WINDOWS), clock
        # A configured working day is used whenever one is in reach.
        weekday_there = clock.local.weekday() < 5
        assert weekday_there == (clock.added_day is None), clock

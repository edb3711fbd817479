"""Week and month assessment: period targets, per-day attainment, weekly invites, the review.

Expected numbers come from the floor's rules (300 dials and 13,000 talk seconds a working day,
Monday to Friday, 5 invites a week, 150 dials a day in a new hire's first 7 days) and from the
calendar, counted here with plain weekday arithmetic rather than the code under test.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.floor.assessment import (
    RepMember,
    assess,
    day_attainment,
    period_label,
    period_targets,
    present_days,
    previous_months,
    review_streak,
    under_target,
)
from app.floor.metrics import METRICS
from app.floor.schedule import Schedule
from app.floor.targets import Ramp, RepRef, TargetRule

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLOOR = Schedule(SHANGHAI, ((time(9, 30), time(11, 30)), (time(13, 0), time(17, 30))))
MON_TO_SAT = Schedule(FLOOR.timezone, FLOOR.windows, frozenset(range(1, 7)))
RAMP = Ramp()
LONG_AGO = date(2000, 1, 1)
RULES = [
    TargetRule("dials", "day", "floor", 0, 300, LONG_AGO),
    TargetRule("talk_seconds", "day", "floor", 0, 13_000, LONG_AGO),
    TargetRule("invites", "week", "floor", 0, 5, LONG_AGO),
]
NOV = date(2026, 11, 1)  # a Sunday; November 2026 runs Sun 1 .. Mon 30
NOV_LAST = date(2026, 11, 30)
WED_NOV_18 = date(2026, 11, 18)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def weekdays(first: date, last: date) -> list[date]:
    return [d for d in days(first, last) if d.isoweekday() <= 5]


def member(
    code: str = "R1",
    *,
    rep_id: int = 1,
    team: str = "Alpha",
    team_id: int = 1,
    active: bool = True,
    since: date | None = date(2025, 1, 6),
    hired_on: date | None = None,
) -> RepMember:
    return RepMember(RepRef(rep_id, team_id, hired_on), code, code, team, active, since)


def local(d: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=SHANGHAI)


def run(members, daily, *, period="month", day=NOV, until=None, rules=RULES, **kw):
    return assess(
        period=period,
        day=day,
        until=until or local(WED_NOV_18),
        members=members,
        daily=daily,
        rules=rules,
        ramp=RAMP,
        schedules=kw.pop("schedules", {}),
        floor_schedule=FLOOR,
        **kw,
    )


def totals(**values: int) -> dict[str, int]:
    return {**dict.fromkeys(METRICS, 0), **values}


def every_weekday(first: date, last: date, **values: int) -> dict[date, dict[str, int]]:
    return {d: totals(**values) for d in weekdays(first, last)}


def test_november_2026_has_21_working_days():
    # Hand check of the calendar the tests below rely on: 2-6, 9-13, 16-20, 23-27, 30.
    assert len(weekdays(NOV, NOV_LAST)) == 21


# --- labels and months -------------------------------------------------------------------------


def test_period_label_names_iso_weeks_months_and_days():
    assert period_label("week", date(2026, 11, 26)) == "2026-W48"
    assert period_label("week", date(2026, 11, 23)) == "2026-W48"  # its Monday
    assert period_label("week", date(2026, 11, 29)) == "2026-W48"  # its Sunday
    assert period_label("month", date(2026, 11, 26)) == "2026-11"
    assert period_label("day", date(2026, 11, 26)) == "2026-11-26"


def test_period_label_uses_the_iso_year_across_new_year():
    # 1 January 2027 is a Friday: it belongs to week 53 of ISO year 2026.
    assert period_label("week", date(2027, 1, 1)) == "2026-W53"
    # 29 December 2025 is the Monday of ISO week 1 of 2026.
    assert period_label("week", date(2025, 12, 29)) == "2026-W01"


def test_previous_months_are_the_first_days_oldest_first_across_a_year_end():
    assert previous_months(date(2026, 1, 15), 3) == [
        date(2025, 10, 1),
        date(2025, 11, 1),
        date(2025, 12, 1),
    ]
    assert previous_months(date(2026, 3, 31), 1) == [date(2026, 2, 1)]
    assert previous_months(date(2026, 3, 1), 0) == []


# --- period targets ----------------------------------------------------------------------------


def targets(m: RepMember, period: str = "month", day: date = NOV, **kw) -> dict[str, int]:
    kw.setdefault("schedule", FLOOR)
    return period_targets(kw.pop("rules", RULES), m, period, day, ramp=RAMP, **kw)


def test_a_month_target_is_the_day_targets_over_the_months_working_days():
    n = len(weekdays(NOV, NOV_LAST))
    assert targets(member()) == {"dials": 300 * n, "talk_seconds": 13_000 * n}


def test_a_week_target_sums_five_working_days_and_keeps_the_explicit_weekly_invites():
    assert targets(member(), "week", WED_NOV_18) == {
        "dials": 300 * 5,
        "talk_seconds": 13_000 * 5,
        "invites": 5,
    }


def test_the_schedules_working_days_decide_what_the_period_holds():
    n = len([d for d in days(NOV, NOV_LAST) if d.isoweekday() <= 6])  # Saturdays too
    assert targets(member(), schedule=MON_TO_SAT)["dials"] == 300 * n


def test_an_explicit_month_target_wins_over_the_sum_of_day_targets():
    rules = [*RULES, TargetRule("dials", "month", "floor", 0, 5_000, LONG_AGO)]
    t = targets(member(), rules=rules)
    assert t["dials"] == 5_000
    assert t["talk_seconds"] == 13_000 * 21  # still derived


def test_a_rep_set_month_target_wins_over_the_floors():
    rules = [
        *RULES,
        TargetRule("dials", "month", "floor", 0, 5_000, LONG_AGO),
        TargetRule("dials", "month", "rep", 1, 4_200, LONG_AGO),
    ]
    assert targets(member(), rules=rules)["dials"] == 4_200


def test_a_rep_joining_mid_month_is_targeted_on_the_days_from_since():
    since = date(2026, 11, 16)
    n = len(weekdays(since, NOV_LAST))  # 16-20, 23-27, 30
    assert n == 11
    assert targets(member(since=since)) == {"dials": 300 * n, "talk_seconds": 13_000 * n}


def test_a_new_hire_counts_150_dials_on_the_working_days_of_their_first_week():
    hired = date(2026, 11, 4)  # a Wednesday: days 1..7 are 4-10 November
    ramp_days = weekdays(hired, hired + timedelta(days=6))
    assert len(ramp_days) == 5  # Wed, Thu, Fri, Mon, Tue
    rest = weekdays(hired + timedelta(days=7), NOV_LAST)
    t = targets(member(since=hired, hired_on=hired))
    assert t["dials"] == 150 * len(ramp_days) + 300 * len(rest)
    # The ramp takes half the talk time too (PACEBOARD_NEW_HIRE_ACTIVITY_PCT, 50).
    assert t["talk_seconds"] == 6_500 * len(ramp_days) + 13_000 * len(rest)


def test_a_day_target_changed_mid_month_counts_each_value_on_its_own_days():
    rules = [*RULES, TargetRule("dials", "day", "floor", 0, 320, date(2026, 11, 16))]
    before = len(weekdays(NOV, date(2026, 11, 15)))
    after = len(weekdays(date(2026, 11, 16), NOV_LAST))
    assert targets(member(), rules=rules)["dials"] == 300 * before + 320 * after


def test_an_inactive_rep_has_no_period_targets():
    assert targets(member(active=False)) == {}
    assert targets(member(active=False), "week", WED_NOV_18) == {}


def test_period_targets_follow_the_target_metric_order():
    rules = [TargetRule("revenue", "month", "floor", 0, 9, LONG_AGO), *RULES]
    assert list(targets(member(), rules=rules)) == ["dials", "talk_seconds", "revenue"]


# --- day attainment, under target, streaks -----------------------------------------------------


def attain(m: RepMember, d: date, actual, metric: str = "dials"):
    return day_attainment(RULES, m, d, actual, metric, ramp=RAMP, schedule=FLOOR)


def test_day_attainment_is_the_days_actual_over_its_day_target():
    assert attain(member(), WED_NOV_18, totals(dials=150)) == 0.5
    assert attain(member(), WED_NOV_18, None) == 0.0  # a working day without calls
    assert attain(member(), WED_NOV_18, totals(talk_seconds=6_500), "talk_seconds") == 0.5


def test_day_attainment_of_a_new_hire_is_against_the_ramp():
    hired = date(2026, 11, 17)
    assert attain(member(since=hired, hired_on=hired), WED_NOV_18, totals(dials=150)) == 1.0


@pytest.mark.parametrize(
    ("m", "d", "metric"),
    [
        (member(), date(2026, 11, 21), "dials"),  # a Saturday
        (member(since=date(2026, 11, 19)), WED_NOV_18, "dials"),  # before since
        (member(active=False), WED_NOV_18, "dials"),
        (member(), WED_NOV_18, "invites"),  # no day target for invites
    ],
)
def test_day_attainment_is_none_when_the_day_is_not_judged(m, d, metric):
    assert attain(m, d, totals(dials=300, invites=3), metric) is None


def test_under_target_judges_the_sales_target_unless_told_which():
    t = {"dials": 6_300, "revenue": 100_000, "orders": 0}
    # 业绩: revenue judges; dials short with revenue met is not "under".
    assert under_target(totals(dials=6_299, revenue=100_000), t) is False
    assert under_target(totals(dials=9_999, revenue=99_999), t) is True
    # No revenue target: orders judge; neither: every target the rep had.
    assert under_target(totals(dials=9_999, orders=19), {"dials": 6_300, "orders": 20}) is True
    assert under_target(totals(dials=1, orders=20), {"dials": 6_300, "orders": 20}) is False
    assert under_target(totals(dials=6_299), {"dials": 6_300}) is True
    # PACEBOARD_REVIEW_METRICS widens (or narrows) it.
    assert under_target(totals(dials=6_299, revenue=100_000), t, ["revenue", "dials"]) is True
    assert under_target(totals(dials=6_299, revenue=100_000), t, ["revenue"]) is False
    assert under_target(totals(dials=9_999, revenue=99_999), t, ["revenue"]) is True
    assert under_target(totals(), t, ["orders"]) is None  # a zero target judges nothing
    assert under_target(totals(), {}) is None


@pytest.mark.parametrize(
    ("months", "streak"),
    [
        ([], 0),
        ([True, True, True], 3),
        ([True, True, False], 0),
        ([True, False, True], 1),
        ([True, None, True, True], 2),
        ([None, None], 0),
        ([False, True, True, True, True], 4),
    ],
)
def test_review_streak_counts_months_under_target_back_from_the_last(months, streak):
    assert review_streak(months) == streak


# --- assess: figures ---------------------------------------------------------------------------

TEAM_B = {"team": "Beta", "team_id": 2}


def test_assess_month_header_and_through():
    r = run([member()], {})
    assert r["kind"] == "monthly"
    assert r["period"] == "month"
    assert r["label"] == "2026-11"
    assert (r["first"], r["last"]) == ("2026-11-01", "2026-11-30")
    assert r["through"] == "2026-11-18"
    assert r["days"] == [d.isoformat() for d in days(NOV, NOV_LAST)]
    assert r["target_metrics"] == ["dials", "talk_seconds"]
    w = run([member()], {}, period="week", day=WED_NOV_18)
    assert (w["kind"], w["label"], w["first"], w["last"]) == (
        "weekly",
        "2026-W47",
        "2026-11-16",
        "2026-11-22",
    )
    assert w["target_metrics"] == ["dials", "talk_seconds", "invites"]


def test_assess_a_period_not_started_has_no_through_and_no_figures():
    daily = {"R1": every_weekday(NOV, NOV_LAST, dials=300)}
    r = run([member()], daily, day=date(2026, 12, 1))
    assert r["through"] is None
    assert r["reps"][0]["dials"] == 0
    assert set(r["reps"][0]["daily"].values()) == {None}


def test_assess_counts_the_periods_days_up_to_until_only():
    daily = {
        "R1": {
            date(2026, 10, 30): totals(dials=1_000),  # before the month
            date(2026, 11, 2): totals(dials=280, talk_seconds=12_000),
            date(2026, 11, 18): totals(dials=100),  # until's own day counts
            date(2026, 11, 19): totals(dials=1_000),  # after until
        }
    }
    row = run([member()], daily)["reps"][0]
    assert row["dials"] == 380
    assert row["talk_seconds"] == 12_000
    assert row["targets"] == {"dials": 300 * 21, "talk_seconds": 13_000 * 21}
    assert row["attainment"]["dials"] == round(380 / 6_300, 4)


def test_assess_projects_the_month_from_the_calling_time_elapsed():
    daily = {"R1": every_weekday(NOV, WED_NOV_18, dials=240)}
    row = run([member()], daily)["reps"][0]
    actual = 240 * 13
    assert row["dials"] == actual
    # By Wed 18th noon: 12 full working days (2-6, 9-13, 16, 17) and the 120-minute morning,
    # of 21 × 390 calling minutes in the month.
    elapsed = 12 * 390 + 120
    assert row["projection"]["dials"] == round(actual * 21 * 390 / elapsed, 1)


def test_assess_daily_heat_is_each_days_attainment_through_until():
    daily = {"R1": {date(2026, 11, 2): totals(dials=150), date(2026, 11, 3): totals(dials=300)}}
    heat = run([member()], daily)["reps"][0]["daily"]
    assert list(heat) == [d.isoformat() for d in days(NOV, NOV_LAST)]
    assert heat["2026-11-02"] == 0.5
    assert heat["2026-11-03"] == 1.0
    assert heat["2026-11-04"] == 0.0  # a working day without calls
    assert heat["2026-11-01"] is None  # Sunday
    assert heat["2026-11-19"] is None  # not reached yet
    assert heat["2026-11-18"] == 0.0


def test_assess_inactive_reps_have_no_targets_but_their_calls_count_for_the_team():
    daily = {
        "R1": every_weekday(NOV, WED_NOV_18, dials=100),
        "R2": every_weekday(NOV, WED_NOV_18, dials=10),
    }
    r = run([member(), member("R2", rep_id=2, active=False)], daily)
    r2 = r["reps"][1]
    assert r2["targets"] == {}
    assert r2["attainment"] == {}
    assert set(r2["daily"].values()) == {None}
    assert r2["invites_by_week"][0]["target"] is None
    assert r2["invites_by_week"][0]["met"] is None
    (team,) = r["teams"]
    assert team["dials"] == (100 + 10) * 13
    assert team["targets"] == {"dials": 300 * 21, "talk_seconds": 13_000 * 21}


def test_assess_team_and_floor_rows_sum_their_reps():
    members = [member(), member("R2", rep_id=2), member("R3", rep_id=3, **TEAM_B)]
    daily = {
        "R1": every_weekday(NOV, WED_NOV_18, dials=200, orders=1, revenue=1_000),
        "R2": every_weekday(NOV, WED_NOV_18, dials=100),
        "R3": every_weekday(NOV, WED_NOV_18, dials=300, orders=2, revenue=3_000),
    }
    r = run(members, daily)
    alpha, beta = r["teams"]
    assert (alpha["name"], beta["name"]) == ("Alpha", "Beta")
    assert alpha["dials"] == 300 * 13
    assert alpha["targets"]["dials"] == 2 * 6_300
    assert beta["avg_order_value"] == 1_500.0
    assert r["floor"]["dials"] == 600 * 13
    assert r["floor"]["targets"]["dials"] == 3 * 6_300
    assert r["floor"]["avg_order_value"] == round(13 * 4_000 / (13 * 3), 1)
    assert "name" not in r["floor"]


# --- assess: weekly invites --------------------------------------------------------------------


def invites_on(*pairs: tuple[date, int]) -> dict[date, dict[str, int]]:
    return {d: totals(invites=n) for d, n in pairs}


def weeks_of(row) -> dict[str, dict]:
    return {w["week"]: w for w in row["invites_by_week"]}


def test_invites_by_week_lists_every_iso_week_the_month_touches():
    row = run([member()], {})["reps"][0]
    # 1 Nov is the Sunday of W44; 30 Nov the Monday of W49.
    assert list(weeks_of(row)) == [f"2026-W{n}" for n in range(44, 50)]
    assert all(w["target"] == 5 for w in row["invites_by_week"])


def test_a_finished_week_is_met_or_missed():
    daily = {
        "R1": invites_on(
            (date(2026, 10, 28), 4),  # W44 reaches back into October
            (date(2026, 11, 1), 1),
            (date(2026, 11, 3), 5),  # W45
            (date(2026, 11, 10), 4),  # W46: one short
        )
    }
    weeks = weeks_of(run([member()], daily)["reps"][0])
    assert (weeks["2026-W44"]["invites"], weeks["2026-W44"]["met"]) == (5, True)
    assert (weeks["2026-W45"]["invites"], weeks["2026-W45"]["met"]) == (5, True)
    assert (weeks["2026-W46"]["invites"], weeks["2026-W46"]["met"]) == (4, False)


def test_a_running_week_below_target_is_not_yet_missed():
    daily = {"R1": invites_on((date(2026, 11, 16), 2), (date(2026, 11, 20), 9))}
    weeks = weeks_of(run([member()], daily)["reps"][0])
    w47 = weeks["2026-W47"]
    assert w47["invites"] == 2  # Friday's invites are after until
    assert w47["met"] is None
    assert weeks["2026-W48"]["met"] is None  # not started
    assert weeks["2026-W48"]["invites"] == 0


def test_a_running_week_that_reached_the_target_is_met_already():
    daily = {"R1": invites_on((date(2026, 11, 16), 3), (date(2026, 11, 17), 2))}
    assert weeks_of(run([member()], daily)["reps"][0])["2026-W47"]["met"] is True


def test_a_week_is_still_running_on_its_sunday():
    sunday = date(2026, 11, 22)
    daily = {"R1": invites_on((date(2026, 11, 16), 4))}
    w47 = weeks_of(run([member()], daily, until=local(sunday, 20))["reps"][0])["2026-W47"]
    assert w47["met"] is None
    w47 = weeks_of(run([member()], daily, until=local(sunday + timedelta(days=1), 8))["reps"][0])
    assert w47["2026-W47"]["met"] is False


def test_weeks_wholly_before_since_are_not_judged():
    since = date(2026, 11, 16)
    m = member(since=since, hired_on=since)
    weeks = weeks_of(run([m], {})["reps"][0])
    for label in ("2026-W44", "2026-W45", "2026-W46"):
        assert weeks[label]["met"] is None, label


# --- assess: the review ------------------------------------------------------------------------

AUG, SEP, OCT = date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def month_of(first: date, dials: int, **values: int) -> dict[date, dict[str, int]]:
    return every_weekday(first, month_end(first), dials=dials, talk_seconds=13_000, **values)


def review_of(row) -> dict:
    return row["review"]


def test_three_complete_months_under_target_flag_the_rep():
    daily = {"R1": {**month_of(AUG, 299), **month_of(SEP, 250), **month_of(OCT, 10)}}
    r = run([member()], daily)
    review = review_of(r["reps"][0])
    assert [m["month"] for m in review["months"]] == ["2026-08", "2026-09", "2026-10"]
    assert [m["under"] for m in review["months"]] == [True, True, True]
    assert review["streak"] == 3
    assert review["flagged"] is True
    assert r["flagged"] == ["R1"]
    assert review["months"][0]["attainment"]["dials"] == round(299 / 300, 4)


def test_a_rep_meeting_every_month_is_not_flagged():
    daily = {"R1": {**month_of(AUG, 300), **month_of(SEP, 300), **month_of(OCT, 320)}}
    review = review_of(run([member()], daily)["reps"][0])
    assert [m["under"] for m in review["months"]] == [False, False, False]
    assert review["months"][2]["attainment"]["dials"] == round(320 / 300, 4)
    assert (review["streak"], review["flagged"]) == (0, False)


def test_a_month_met_in_between_resets_the_streak():
    daily = {"R1": {**month_of(AUG, 100), **month_of(SEP, 300), **month_of(OCT, 100)}}
    r = run([member()], daily)
    review = review_of(r["reps"][0])
    assert [m["under"] for m in review["months"]] == [True, False, True]
    assert (review["streak"], review["flagged"]) == (1, False)
    assert r["flagged"] == []


def test_a_month_before_since_is_not_judged_and_breaks_the_run():
    since = date(2026, 8, 17)  # August is only partly on the floor
    daily = {"R1": {**month_of(AUG, 0), **month_of(SEP, 0), **month_of(OCT, 0)}}
    review = review_of(run([member(since=since, hired_on=since)], daily)["reps"][0])
    assert [m["under"] for m in review["months"]] == [None, True, True]
    assert review["months"][0]["attainment"] == {}
    assert (review["streak"], review["flagged"]) == (2, False)


def test_a_rep_on_the_floor_from_the_first_of_a_month_is_judged_on_it():
    daily = {"R1": {**month_of(AUG, 0), **month_of(SEP, 0), **month_of(OCT, 0)}}
    review = review_of(run([member(since=AUG)], daily)["reps"][0])
    assert [m["under"] for m in review["months"]] == [True, True, True]


def test_review_months_sets_the_window_and_the_flag_threshold():
    daily = {"R1": {**month_of(SEP, 0), **month_of(OCT, 0)}}
    review = review_of(run([member()], daily, review_months=2)["reps"][0])
    assert [m["month"] for m in review["months"]] == ["2026-09", "2026-10"]
    assert (review["streak"], review["flagged"]) == (2, True)


def test_the_reports_own_month_is_judged_only_once_it_is_over():
    daily = {"R1": {**month_of(SEP, 0), **month_of(OCT, 0), **month_of(NOV, 0)}}
    on_the_last_evening = run([member()], daily, until=local(NOV_LAST, 23, 59))
    months = [m["month"] for m in review_of(on_the_last_evening["reps"][0])["months"]]
    assert months == ["2026-08", "2026-09", "2026-10"]
    # August has no data at all: under target, so the run is already three long.
    after = run([member()], daily, until=local(date(2026, 12, 1), 0, 0))
    review = review_of(after["reps"][0])
    assert [m["month"] for m in review["months"]] == ["2026-09", "2026-10", "2026-11"]
    assert [m["under"] for m in review["months"]] == [True, True, True]
    assert review["flagged"] is True


def test_a_new_month_met_after_it_ends_clears_the_flag():
    daily = {"R1": {**month_of(AUG, 0), **month_of(SEP, 0), **month_of(OCT, 0)}}
    daily["R1"].update(month_of(NOV, 300))
    during = review_of(run([member()], daily)["reps"][0])
    assert during["flagged"] is True
    after = review_of(run([member()], daily, until=local(date(2026, 12, 2)))["reps"][0])
    assert [m["under"] for m in after["months"]] == [True, True, False]
    assert after["flagged"] is False


def test_review_metrics_limits_which_targets_judge_a_month():
    rules = [*RULES, TargetRule("revenue", "month", "floor", 0, 100_000, LONG_AGO)]
    # Dials short every month, revenue met every month.
    daily = {
        "R1": {
            **month_of(AUG, 200, revenue=10_000),
            **month_of(SEP, 200, revenue=10_000),
            **month_of(OCT, 200, revenue=10_000),
        }
    }
    widened = review_of(
        run([member()], daily, rules=rules, review_metrics=["revenue", "dials"])["reps"][0]
    )
    assert widened["flagged"] is True
    # By default the sales (业绩) target alone judges: revenue met, not under.
    revenue_only = review_of(run([member()], daily, rules=rules)["reps"][0])
    assert [m["under"] for m in revenue_only["months"]] == [False, False, False]
    assert revenue_only["flagged"] is False
    # The month's attainment still shows every target.
    assert set(revenue_only["months"][0]["attainment"]) == {"dials", "talk_seconds", "revenue"}
    no_target = review_of(run([member()], daily, rules=rules, review_metrics=["orders"])["reps"][0])
    assert [m["under"] for m in no_target["months"]] == [None, None, None]
    assert no_target["flagged"] is False


def test_a_week_report_does_not_judge_a_month_that_is_still_running():
    # Week 2026-W49 runs Mon 30 Nov .. Sun 6 Dec; on Mon 30 Nov November is not over yet.
    monday = date(2026, 11, 30)
    r = run([member()], {}, period="week", day=monday, until=local(monday, 10))
    months = [m["month"] for m in review_of(r["reps"][0])["months"]]
    assert months == ["2026-08", "2026-09", "2026-10"]


# --- property: figures are the sums of the days --------------------------------------------------

PROPERTY_MEMBERS = [
    member("P1", rep_id=1),
    member("P2", rep_id=2),
    member("P3", rep_id=3, **TEAM_B),
    member("P4", rep_id=4, active=False, **TEAM_B),
]
DATA_DAYS = days(date(2026, 10, 26), date(2026, 12, 6))  # the weeks November touches
day_totals = st.fixed_dictionaries({m: st.integers(0, 500) for m in METRICS})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.fixed_dictionaries(
        {
            m.code: st.dictionaries(st.sampled_from(DATA_DAYS), day_totals, max_size=12)
            for m in PROPERTY_MEMBERS
        }
    ),
    period=st.sampled_from(["week", "month"]),
    day=st.sampled_from(days(NOV, NOV_LAST)),
    until=st.datetimes(
        min_value=datetime(2026, 10, 28),
        max_value=datetime(2026, 12, 3),
        timezones=st.just(UTC),
    ),
)
def test_assess_figures_are_the_sums_of_the_days_up_to_until(data, period, day, until):
    r = run(PROPERTY_MEMBERS, data, period=period, day=day, until=until)
    first, last = date.fromisoformat(r["first"]), date.fromisoformat(r["last"])
    through = min(last, until.astimezone(SHANGHAI).date())
    expected = {}
    for code, by_day in data.items():
        expected[code] = {
            m: sum(v[m] for d, v in by_day.items() if first <= d <= through) for m in METRICS
        }
    rows = {row["code"]: row for row in r["reps"]}
    for code, want in expected.items():
        assert {m: rows[code][m] for m in METRICS} == want, code
    teams = {t["name"]: t for t in r["teams"]}
    for name in ("Alpha", "Beta"):
        codes = [m.code for m in PROPERTY_MEMBERS if m.team == name]
        for m in METRICS:
            assert teams[name][m] == sum(expected[c][m] for c in codes)
    for m in METRICS:
        assert r["floor"][m] == sum(teams[t][m] for t in teams)
        assert r["floor"][m] == sum(e[m] for e in expected.values())


def test_a_month_with_too_few_days_present_is_not_judged():
    daily = {"R1": {**month_of(AUG, 299), **month_of(SEP, 250), **month_of(OCT, 10)}}
    # October 2026 has 22 working days; eight days of leave leave 14 (under 15), 7½ leave 14½.
    leave = {date(2026, 10, d): 1.0 for d in (5, 6, 7, 8, 9, 12, 13, 14)}
    away = replace(member(), away=leave)
    review = review_of(run([away], daily)["reps"][0])
    assert [m["under"] for m in review["months"]] == [True, True, None]
    assert review["flagged"] is False and review["streak"] == 0
    nearly = replace(member(), away={**leave, date(2026, 10, 14): 0.5})
    assert review_of(run([nearly], daily)["reps"][0])["months"][2]["under"] is None
    seven = replace(member(), away={d: v for d, v in leave.items() if d.day != 14})
    assert review_of(run([seven], daily)["reps"][0])["flagged"] is True  # 15 days there
    assert present_days(seven, FLOOR, OCT) == 15

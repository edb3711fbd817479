"""The evening report: attainment, hours behind pace, and the report built from a snapshot.

Every expected number is worked out from the floor's rules (09:30-11:30 and 13:00-17:30 in
Asia/Shanghai, Monday to Friday; 300 dials and 13,000 talk seconds a day; 150 dials for a new
hire's first 7 days), not read back from the code.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.floor.metrics import METRICS
from app.floor.pacing import Thresholds
from app.floor.progress import PacingConfig, RepInfo, enrich
from app.floor.report import (
    RATIOS,
    attainment,
    daily_report,
    day_targets,
    figures,
    hours_behind,
)
from app.floor.schedule import Schedule
from app.floor.snapshot import RepRow, build_snapshot
from app.floor.targets import RepRef, TargetRule

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
FLOOR = Schedule(SHANGHAI, ((time(9, 30), time(11, 30)), (time(13, 0), time(17, 30))))
TUESDAY = date(2026, 3, 10)
SATURDAY = date(2026, 3, 14)
SPRING_FORWARD = date(2026, 3, 8)  # New York: 02:00 EST jumps to 03:00 EDT (a Sunday)
FALL_BACK = date(2026, 11, 1)  # New York: 02:00 EDT falls back to 01:00 EST (a Sunday)
NIGHT = Schedule(NEW_YORK, ((time(1), time(4)),), frozenset(range(1, 8)))
SINCE = date(2000, 1, 1)
RULES = [
    TargetRule("dials", "day", "floor", 0, 300, SINCE),
    TargetRule("talk_seconds", "day", "floor", 0, 13_000, SINCE),
    TargetRule("invites", "week", "floor", 0, 5, SINCE),
]

# Calling minutes in each local hour of the floor's day, read off the windows by hand:
# 09:30-10:00, 10-11, 11:00-11:30 | lunch | 13-14, 14-15, 15-16, 16-17, 17:00-17:30.
CALLING_MINUTES = {9: 30, 10: 60, 11: 30, 13: 60, 14: 60, 15: 60, 16: 60, 17: 30}
DAY_MINUTES = 390


def at(hour: int, minute: int = 0, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def cell(hour: int, **values: int) -> dict[str, int]:
    return {"hour": hour, **dict.fromkeys(METRICS, 0), **values}


def on_pace_cells(target: int, fraction: float = 1.0, metric: str = "dials") -> list[dict]:
    """Hour cells that keep the running total at ``fraction`` of the day target's pace (rounded
    up, so never below it) at the end of every calling hour."""
    cells, done, elapsed = [], 0, 0
    for hour, minutes in CALLING_MINUTES.items():
        elapsed += minutes
        want = math.ceil(fraction * target * elapsed / DAY_MINUTES)
        cells.append(cell(hour, **{metric: want - done}))
        done = want
    return cells


def behind(hours, targets, until, *, day=TUESDAY, schedule=FLOOR, **kw) -> int:
    return hours_behind(hours, targets, schedule=schedule, day=day, until=until, **kw)


# --- attainment and day targets ----------------------------------------------------------------


@pytest.mark.parametrize("target", [None, 0, -5])
def test_attainment_is_none_without_a_positive_target(target):
    assert attainment(120, target) is None


def test_attainment_is_actual_over_target_rounded_to_four_places():
    assert attainment(150, 300) == 0.5
    assert attainment(1, 3) == 0.3333
    assert attainment(2, 3) == 0.6667
    assert attainment(0, 300) == 0.0
    assert attainment(330, 300) == 1.1  # over target is not capped


def test_day_targets_keeps_only_day_period_entries_keyed_by_metric():
    snapshot_targets = {"dials/day": 300, "talk_seconds/day": 13_000, "invites/week": 5}
    assert day_targets(snapshot_targets) == {"dials": 300, "talk_seconds": 13_000}
    assert day_targets({"invites/week": 5, "revenue/month": 9}) == {}


# --- hours behind ------------------------------------------------------------------------------


def test_a_rep_dialling_at_the_day_targets_pace_every_hour_is_never_behind():
    assert behind(on_pace_cells(300), {"dials": 300}, at(23, 59)) == 0


def test_a_rep_a_little_behind_but_above_the_amber_line_is_not_counted_behind():
    # 85 % of the pace is amber, not red (red is below 80 %).
    assert behind(on_pace_cells(300, 0.85), {"dials": 300}, at(12, 0)) == 0


def test_a_rep_dialling_at_three_quarters_of_pace_is_behind_in_every_ended_calling_hour():
    cells = on_pace_cells(1000, 0.75)
    # Rounded up, 0.75 × 1000 × elapsed/390 stays below 80 % of expected at every hour's end.
    assert behind(cells, {"dials": 1000}, at(14, 0)) == 4  # hours 9, 10, 11, 13


def test_a_stricter_amber_line_turns_an_amber_rep_red():
    cells = on_pace_cells(300, 0.85)
    strict = Thresholds(green=1.0, amber=0.9)
    assert behind(cells, {"dials": 300}, at(12, 0), thresholds=strict) == 3  # hours 9, 10, 11


def test_a_rep_without_dials_is_behind_in_all_eight_calling_hours_by_the_evening():
    assert len(CALLING_MINUTES) == 8
    assert behind([], {"dials": 300}, at(18, 0)) == 8
    assert behind([], {"dials": 300}, at(23, 59)) == 8


@pytest.mark.parametrize(
    ("until", "ended"),
    [
        (at(9, 0), 0),  # before calling starts
        (at(9, 59), 0),  # hour 9 ends at 10:00
        (at(10, 0), 1),  # 9
        (at(11, 59), 2),  # 9, 10 (hour 11 ends at 12:00 although its window closed at 11:30)
        (at(12, 0), 3),  # 9, 10, 11
        (at(13, 30), 3),  # hour 12 has no calling time
        (at(14, 0), 4),  # + 13
        (at(17, 45), 7),  # hour 17 not yet over
        (at(18, 0), 8),
        (at(10, 0, TUESDAY + timedelta(days=1)), 8),  # the next morning: the whole day is over
    ],
)
def test_only_calling_hours_ended_by_until_count(until, ended):
    assert behind([], {"dials": 300}, until) == ended


def test_a_zero_target_or_no_target_gives_no_hours_behind():
    assert behind([], {}, at(18, 0)) == 0
    assert behind([], {"dials": 0}, at(18, 0)) == 0


def test_a_weekend_day_gives_no_hours_behind():
    assert behind([], {"dials": 300}, at(23, 0, SATURDAY), day=SATURDAY) == 0


def test_red_on_any_day_target_counts_the_hour():
    talk_behind = on_pace_cells(300)  # dials on pace, no talk at all
    assert behind(talk_behind, {"dials": 300}, at(12, 0)) == 0
    assert behind(talk_behind, {"dials": 300, "talk_seconds": 13_000}, at(12, 0)) == 3


def test_a_catch_up_after_lunch_stops_the_count():
    # Nothing in the morning, then the whole day's dials in hour 13: red for 9, 10, 11 only.
    cells = [cell(13, dials=300)]
    assert behind(cells, {"dials": 300}, at(18, 0)) == 3


def test_calls_in_an_hour_without_calling_time_still_count_toward_the_running_total():
    # 300 dials logged at 08:00 (before the first window) cover the whole day.
    assert behind([cell(8, dials=300)], {"dials": 300}, at(18, 0)) == 0


def test_a_spring_forward_night_counts_the_two_hours_that_exist():
    # 01:00-04:00 New York on 2026-03-08 holds 01:00-02:00 EST and 03:00-04:00 EDT; 02:00 never
    # shows on the clock, so only hours 1 and 3 have calling time.
    end = datetime(2026, 3, 8, 12, tzinfo=NEW_YORK)
    assert behind([], {"dials": 300}, end, day=SPRING_FORWARD, schedule=NIGHT) == 2
    after_hour_1 = datetime(2026, 3, 8, 3, 0, tzinfo=NEW_YORK)  # 02:00 EST == 03:00 EDT
    assert behind([], {"dials": 300}, after_hour_1, day=SPRING_FORWARD, schedule=NIGHT) == 1
    on_pace = [cell(1, dials=150), cell(3, dials=150)]
    assert behind(on_pace, {"dials": 300}, end, day=SPRING_FORWARD, schedule=NIGHT) == 0


def test_a_fall_back_night_counts_the_repeated_hour_once():
    # 01:00-04:00 New York on 2026-11-01 lasts 4 real hours: 01:xx twice, then 02:xx, 03:xx.
    end = datetime(2026, 11, 1, 12, tzinfo=NEW_YORK)
    assert behind([], {"dials": 300}, end, day=FALL_BACK, schedule=NIGHT) == 3
    # Hour 1 (both passes, 2 real hours) gets half the day: 150 dials there keep it on pace.
    on_pace = [cell(1, dials=150), cell(2, dials=75), cell(3, dials=75)]
    assert behind(on_pace, {"dials": 300}, end, day=FALL_BACK, schedule=NIGHT) == 0
    # During the second pass of 01:xx the hour has not ended yet.
    second_pass = datetime(2026, 11, 1, 6, 30, tzinfo=ZoneInfo("UTC"))  # 01:30 EST
    assert behind([], {"dials": 300}, second_pass, day=FALL_BACK, schedule=NIGHT) == 0


# --- figures -----------------------------------------------------------------------------------


def totals(**values: int) -> dict[str, int]:
    return {**dict.fromkeys(METRICS, 0), **values}


def test_figures_carry_counts_ratios_targets_and_attainment():
    t = totals(
        dials=240,
        connects=90,
        talk_seconds=9_600,
        orders=3,
        invites=2,
        revenue=45_000,
        connect_orders=3,
        leads_dialled=160,
        leads_connected=60,
    )
    f = figures(t, {"talk_seconds": 13_000, "dials": 300})
    assert {m: f[m] for m in METRICS} == t
    assert f["contact_rate"] == round(60 / 160, 4)
    assert f["success_rate"] == round(3 / 90, 4)
    assert f["avg_talk_per_dial"] == 40.0  # 9,600 s / 240 dials
    assert f["avg_order_value"] == 15_000.0
    assert list(f["targets"]) == ["dials", "talk_seconds"]
    assert f["attainment"] == {"dials": 0.8, "talk_seconds": round(9_600 / 13_000, 4)}


def test_figures_ratios_are_none_without_a_denominator():
    f = figures(totals(), {})
    assert all(f[r] is None for r in RATIOS)
    assert f["targets"] == {}
    assert f["attainment"] == {}


# --- the daily report from an enriched snapshot ------------------------------------------------

TEAMS = ["Alpha", "Beta"]
TEAM_IDS = {"Alpha": 1, "Beta": 2}
# id, code, name, team, active, hired_on
REPS = [
    (1, "A1", "Ann", "Alpha", True, date(2025, 1, 6)),
    (2, "A2", "Bob", "Alpha", True, TUESDAY - timedelta(days=2)),  # day 3 of the ramp
    (3, "B1", "Cai", "Beta", True, date(2024, 5, 1)),
    (4, "B2", "Dee", "Beta", False, date(2024, 5, 1)),  # left the floor, still called today
]


def build(cells, until: datetime):
    rows = [RepRow(i, code, name, team, active) for i, code, name, team, active, _ in REPS]
    snap = build_snapshot(
        day=TUESDAY,
        timezone="Asia/Shanghai",
        generated_at=until,
        teams=TEAMS,
        reps=rows,
        cells=cells,
    )
    infos = {
        code: RepInfo(RepRef(i, TEAM_IDS[team], hired), code, team)
        for i, code, _, team, _, hired in REPS
    }
    return enrich(
        snap,
        day=TUESDAY,
        at=until,
        reps=infos,
        rules=RULES,
        schedules={},
        earlier={},
        cfg=PacingConfig(floor=FLOOR),
    )


def rep_cells(rep_id: int, hours: list[dict]) -> list[tuple[int, int, dict[str, int]]]:
    return [(rep_id, h["hour"], {m: h[m] for m in METRICS}) for h in hours]


A1_CELLS = [
    cell(9, dials=30, connects=10, talk_seconds=2_400, leads_dialled=25, leads_connected=8),
    cell(
        10,
        dials=50,
        connects=20,
        talk_seconds=3_600,
        orders=1,
        connect_orders=1,
        revenue=30_000,
        invites=1,
        leads_dialled=40,
        leads_connected=18,
    ),
    cell(11, dials=24, connects=6, talk_seconds=1_800, leads_dialled=20, leads_connected=5),
]
B1_CELLS = [cell(10, dials=5, connects=1, talk_seconds=60, leads_dialled=5, leads_connected=1)]
B2_CELLS = [cell(9, dials=7, connects=2, talk_seconds=100, orders=1, connect_orders=1, revenue=500)]
NOON = at(12, 0)


def cells_at_noon():
    # Ann: 104 dials and 7,800 s by noon; Bob: none; Cai: 5 dials; Dee (inactive): 7 dials.
    return [*rep_cells(1, A1_CELLS), *rep_cells(3, B1_CELLS), *rep_cells(4, B2_CELLS)]


def alert(rep: str, kind: str, hour: int, minute: int = 0, note: str | None = None) -> dict:
    return {
        "id": 0,
        "day": TUESDAY.isoformat(),
        "kind": kind,
        "metric": None if kind == "idle" else "dials",
        "rep": rep,
        "rep_name": rep,
        "team": "Alpha" if rep.startswith("A") else "Beta",
        "raised_at": at(hour, minute).isoformat(),
        "detail": {},
        "acknowledged_at": None,
        "acknowledged_by": "lead" if note else None,
        "note": note,
    }


ALERTS = [
    alert("A2", "idle", 10, 30),
    alert("A2", "behind_pace", 10, 0, note="coached"),
    alert("A2", "recovered", 11, 0),  # good news: not counted as raised
    alert("B1", "behind_pace", 11, 15),
    alert("Z9", "behind_pace", 11, 15),  # a rep not in the snapshot
]
NOTES = {"Beta": {"problems": "bad list", "plan": "new list", "updated_by": "lead"}}


@pytest.fixture
def report():
    snap = build(cells_at_noon(), NOON)
    return snap, daily_report(
        snap,
        day=TUESDAY,
        until=NOON,
        schedules={},
        floor_schedule=FLOOR,
        alerts=ALERTS,
        notes=NOTES,
    )


def test_daily_report_header_comes_from_the_snapshot(report):
    snap, r = report
    assert r["kind"] == "daily"
    assert r["day"] == "2026-03-10"
    assert r["timezone"] == "Asia/Shanghai"
    assert r["generated_at"] == snap["generated_at"]
    assert r["at"] == NOON.isoformat()
    assert r["target_metrics"] == ["dials", "talk_seconds"]  # weekly invites are not day targets


def test_daily_report_counts_equal_the_snapshot_totals_for_reps_teams_and_floor(report):
    snap, r = report
    assert [x["code"] for x in r["reps"]] == [x["code"] for x in snap["reps"]]
    for row, src in zip(r["reps"], snap["reps"], strict=True):
        assert {m: row[m] for m in METRICS} == src["totals"]
    for row, src in zip(r["teams"], snap["teams"], strict=True):
        assert row["name"] == src["name"]
        assert {m: row[m] for m in METRICS} == src["totals"]
    assert {m: r["floor"][m] for m in METRICS} == snap["floor"]["totals"]


def test_daily_report_counts_are_the_sums_of_the_hour_cells(report):
    _, r = report
    by_code = {x["code"]: x for x in r["reps"]}
    assert by_code["A1"]["dials"] == 30 + 50 + 24
    assert by_code["A1"]["talk_seconds"] == 2_400 + 3_600 + 1_800
    assert by_code["A2"]["dials"] == 0
    alpha, beta = r["teams"]
    assert alpha["dials"] == 104
    assert beta["dials"] == 5 + 7  # the inactive rep's calls still happened
    assert r["floor"]["dials"] == 104 + 12
    assert r["floor"]["revenue"] == 30_000 + 500


def test_daily_report_ratios_come_from_the_funnel(report):
    _, r = report
    a1 = next(x for x in r["reps"] if x["code"] == "A1")
    assert a1["contact_rate"] == round((8 + 18 + 5) / (25 + 40 + 20), 4)
    assert a1["success_rate"] == round(1 / (10 + 20 + 6), 4)  # the sale among its connects
    assert a1["avg_talk_per_dial"] == 75.0  # 7,800 s / 104 dials
    assert a1["avg_order_value"] == 30_000.0
    a2 = next(x for x in r["reps"] if x["code"] == "A2")
    assert all(a2[k] is None for k in RATIOS)
    floor = r["floor"]
    assert floor["avg_talk_per_dial"] == round((7_800 + 60 + 100) / 116, 1)
    assert floor["avg_order_value"] == round(30_500 / 2, 1)


def test_daily_report_targets_and_attainment_per_rep_team_and_floor(report):
    _, r = report
    by_code = {x["code"]: x for x in r["reps"]}
    assert by_code["A1"]["targets"] == {"dials": 300, "talk_seconds": 13_000}
    assert by_code["A1"]["attainment"] == {
        "dials": round(104 / 300, 4),
        "talk_seconds": 0.6,  # 7,800 / 13,000
    }
    assert by_code["A2"]["new_hire"] is True
    assert by_code["A2"]["targets"] == {"dials": 150, "talk_seconds": 6_500}  # the ramp
    assert by_code["B2"]["active"] is False
    assert by_code["B2"]["targets"] == {}
    assert by_code["B2"]["attainment"] == {}
    alpha, beta = r["teams"]
    assert alpha["targets"] == {"dials": 300 + 150, "talk_seconds": 13_000 + 6_500}
    assert alpha["attainment"]["dials"] == round(104 / 450, 4)
    assert beta["targets"] == {"dials": 300, "talk_seconds": 13_000}  # the inactive rep adds none
    assert r["floor"]["targets"] == {"dials": 750, "talk_seconds": 2 * 13_000 + 6_500}
    assert r["floor"]["attainment"]["dials"] == round(116 / 750, 4)


def test_daily_report_hours_behind_per_row(report):
    _, r = report
    by_code = {x["code"]: x for x in r["reps"]}
    # Ann by the end of hours 9, 10, 11 (30, 80, 104 dials) against 300 × 30/90/120 ÷ 390
    # (23.1, 69.2, 92.3): never red on dials; talk 2,400 / 6,000 / 7,800 s against
    # 13,000 × 30/90/120 ÷ 390 (1,000, 3,000, 4,000): never red either.
    assert by_code["A1"]["hours_behind"] == 0
    assert by_code["A2"]["hours_behind"] == 3  # no calls: hours 9, 10, 11 ended by noon
    assert by_code["B1"]["hours_behind"] == 3
    assert by_code["B2"]["hours_behind"] == 0  # inactive: no targets
    alpha, beta = r["teams"]
    # Alpha (450 dials, 26,000 s): 30/80/104 dials vs 34.6/103.8/138.5 is 87 %, 77 %, 75 %
    # (red in hours 10 and 11); talk 2,400/6,000/7,800 vs 2,000/6,000/8,000 is never red.
    assert alpha["hours_behind"] == 2
    assert beta["hours_behind"] == 3  # 5 + 7 dials vs 300's pace
    # Floor (750 dials): 37/92/116 vs 57.7/173.1/230.8.
    assert r["floor"]["hours_behind"] == 3


def test_daily_report_counts_only_behind_pace_and_idle_alerts_as_raised(report):
    _, r = report
    by_code = {x["code"]: x for x in r["reps"]}
    assert by_code["A2"]["alerts_raised"] == 2  # idle + behind_pace; recovered is not
    assert [a["kind"] for a in by_code["A2"]["alerts"]] == ["behind_pace", "idle", "recovered"]
    assert by_code["A2"]["alerts"][0]["note"] == "coached"
    assert set(by_code["A2"]["alerts"][0]) == {
        "kind",
        "metric",
        "raised_at",
        "acknowledged_at",
        "acknowledged_by",
        "note",
    }
    assert by_code["B1"]["alerts_raised"] == 1
    assert by_code["A1"]["alerts"] == []
    alpha, beta = r["teams"]
    assert (alpha["alerts_raised"], beta["alerts_raised"]) == (2, 1)
    assert r["floor"]["alerts_raised"] == 3  # the unknown rep's alert is left out


def test_daily_report_attaches_each_note_to_its_team(report):
    _, r = report
    alpha, beta = r["teams"]
    assert beta["note"] == NOTES["Beta"]
    assert alpha["note"] is None


def test_daily_report_uses_a_teams_own_schedule():
    # Beta calls 08:00-09:00 only: by noon its single calling hour is over, Alpha's are 9-11.
    early = Schedule(SHANGHAI, ((time(8), time(9)),))
    snap = build([], NOON)
    r = daily_report(
        snap,
        day=TUESDAY,
        until=NOON,
        schedules={"Beta": early},
        floor_schedule=FLOOR,
        alerts=[],
        notes={},
    )
    by_code = {x["code"]: x for x in r["reps"]}
    assert by_code["A1"]["hours_behind"] == 3
    assert by_code["B1"]["hours_behind"] == 1
    assert [t["hours_behind"] for t in r["teams"]] == [3, 1]
    assert r["floor"]["hours_behind"] == 3  # the floor row uses the floor's schedule

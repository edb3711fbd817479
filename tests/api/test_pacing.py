"""Pacing in the snapshot: who is behind right now, by how much, and why."""

from __future__ import annotations

import pytest

from tests.conftest import spread

TUE = "2026-11-24"  # a Tuesday
AT_1040 = f"{TUE}T10:40:00+08:00"


@pytest.fixture
def floor(api):
    """Team A by 10:40: a1 33 dials, few connected; a2 60, most connected; a3 50, half."""
    api.call("POST", "/api/v1/teams", json={"name": "A"})
    for code, name in (("a1", "甲"), ("a2", "乙"), ("a3", "丙")):
        api.call(
            "POST",
            "/api/v1/reps",
            json={"code": code, "name": name, "team": "A", "hired_on": "2025-01-01"},
        )
    start, end = f"{TUE}T09:30:00+08:00", f"{TUE}T10:40:00+08:00"
    slow = spread("a1", 33, start, end, disposition="no_answer", talk_seconds=0)
    for i, r in enumerate(slow):
        r["customer"] = f"1380000{i:04d}"
        if i % 6 == 0:
            r.update(disposition="answered", talk_seconds=40)
    fast = spread("a2", 60, start, end, talk_seconds=90)
    for i, r in enumerate(fast):
        r["customer"] = f"1390000{i:04d}"
        if i % 3 == 0:
            r.update(disposition="no_answer", talk_seconds=0)
    steady = spread("a3", 50, start, end, talk_seconds=60)
    for i, r in enumerate(steady):
        r["customer"] = f"1370000{i:04d}"
        if i % 2 == 0:
            r.update(disposition="no_answer", talk_seconds=0)
    api.post_calls(slow + fast + steady)
    return api


def rep(snap: dict, code: str) -> dict:
    return next(r for r in snap["reps"] if r["code"] == code)


def test_a_rep_behind_at_1040_shows_expected_pace_projection_and_need(floor):
    snap = floor.snapshot(TUE, at=AT_1040)
    dials = rep(snap, "a1")["pace"]["dials"]
    # 70 of 390 calling minutes gone: 300 x 70/390 = 53.8 expected; 33 is 61 %; at this rate
    # the day ends at 184; 267 more over the remaining 320 minutes is 50 an hour.
    assert dials == {
        "target": 300,
        "stretch": 360.0,
        "expected": 53.8,
        "actual": 33,
        "pace": 0.6129,
        "status": "red",
        "projection": 183.9,
        "needed_per_hour": 50.1,
    }
    assert rep(snap, "a2")["pace"]["dials"]["status"] == "green"
    assert rep(snap, "a3")["pace"]["dials"]["status"] == "amber"  # 50 of 53.8 is 93 %
    team = snap["teams"][0]["pace"]["dials"]
    assert (team["target"], team["actual"]) == (900, 143)


def test_the_behind_rep_is_diagnosed_against_the_team_median(floor):
    a1 = rep(floor.snapshot(TUE, at=AT_1040), "a1")
    factors = [d["factor"] for d in a1["diagnosis"]]
    assert "contact_rate" in factors
    contact = next(d for d in a1["diagnosis"] if d["factor"] == "contact_rate")
    assert contact["rep"] == round(6 / 33, 4) and contact["text"]["en"].startswith("contact rate")
    assert rep(floor.snapshot(TUE, at=AT_1040), "a2")["diagnosis"] == []


def test_hour_cells_carry_their_share_of_the_day_target(floor):
    hours = {h["hour"]: h for h in rep(floor.snapshot(TUE, at=AT_1040), "a1")["hours"]}
    # 09:30-10:00 is 30 of 390 calling minutes, 10:00-11:00 is 60.
    assert hours[9]["target_share"]["dials"] == round(300 * 30 / 390, 2)
    assert hours[10]["target_share"]["dials"] == round(300 * 60 / 390, 2)
    assert 12 not in hours  # lunch holds no calling time and no calls
    assert sum(h["target_share"]["dials"] for h in hours.values()) == pytest.approx(300, abs=0.05)


def test_replaying_an_earlier_instant_counts_only_the_hours_started_before_it(floor):
    a1 = rep(floor.snapshot(TUE, at=f"{TUE}T10:00:00+08:00"), "a1")
    hours = {h["hour"]: h["dials"] for h in a1["hours"]}
    # 33 dials evenly over 09:30-10:40: the 15 before 10:00 count; the 10:00 hour has not begun.
    assert (hours[9], hours[10], a1["totals"]["dials"]) == (15, 0, 15)
    assert a1["pace"]["dials"]["expected"] == round(300 * 30 / 390, 1)
    later = rep(floor.snapshot(TUE, at=f"{TUE}T10:00:01+08:00"), "a1")
    assert later["totals"]["dials"] == 33  # hour-grained: all of the 10:00 hour counts


def test_nobody_is_behind_before_the_first_window_and_expected_is_the_target_after_the_last(
    floor,
):
    early = floor.snapshot(TUE, at=f"{TUE}T09:00:00+08:00")
    assert {r["pace"]["dials"]["status"] for r in early["reps"]} == {"green"}
    assert rep(early, "a1")["pace"]["dials"]["expected"] == 0
    late = floor.snapshot(TUE, at=f"{TUE}T18:00:00+08:00")
    a1 = rep(late, "a1")["pace"]["dials"]
    assert (a1["expected"], a1["needed_per_hour"], a1["projection"]) == (300, None, 33)


def test_week_and_month_to_date_add_earlier_days(floor):
    floor.post_calls(
        spread(
            "a1",
            4,
            "2026-11-23T10:00:00+08:00",
            "2026-11-23T11:00:00+08:00",
            prefix="mon",
            outcome="invite",
        )
    )
    snap = floor.snapshot(TUE, at=AT_1040)
    week = rep(snap, "a1")["pace_week"]["invites"]
    assert (week["target"], week["actual"]) == (5, 4)
    # Monday is done and Tuesday 70 of 390 minutes in: 5 x (390 + 70) / 1950 expected.
    assert week["expected"] == round(5 * 460 / 1950, 1)
    assert "dials" not in rep(snap, "a1")["pace_month"]  # no month target is set


def test_tiers_and_mentoring_pairs_are_in_the_snapshot(floor):
    snap = floor.snapshot(TUE, at=AT_1040)
    tiers = {r["code"]: r["tier"]["day"] for r in snap["reps"]}
    assert set(tiers.values()) <= {"top", "core", "laggard", "new"}
    assert tiers["a2"] == "top"  # most dials and connects, no sales anywhere
    assert isinstance(snap["teams"][0]["mentoring"], list)


def test_a_set_target_changes_pace_and_a_rep_target_beats_the_team_one(floor):
    resp = floor.call(
        "PUT",
        "/api/v1/targets",
        json={"metric": "dials", "period": "day", "value": 100, "team": "A", "valid_from": TUE},
    )
    assert resp.status_code == 200 and resp.json()["team"] == "A"
    floor.call(
        "PUT",
        "/api/v1/targets",
        json={"metric": "dials", "period": "day", "value": 60, "rep": "a1", "valid_from": TUE},
    )
    snap = floor.snapshot(TUE, at=AT_1040)
    assert rep(snap, "a1")["pace"]["dials"]["target"] == 60
    assert rep(snap, "a2")["pace"]["dials"]["target"] == 100
    assert snap["teams"][0]["pace"]["dials"]["target"] == 260
    rules = floor.call("GET", "/api/v1/targets", token=floor.read).json()
    assert {
        "metric": "dials",
        "period": "day",
        "scope": "rep",
        "team": None,
        "rep": "a1",
        "value": 60,
        "valid_from": TUE,
    } in rules


def test_setting_targets_needs_admin_and_names_the_bad_field(floor):
    body = {"metric": "dials", "period": "day", "value": 5}
    assert floor.call("PUT", "/api/v1/targets", token=floor.read, json=body).status_code == 403
    bad = floor.call("PUT", "/api/v1/targets", json={**body, "metric": "smiles"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "metric"
    bad = floor.call("PUT", "/api/v1/targets", json={**body, "value": -1})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "value"
    missing = floor.call("PUT", "/api/v1/targets", json={**body, "team": "Z"})
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "team"


def test_plan_hands_down_150_dials_to_a_new_hire_through_day_7_then_300(api):
    api.call("POST", "/api/v1/teams", json={"name": "B"})
    api.call(
        "POST",
        "/api/v1/reps",
        json={"code": "n1", "name": "新", "team": "B", "hired_on": "2026-11-18"},
    )
    day7 = api.call("GET", "/api/v1/floor/plan", token=api.read, params={"day": "2026-11-24"})
    n1 = day7.json()["teams"][0]["reps"][0]
    assert n1["new_hire"] and n1["targets"]["day"]["dials"] == {"target": 150, "stretch": 180.0}
    day8 = api.call("GET", "/api/v1/floor/plan", token=api.read, params={"day": "2026-11-25"})
    n1 = day8.json()["teams"][0]["reps"][0]
    assert not n1["new_hire"] and n1["targets"]["day"]["dials"]["target"] == 300
    assert day8.json()["teams"][0]["targets"]["week"]["invites"]["target"] == 5

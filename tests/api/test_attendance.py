"""Attendance: a rep's day away reduces their targets, silences their alerts and shows on the
board; admins set anyone's, leads their own team's (both engines)."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.floor.attendance import Away, away_fraction, check_status, scale_targets
from tests.conftest import enrol, record

THU = "2026-11-26"  # a Thursday; week Mon 23 .. Sun 29, five working days


def put(api, rep: str, day: str, body: dict, headers: dict | None = None):
    h = headers if headers is not None else api.auth(api.admin)
    return api.client.put(f"/api/v1/attendance/{rep}/{day}", json=body, headers=h)


def rep_row(api, code: str, day: str = THU) -> dict:
    return next(r for r in api.snapshot(day)["reps"] if r["code"] == code)


def test_leave_takes_the_days_targets_off_and_a_share_of_the_weeks(api):
    enrol(api.engine, {"a1", "a2"}, team="一组")
    assert put(api, "a1", THU, {"status": "leave", "note": "年假"}).status_code == 200
    a1, a2 = rep_row(api, "a1"), rep_row(api, "a2")
    assert a1["attendance"] == {"status": "leave", "half": "", "note": "年假"}
    assert a2["attendance"] is None
    assert "dials/day" in a2["targets"] and "dials/day" not in a1["targets"]
    assert a1["pace"] == {}  # nothing to be behind on
    # The week's 5 invites over 4 working days of 5 there: 4.
    assert (a1["targets"]["invites/week"], a2["targets"]["invites/week"]) == (4, 5)
    # The team's target sums its reps' (a1 contributes none today).
    team = next(t for t in api.snapshot(THU)["teams"] if t["name"] == "一组")
    assert team["targets"]["dials/day"] == a2["targets"]["dials/day"]


def test_a_half_day_halves_the_days_targets_and_present_clears_a_mark(api):
    enrol(api.engine, {"a1"}, team="一组")
    assert put(api, "a1", THU, {"status": "half_day", "half": "pm"}).status_code == 200
    a1 = rep_row(api, "a1")
    assert a1["targets"]["dials/day"] == 150 and a1["attendance"]["half"] == "pm"
    assert put(api, "a1", THU, {"status": "present"}).status_code == 200
    a1 = rep_row(api, "a1")
    assert a1["attendance"] is None and a1["targets"]["dials/day"] == 300


def test_a_lead_sets_their_own_teams_days_and_no_one_elses(api):
    enrol(api.engine, {"a1"}, team="一组")
    enrol(api.engine, {"b1"}, team="二组")
    lead = api.sign_in("lead1", teams=("一组",))
    resp = put(api, "a1", THU, {"status": "sick"}, lead)
    assert resp.status_code == 200 and resp.json()["set_by"] == "lead1"
    assert put(api, "b1", THU, {"status": "sick"}, lead).status_code == 404  # not theirs
    assert put(api, "a1", THU, {"status": "leave"}, api.auth(api.read)).status_code == 403
    listed = api.client.get("/api/v1/attendance", params={"day": THU}, headers=lead).json()
    assert [(r["rep"], r["status"]) for r in listed] == [("a1", "sick")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "holiday"}, "status"),
        ({"status": "half_day"}, "half"),
        ({"status": "leave", "half": "am"}, "half"),
    ],
)
def test_a_mark_that_is_not_one_is_refused_naming_the_field(api, body, field):
    enrol(api.engine, {"a1"}, team="一组")
    resp = put(api, "a1", THU, body)
    assert resp.status_code == 422, resp.text
    assert field in resp.text


def test_a_rep_on_leave_raises_no_alert(api):
    enrol(api.engine, {"a1", "a2"}, team="一组")
    engine = api.client.app.state.alerts
    engine.stop()
    put(api, "a1", THU, {"status": "leave"})
    raised = engine.evaluate(datetime.fromisoformat(f"{THU}T15:00:00+08:00"))
    reps = {a["rep"] for a in raised}
    assert "a2" in reps and "a1" not in reps  # both made no call; only a2 is expected to


def test_away_fractions_and_scaled_targets():
    assert [away_fraction(s) for s in ("present", "leave", "sick", "absent")] == [0, 1, 1, 1]
    assert away_fraction("half_day", "am") == 0.5
    assert check_status("half_day", "") and check_status("leave", "pm")
    assert check_status("half_day", "am") is None
    targets = {("dials", "day"): 300, ("invites", "week"): 5, ("revenue", "month"): 100_000}
    got = scale_targets(targets, Away(today=0.5, week=1.5, month=2.0), 5, 20)
    assert got == {("dials", "day"): 150, ("invites", "week"): 4, ("revenue", "month"): 90_000}
    assert ("dials", "day") not in scale_targets(targets, Away(today=1.0), 5, 20)


def test_the_command_line_sets_and_lists_a_days_marks(cli, engine):
    enrol(engine, {"a1"}, team="一组")
    got = cli("attendance", "set", "a1", THU, "--status", "half_day", "--half", "am")
    assert got.returncode == 0, got.stderr
    assert "a1 (一组) 2026-11-26: half_day (am)" in got.stdout
    assert "a1\t一组\thalf_day\tam" in cli("attendance", "list", "--day", THU).stdout
    bad = cli("attendance", "set", "a1", THU, "--status", "holiday")
    assert bad.returncode == 2 and "status" in bad.stderr


def test_a_lead_pins_a_mentor_in_their_team_and_the_pair_replaces_the_automatic_one(api):
    enrol(api.engine, {"a1", "a2", "a3"}, team="一组")
    enrol(api.engine, {"b1"}, team="二组")
    lead = api.sign_in("lead1", teams=("一组",))

    def pin(code: str, mentor: str | None, headers: dict):
        return api.client.put(
            f"/api/v1/reps/{code}/mentor", json={"mentor": mentor}, headers=headers
        )

    assert pin("a3", "a2", lead).status_code == 200
    team = next(t for t in api.snapshot(THU)["teams"] if t["name"] == "一组")
    assert {"mentor": "a2", "mentee": "a3", "pinned": True} in team["mentoring"]
    assert not [p for p in team["mentoring"] if p["mentee"] == "a3" and not p["pinned"]]
    assert pin("b1", "a1", lead).status_code == 404  # not their team
    bad = pin("a3", "b1", api.auth(api.admin))
    assert bad.status_code == 422 and "mentor" in bad.text  # another team's rep
    assert pin("a3", None, lead).status_code == 200
    team = next(t for t in api.snapshot(THU)["teams"] if t["name"] == "一组")
    assert not [p for p in team["mentoring"] if p["pinned"]]


def test_a_new_hire_is_diagnosed_against_the_teams_new_hires_not_its_veterans(api):
    api.call("POST", "/api/v1/teams", json={"name": "C"})
    for code, hired in (("v1", "2025-01-01"), ("v2", "2025-01-01"), ("n1", THU), ("n2", THU)):
        resp = api.call(
            "POST",
            "/api/v1/reps",
            json={"code": code, "name": code, "team": "C", "hired_on": hired},
        )
        assert resp.status_code == 201, resp.text

    def calls(rep: str, talk: int) -> list[dict]:
        return [
            record(f"{rep}-{n}", rep=rep, talk_seconds=talk, customer=f"1380013{n:04d}")
            for n in range(10)
        ]

    # Veterans talk five minutes a call, new hires one: every one of them is far behind.
    api.post_calls([*calls("v1", 300), *calls("v2", 300), *calls("n1", 60), *calls("n2", 60)])
    reps = {r["code"]: r for r in api.snapshot(THU)["reps"]}
    assert reps["n1"]["new_hire"] and any(p["status"] == "red" for p in reps["n1"]["pace"].values())
    # Against its peers a new hire's talk per dial is no weakness; a veteran is judged as before.
    assert reps["n1"]["diagnosis"] == []
    assert reps["v1"]["diagnosis"] == []


def test_a_lead_sets_their_reps_targets_within_the_rules_and_every_change_is_logged(api, settings):
    enrol(api.engine, {"a1"}, team="一组")
    enrol(api.engine, {"b1"}, team="二组")
    lead = api.sign_in("lead1", teams=("一组",))
    today = settings.today().isoformat()

    def put_target(body: dict, headers: dict):
        return api.client.put("/api/v1/targets", json=body, headers=headers)

    rep_dials = {"metric": "dials", "period": "day", "rep": "a1", "value": 280}
    got = put_target(rep_dials, lead)
    assert got.status_code == 200, got.text
    assert (got.json()["set_by"], got.json()["value"]) == ("lead1", 280)
    team_rule = {"metric": "dials", "period": "day", "team": "一组", "value": 100}
    assert put_target(team_rule, lead).status_code == 403  # team targets are the admin's
    assert put_target({**rep_dials, "rep": "b1"}, lead).status_code == 404  # not their team
    past = put_target({**rep_dials, "valid_from": "2020-01-01"}, lead)
    assert past.status_code == 422 and "valid_from" in past.text
    assert put_target(team_rule, api.auth(api.admin)).status_code == 200
    changes = api.client.get(
        "/api/v1/targets/changes", params={"since": today}, headers=api.auth(api.admin)
    ).json()
    assert [(c["scope"], c["set_by"], c["value"]) for c in changes] == [
        ("team", "test-admin", 100),  # the admin token's name
        ("rep", "lead1", 280),
    ]
    # Another team's lead sees the team change (public on the floor), not 一组's rep ones.
    other = api.sign_in("lead2", teams=("二组",))
    seen = api.client.get("/api/v1/targets/changes", params={"since": today}, headers=other)
    assert [c["scope"] for c in seen.json()] == ["team"]


def test_a_lead_cannot_set_a_rep_target_below_the_floors_minimum(engine, settings):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import Api

    strict = settings.model_copy(update={"target_minimums": {"dials/day": 200}})
    with TestClient(create_app(strict)) as client:
        api = Api(client, engine)
        enrol(engine, {"a1"}, team="一组")
        lead = api.sign_in("lead1", teams=("一组",))
        body = {"metric": "dials", "period": "day", "rep": "a1", "value": 150}
        low = api.client.put("/api/v1/targets", json=body, headers=lead)
        assert low.status_code == 422 and "at least the floor's minimum, 200" in low.text
        ok = api.client.put("/api/v1/targets", json={**body, "value": 200}, headers=lead)
        assert ok.status_code == 200, ok.text


def test_the_evening_plan_shows_the_next_day_and_is_followed_up_by_the_lead(api):
    enrol(api.engine, {"a1"}, team="一组")
    enrol(api.engine, {"b1"}, team="二组")
    lead = api.sign_in("lead1", teams=("一组",))
    plan = {"problem": "接通率低", "plan": "上午多拨新名单"}
    resp = api.client.put(f"/api/v1/plans/a1/{THU}", json=plan, headers=lead)
    assert resp.status_code == 200, resp.text
    assert api.client.put(f"/api/v1/plans/b1/{THU}", json=plan, headers=lead).status_code == 404
    fri = "2026-11-27"
    mark = rep_row(api, "a1", fri)["plan"]
    assert (mark["day"], mark["plan"], mark["done"]) == (THU, "上午多拨新名单", None)
    assert rep_row(api, "a1", THU)["plan"] is None  # the day's own plan is for tomorrow
    done = api.client.put(f"/api/v1/plans/a1/{THU}/done", json={"done": True}, headers=lead)
    assert done.status_code == 200 and done.json()["followed_by"] == "lead1"
    assert rep_row(api, "a1", fri)["plan"]["done"] is True
    listed = api.client.get(
        "/api/v1/plans", params={"first": THU, "last": fri}, headers=api.auth(api.read)
    ).json()
    assert [(p["rep"], p["day"], p["done"]) for p in listed] == [("a1", THU, True)]
    none = api.client.put(f"/api/v1/plans/a1/{fri}/done", json={"done": False}, headers=lead)
    assert none.status_code == 404 and "day" in none.text


def test_a_half_day_is_paced_through_the_half_the_rep_works():
    from datetime import time as t
    from zoneinfo import ZoneInfo

    from app.floor.attendance import half_schedule, rep_schedule
    from app.floor.schedule import Schedule

    floor = Schedule(
        ZoneInfo("Asia/Shanghai"),
        ((t(9, 30), t(11, 30)), (t(11, 45), t(12, 30)), (t(13, 0), t(17, 30))),
    )
    # Away in the morning: the afternoon's windows, the one across noon cut at noon.
    assert half_schedule(floor, "am").windows == ((t(12, 0), t(12, 30)), (t(13, 0), t(17, 30)))
    assert half_schedule(floor, "pm").windows == ((t(9, 30), t(11, 30)), (t(11, 45), t(12, 0)))
    assert rep_schedule(floor, {"status": "leave", "half": ""}) is floor
    assert rep_schedule(floor, None) is floor


def test_a_rep_away_this_morning_is_not_behind_before_their_afternoon(api):
    enrol(api.engine, {"a1", "a2"}, team="一组")
    put(api, "a1", THU, {"status": "half_day", "half": "am"})
    at_noon = f"{THU}T11:59:00+08:00"
    snap = api.client.get(
        "/api/v1/floor/snapshot", params={"day": THU, "at": at_noon}, headers=api.auth(api.read)
    ).json()
    reps = {r["code"]: r for r in snap["reps"]}
    assert reps["a1"]["pace"]["dials"]["expected"] == 0  # their half has not begun
    assert reps["a2"]["pace"]["dials"]["expected"] > 0

"""Alerts: raised once when a rep turns red or goes idle, recovered, acknowledged with a note.

The tests drive the clock: every evaluation is given its instant; nothing sleeps.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import spread

TUE = "2026-11-24"


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{TUE}T{hhmm}:00+08:00")


@pytest.fixture
def floor(api):
    api.call("POST", "/api/v1/teams", json={"name": "A"})
    for code in ("a1", "a2"):
        api.call("POST", "/api/v1/reps", json={"code": code, "name": code, "team": "A"})
    engine = api.client.app.state.alerts
    # The background thread would evaluate the real clock after every post; these tests give
    # each evaluation its instant instead.
    engine.stop()
    return api, engine


def alerts(api) -> list[dict]:
    resp = api.call("GET", "/api/v1/alerts", token=api.read, params={"day": TUE})
    assert resp.status_code == 200
    return resp.json()


def test_a_red_rep_is_alerted_once_after_the_first_calling_hour_and_then_recovers(floor):
    api, engine = floor
    start = f"{TUE}T09:30:00+08:00"
    api.post_calls(spread("a1", 20, start, f"{TUE}T10:25:00+08:00"))
    api.post_calls(spread("a2", 60, start, f"{TUE}T10:25:00+08:00"))
    # 10:25: red, but the first calling hour is not over; nobody is flagged for a slow start.
    assert [a for a in engine.evaluate(at("10:25")) if a["kind"] == "behind_pace"] == []
    raised = engine.evaluate(at("10:40"))
    behind = [(a["rep"], a["metric"]) for a in raised if a["kind"] == "behind_pace"]
    assert ("a1", "dials") in behind and ("a2", "dials") not in behind
    detail = next(a for a in raised if a["metric"] == "dials")["detail"]
    assert (detail["actual"], detail["status"]) == (20, "red")
    assert engine.evaluate(at("10:41")) == []  # still red, already raised
    # a1 catches up: 45 more dials by 10:50.
    api.post_calls(spread("a1", 45, f"{TUE}T10:41:00+08:00", f"{TUE}T10:50:00+08:00", prefix="x"))
    back = engine.evaluate(at("10:51"))
    assert ("a1", "dials", "recovered") in {(a["rep"], a["metric"], a["kind"]) for a in back}
    kinds = [a["kind"] for a in alerts(api) if a["rep"] == "a1" and a["metric"] == "dials"]
    assert kinds == ["recovered", "behind_pace"]  # newest first


def test_idle_is_raised_after_15_calling_minutes_without_a_dial_but_not_over_lunch(floor):
    api, engine = floor
    api.post_calls(spread("a1", 10, f"{TUE}T09:30:00+08:00", f"{TUE}T11:25:00+08:00"))
    api.post_calls(spread("a2", 10, f"{TUE}T09:30:00+08:00", f"{TUE}T11:29:00+08:00"))
    last = max(
        r["started_at"] for r in spread("a1", 10, f"{TUE}T09:30:00+08:00", f"{TUE}T11:25:00+08:00")
    )
    assert last.startswith(f"{TUE}T11:13")
    assert [a for a in engine.evaluate(at("11:25")) if a["kind"] == "idle"] == []
    lunch = engine.evaluate(at("12:30"))  # 17 minutes since, but lunch is no calling time
    assert [a for a in lunch if a["kind"] == "idle"] == []
    back = engine.evaluate(at("13:05"))  # 11:13:30 -> 11:30, then 13:00 -> 13:05: 21.5 minutes
    idle = [(a["rep"], a["detail"]["idle_minutes"]) for a in back if a["kind"] == "idle"]
    assert ("a1", 21) in idle
    assert [a for a in engine.evaluate(at("13:06")) if a["kind"] == "idle"] == []  # once


def test_acknowledging_records_who_stepped_in_and_what_they_did(floor):
    api, engine = floor
    api.post_calls(spread("a1", 5, f"{TUE}T09:30:00+08:00", f"{TUE}T10:30:00+08:00"))
    alert = next(a for a in engine.evaluate(at("10:45")) if a["kind"] == "behind_pace")
    note = {"by": "组长 王", "note": "sat with a1 for 20 minutes; list was stale, swapped it"}
    # A TV's read token cannot acknowledge: that is a lead's (or an admin's) act.
    tv = api.call("POST", f"/api/v1/alerts/{alert['id']}/ack", token=api.read, json=note)
    assert tv.status_code == 403
    resp = api.call("POST", f"/api/v1/alerts/{alert['id']}/ack", json=note)
    assert resp.status_code == 200
    body = resp.json()
    assert body["acknowledged_by"] == "组长 王" and body["note"].startswith("sat with a1")
    assert body["acknowledged_at"] is not None
    listed = next(a for a in alerts(api) if a["id"] == alert["id"])
    assert listed["note"] == body["note"]
    missing = api.call("POST", "/api/v1/alerts/99999/ack", json={"by": "x", "note": "y"})
    assert missing.status_code == 404
    empty = api.call("POST", f"/api/v1/alerts/{alert['id']}/ack", json={"by": "x", "note": ""})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "note"


def test_the_background_engine_evaluates_after_a_commit_without_duplicating(floor):
    api, engine = floor
    engine.clock = lambda: at("10:45")
    engine.start()
    api.post_calls(spread("a1", 5, f"{TUE}T09:30:00+08:00", f"{TUE}T10:30:00+08:00"))
    # The commit hook poked the engine; wait for its run, then evaluate the same instant again.
    deadline = datetime.now().timestamp() + 10
    while engine.runs == 0 and datetime.now().timestamp() < deadline:
        engine._wake.wait(0.05)
    assert engine.runs >= 1
    engine.evaluate(at("10:45"))
    dials = [a for a in alerts(api) if a["rep"] == "a1" and a["metric"] == "dials"]
    assert len(dials) == 1


def raised(new: list[dict]) -> set[tuple[str, str]]:
    return {(a["rep"], a["kind"]) for a in new}


def test_a_team_working_on_the_floors_day_off_is_alerted_and_the_resting_floor_is_not(floor):
    """Saturday 11:00: the floor's schedule (mon-fri) rests, team S works mon-sat. Each rep has
    three dials from 09:30: s1 is behind and idle by S's schedule; a1 and a2 are off today."""
    api, engine = floor
    resp = api.call("POST", "/api/v1/teams", json={"name": "S", "working_days": "mon-sat"})
    assert resp.status_code == 201 and resp.json()["working_days"] == "mon,tue,wed,thu,fri,sat"
    api.call("POST", "/api/v1/reps", json={"code": "s1", "name": "s1", "team": "S"})
    sat = "2026-11-28"
    for code in ("a1", "a2", "s1"):
        api.post_calls(spread(code, 3, f"{sat}T09:30:00+08:00", f"{sat}T09:45:00+08:00"))
    new = engine.evaluate(datetime.fromisoformat(f"{sat}T11:00:00+08:00"))
    assert raised(new) == {("s1", "behind_pace"), ("s1", "idle")}


def test_a_team_in_another_timezone_before_its_calling_hours_is_not_alerted(floor):
    """Tuesday 16:00 in Shanghai is 09:00 in Berlin: the floor's reps (no dial all day) are
    behind and idle; team E, calling 09:30-17:30 Berlin time, has not started."""
    api, engine = floor
    resp = api.call("POST", "/api/v1/teams", json={"name": "E", "timezone": "Europe/Berlin"})
    assert resp.status_code == 201 and resp.json()["timezone"] == "Europe/Berlin"
    api.call("POST", "/api/v1/reps", json={"code": "e1", "name": "e1", "team": "E"})
    new = engine.evaluate(at("16:00"))
    assert raised(new) == {(r, k) for r in ("a1", "a2") for k in ("behind_pace", "idle")}


def test_a_lead_lists_only_their_teams_alerts(floor):
    api, engine = floor
    api.call("POST", "/api/v1/teams", json={"name": "B"})
    api.call("POST", "/api/v1/reps", json={"code": "b1", "name": "b1", "team": "B"})
    for rep in ("a1", "b1"):
        api.post_calls(spread(rep, 3, f"{TUE}T09:30:00+08:00", f"{TUE}T09:40:00+08:00"))
    raised = engine.evaluate(at("10:40"))
    assert {a["rep"] for a in raised} >= {"a1", "b1"}  # both teams have alerts to leak
    lead = api.sign_in("lead_a", teams=("A",))
    for params in ({"day": TUE}, {"day": TUE, "team": "A"}):
        resp = api.client.get("/api/v1/alerts", params=params, headers=lead)
        assert resp.status_code == 200, resp.text
        assert resp.json() and {a["team"] for a in resp.json()} == {"A"}
        assert "b1" not in resp.text
    other = api.client.get("/api/v1/alerts", params={"day": TUE, "team": "B"}, headers=lead)
    assert other.status_code == 403

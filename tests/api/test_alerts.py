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
    listed = [a for a in alerts(api) if a["rep"] == "a1" and a["metric"] == "dials"]
    assert [a["kind"] for a in listed] == ["recovered", "behind_pace"]  # newest first
    # The recovery closed the behind alert by itself: nothing left to acknowledge.
    assert [a["status"] for a in listed] == ["resolved", "resolved"]
    assert listed[1]["resolved_at"] == listed[0]["raised_at"]


def test_an_amber_rep_recovers_after_ten_minutes_out_of_the_red_not_at_once(floor):
    api, engine = floor

    def dials(got: list[dict]) -> list[tuple[str, str]]:
        return [
            (a["kind"], a["detail"]["status"])
            for a in got
            if a["metric"] == "dials" and a["rep"] == "a1"
        ]

    def statuses() -> list[str]:
        return [a["status"] for a in alerts(api) if a["rep"] == "a1" and a["metric"] == "dials"]

    start = f"{TUE}T09:30:00+08:00"
    api.post_calls(spread("a1", 20, start, f"{TUE}T10:25:00+08:00"))
    assert dials(engine.evaluate(at("10:40"))) == [("behind_pace", "red")]
    # 55 dials by 10:51 against 62 expected: amber, out of the red but not yet trusted.
    api.post_calls(spread("a1", 35, f"{TUE}T10:41:00+08:00", f"{TUE}T10:50:00+08:00", prefix="x"))
    assert dials(engine.evaluate(at("10:51"))) == []
    assert statuses() == ["open"]
    api.post_calls(spread("a1", 6, f"{TUE}T10:52:00+08:00", f"{TUE}T10:58:00+08:00", prefix="y"))
    assert dials(engine.evaluate(at("11:00"))) == []  # nine minutes
    assert dials(engine.evaluate(at("11:01"))) == [("recovered", "amber")]  # ten, still amber
    assert statuses() == ["resolved", "resolved"]

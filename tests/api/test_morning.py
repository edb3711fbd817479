"""The morning screen (/morning): yesterday per team and rep, last evening's plans with their
follow-up, today's hand-down with the stretch, who is away, and the targets changed; for the
floor, a lead's teams, or a team TV (both engines)."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from app.services.morning import previous_working_day
from tests.conftest import enrol, record


@pytest.fixture
def floor(api, settings):
    enrol(api.engine, {"a1", "a2"}, team="一组")
    enrol(api.engine, {"b1"}, team="二组")
    today = settings.today()
    before = previous_working_day(settings.pacing, today)
    started = datetime.combine(before, time(10, 0), settings.tz).isoformat()
    api.post_calls([record(f"y{n}", rep="a1", started_at=started) for n in range(12)])
    admin = api.auth(api.admin)
    plan = {"problem": "接通率低", "plan": "上午多拨新名单"}
    assert api.client.put(f"/api/v1/plans/a1/{before}", json=plan, headers=admin).status_code == 200
    assert api.client.put(f"/api/v1/plans/b1/{before}", json=plan, headers=admin).status_code == 200
    leave = {"status": "leave", "note": "年假"}
    assert (
        api.client.put(f"/api/v1/attendance/a2/{today}", json=leave, headers=admin).status_code
        == 200
    )
    rule = {"metric": "dials", "period": "day", "rep": "a1", "value": 280}
    assert api.client.put("/api/v1/targets", json=rule, headers=admin).status_code == 200
    return api, today, before


def page(api, **params):
    resp = api.client.get("/morning", params=params)
    assert resp.status_code == 200, resp.text
    return resp.text


def test_the_morning_screen_shows_yesterday_the_plans_the_handdown_and_who_is_away(floor):
    api, today, before = floor
    text = page(api, token=api.read)
    assert "晨会" in text and today.isoformat() in text and before.isoformat() in text
    # Yesterday: a1's twelve dials against the (then) 300.
    assert 'data-rep="a1"' in text and "12 / 300" in text
    # Last evening's plans, not followed up yet.
    assert "上午多拨新名单" in text and 'data-plan-status="open"' in text
    # Today's hand-down: a1's own 280 and its stretch 336, a2 away (no day target).
    assert "280 <small>· 336</small>" in text
    assert 'data-attendance="leave"' in text and "年假" in text
    # The change of a1's target, and who made it.
    assert "test-admin" in text


def test_the_morning_screen_speaks_english_and_a_lead_sees_their_teams_reps_only(floor):
    api, _, _ = floor
    assert "Morning meeting" in page(api, token=api.read, lang="en")
    lead = api.sign_in("lead2", teams=("二组",))
    resp = api.client.get("/morning", headers=lead)
    assert resp.status_code == 200
    assert 'data-rep="b1"' in resp.text and 'data-rep="a1"' not in resp.text
    assert 'data-team="一组"' in resp.text  # the teams' figures are public on the floor
    assert api.client.get("/morning").status_code == 401


def test_unresolved_agents_are_outside_every_target_sum_and_never_named_unassigned(api):
    enrol(api.engine, {"a1"}, team="一组")
    got = api.post_calls([record("u1", rep="8099"), record("u2", rep="8098")], on_roster=False)
    assert got["created"] == 2
    snap = api.snapshot()
    assert [r["code"] for r in snap["reps"]] == ["a1"]  # the unknown agents are no rep of it
    assert [t["name"] for t in snap["teams"]] == ["一组"]
    team = snap["teams"][0]
    assert snap["floor"]["targets"] == team["targets"]  # the floor sums its teams' reps only
    assert snap["floor"]["totals"]["dials"] == team["totals"]["dials"] == 0
    for path in ("/wallboard", "/lead", "/morning"):
        text = api.client.get(path, params={"token": api.admin}).text
        assert "Unassigned" not in text and "未分配" not in text

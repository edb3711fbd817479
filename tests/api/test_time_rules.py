"""Time on the floor: a phone system with a wrong clock, yesterday's call arriving today, and a
restart in the middle of the morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.db import make_engine
from app.services.alert_engine import AlertEngine
from tests.conftest import spread

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_call_from_the_future_is_refused_naming_the_field_and_the_clock(api, rec):
    now = datetime.now(UTC)
    out = api.post_calls(
        [
            rec("soon", started_at=(now + timedelta(minutes=2)).isoformat()),
            rec("later", started_at=(now + timedelta(minutes=30)).isoformat()),
        ]
    )
    soon, later = out["results"]
    assert soon["status"] == "created"  # a couple of minutes of skew is normal
    assert later["status"] == "rejected"
    [error] = later["errors"]
    assert error["field"] == "started_at"
    assert "30 minutes ahead of the server's clock (more than 5 allowed)" in error["reason"]
    # A PATCH cannot move a call into the future either.
    body = {"started_at": (now + timedelta(hours=2)).isoformat()}
    resp = api.client.patch("/api/v1/calls/default/soon", json=body, headers=api.auth(api.ingest))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "started_at"


def test_yesterdays_call_arriving_today_lands_in_yesterdays_totals_and_report(api, rec):
    today = datetime.now(SHANGHAI).date()
    yesterday = today - timedelta(days=1)
    started = datetime.combine(yesterday, datetime.min.time(), SHANGHAI) + timedelta(hours=15)
    api.post_calls([rec("late-cdr", started_at=started.isoformat(), talk_seconds=95)])
    before = api.snapshot(today.isoformat())["floor"]["totals"]["dials"]
    assert api.snapshot(yesterday.isoformat())["floor"]["totals"]["dials"] == 1
    assert before == 0
    resp = api.call("GET", "/api/v1/reports/daily", params={"day": yesterday.isoformat()})
    assert resp.json()["floor"]["talk_seconds"] == 95
    hours = {h["hour"]: h["dials"] for h in resp.json()["floor"]["hours"]}
    assert hours[15] == 1 and sum(hours.values()) == 1


def test_a_restart_mid_morning_resumes_pacing_and_raises_no_alert_twice(api, settings):
    """A rep far behind by 10:00; the server restarts at 10:00 and evaluates again at 10:00 and
    10:05: the same alerts stand, none is raised twice, and the pace figures are the same."""
    day = "2026-11-25"
    api.post_calls(
        spread("slow", 5, f"{day}T09:30:00+08:00", f"{day}T09:40:00+08:00", talk_seconds=10)
    )
    at_ten = datetime.fromisoformat(f"{day}T10:31:00+08:00")

    def process() -> AlertEngine:
        # A fresh engine and alert engine: what a restarted process starts with.
        return AlertEngine(
            make_engine(settings.resolved_database_url),
            settings.pacing,
            idle_minutes=settings.idle_minutes,
        )

    first = process().evaluate(at_ten)
    assert {(a["rep"], a["kind"], a["metric"]) for a in first} >= {
        ("slow", "behind_pace", "dials"),
        ("slow", "idle", None),
    }
    pace_before = api.snapshot(day, at=at_ten.isoformat())["reps"][0]["pace"]
    restarted = process()
    assert restarted.evaluate(at_ten) == []
    assert restarted.evaluate(at_ten + timedelta(minutes=5)) == []
    assert api.snapshot(day, at=at_ten.isoformat())["reps"][0]["pace"] == pace_before
    listed = api.call("GET", "/api/v1/alerts", params={"day": day}).json()
    assert len(listed) == len(first)


def test_calls_around_dst_changes_and_midnight_land_in_the_local_day_and_hour(api, rec):
    api.call("POST", "/api/v1/teams", json={"name": "NY", "timezone": "America/New_York"})
    api.call("POST", "/api/v1/reps", json={"code": "ny1", "name": "Ann", "team": "NY"})
    api.post_calls(
        [
            # Fall back, 1 Nov 2026: 01:30 happens twice (EDT, then EST); both are hour 1.
            rec("fb-1", rep="ny1", started_at="2026-11-01T01:30:00-04:00"),
            rec("fb-2", rep="ny1", started_at="2026-11-01T01:30:00-05:00"),
            # Spring forward, 8 Mar 2026: 02:00 never happens; 03:30 EDT is hour 3.
            rec("sf-1", rep="ny1", started_at="2026-03-08T07:30:00Z"),
            # Midnight: one second either side lands on two days.
            rec("mn-1", rep="ny1", started_at="2026-11-02T23:59:59-05:00"),
            rec("mn-2", rep="ny1", started_at="2026-11-03T00:00:01-05:00"),
        ]
    )

    def hours(day: str) -> dict[int, int]:
        rep = next(r for r in api.snapshot(day)["reps"] if r["code"] == "ny1")
        return {h["hour"]: h["dials"] for h in rep["hours"] if h["dials"]}

    assert hours("2026-11-01") == {1: 2}
    assert hours("2026-03-08") == {3: 1}
    assert hours("2026-11-02") == {23: 1}
    assert hours("2026-11-03") == {0: 1}

"""GET /api/v1/floor/leaderboard: the wallboard's week and month leaderboards, from calls posted
over the API, on both engines; and who receives which rows (a lead, a team TV, a floor TV)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from app.db import make_engine, session_scope
from app.main import create_app
from app.services.displays import create_display, list_displays, revoke_display
from tests.conftest import new_token, record, test_settings, zone_off_the_utc_date

DAY = "2026-11-26"  # a Thursday: its week is Monday 23 to Sunday 29 November
ROSTER = (
    ("a1", "安娜", "一组"),
    ("a2", "阿伟", "一组"),
    ("b1", "白雪", "二组"),
    ("c1", "陈晨", "三组"),  # a team whose rep never dials: a row of zeros, still shown
)


def sale(call_id: str, rep: str, day: str, yuan: int, hour: int = 10, **kw: Any) -> dict:
    return record(
        call_id,
        rep=rep,
        started_at=f"{day}T{hour:02d}:05:00+08:00",
        outcome="sale",
        order_value=str(yuan),
        **kw,
    )


def dial(call_id: str, rep: str, day: str, **kw: Any) -> dict:
    return record(call_id, rep=rep, started_at=f"{day}T14:20:00+08:00", **kw)


@pytest.fixture
def floor(api):
    """Three teams; calls this week, earlier this month, last month and next month."""
    for team in ("一组", "二组", "三组"):
        assert api.call("POST", "/api/v1/teams", json={"name": team}).status_code == 201
    for code, name, team in ROSTER:
        resp = api.call("POST", "/api/v1/reps", json={"code": code, "name": name, "team": team})
        assert resp.status_code == 201, resp.text
    api.post_calls(
        [
            # This week (23–29 Nov): a1 ¥300 in 2 orders, a2 ¥500, b1 ¥100 and 3 dials more.
            sale("w1", "a1", "2026-11-23", 100),
            sale("w2", "a1", DAY, 200, talk_seconds=120),
            sale("w3", "a2", "2026-11-29", 500, hour=16),
            sale("w4", "b1", "2026-11-24", 100),
            dial("w5", "b1", DAY),
            dial("w6", "b1", DAY, disposition="busy", talk_seconds=...),
            dial("w7", "b1", "2026-11-25"),
            # Earlier this month (week of 16 Nov): b1 ¥900, which wins b1 the month.
            sale("m1", "b1", "2026-11-20", 900),
            # The week before begins in October (Monday 26 Oct … 1 Nov): outside both periods.
            sale("o1", "a2", "2026-10-31", 5000),
            # Next month, and the next week (Monday 30 Nov): outside both periods.
            sale("n1", "a1", "2026-11-30", 7000),
            sale("n2", "a1", "2026-12-01", 7000),
        ],
        on_roster=False,
    )
    # An agent the roster does not know: its sale is kept off every board and team figure.
    api.post_calls([sale("u1", "9999", DAY, 8000)], on_roster=False)
    return api


def board(api, *, token: str | None = None, expect: int = 200, **params: str) -> dict:
    params = {"day": DAY, **params}
    resp = api.client.get(
        "/api/v1/floor/leaderboard", params=params, headers=api.auth(token or api.read)
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


def reps_of(body: dict) -> list[tuple[str, int]]:
    return [(r["code"], r["value"]) for r in body["reps"]]


def teams_of(body: dict) -> list[tuple[str, int]]:
    return [(t["name"], t["value"]) for t in body["teams"]]


def test_the_week_ranks_reps_and_teams_by_revenue_over_monday_to_sunday(floor):
    week = board(floor, period="week")
    assert (week["first"], week["last"], week["day"]) == ("2026-11-23", "2026-11-29", DAY)
    assert (week["period"], week["metric"], week["timezone"]) == (
        "week",
        "revenue",
        "Asia/Shanghai",
    )
    assert reps_of(week) == [("a2", 50000), ("a1", 30000), ("b1", 10000), ("c1", 0)]
    assert [(r["name"], r["team"]) for r in week["reps"]][:2] == [
        ("阿伟", "一组"),
        ("安娜", "一组"),
    ]
    assert teams_of(week) == [("一组", 80000), ("二组", 10000), ("三组", 0)]


def test_the_month_adds_the_earlier_weeks_and_stops_at_the_months_end(floor):
    month = board(floor, period="month")
    assert (month["first"], month["last"]) == ("2026-11-01", "2026-11-30")
    # 30 Nov is a Monday in the next week but in this month: a1's ¥7,000 counts here.
    assert reps_of(month) == [("a1", 730000), ("b1", 100000), ("a2", 50000), ("c1", 0)]
    assert teams_of(month) == [("一组", 780000), ("二组", 100000), ("三组", 0)]


@pytest.mark.parametrize(
    ("metric", "reps", "teams"),
    [
        # Equal figures in name order (code points: 白雪 before 阿伟, 一组 before 二组).
        ("orders", [("a1", 2), ("b1", 1), ("a2", 1), ("c1", 0)], [("一组", 3), ("二组", 1)]),
        ("dials", [("b1", 4), ("a1", 2), ("a2", 1), ("c1", 0)], [("二组", 4), ("一组", 3)]),
        ("connects", [("b1", 3), ("a1", 2), ("a2", 1), ("c1", 0)], [("一组", 3), ("二组", 3)]),
        (
            "talk_seconds",
            [("a1", 180), ("b1", 180), ("a2", 60), ("c1", 0)],
            [("一组", 240), ("二组", 180)],
        ),
        ("invites", [("a1", 0), ("b1", 0), ("a2", 0), ("c1", 0)], [("一组", 0), ("三组", 0)]),
    ],
)
def test_the_week_ranks_by_the_metric_asked_for(floor, metric, reps, teams):
    week = board(floor, period="week", metric=metric)
    assert week["metric"] == metric
    assert reps_of(week) == reps
    assert teams_of(week)[:2] == teams


def test_an_unknown_agents_calls_reach_no_row_and_no_team(floor):
    week = board(floor, period="week")
    assert "9999" not in {r["code"] for r in week["reps"]}
    assert sum(t["value"] for t in week["teams"]) == 90000  # without its ¥8,000


def test_a_rep_who_left_shows_for_the_period_they_worked_and_not_after(floor):
    resp = floor.call("PATCH", "/api/v1/reps/a2", json={"active": False})
    assert resp.status_code == 200, resp.text
    assert "a2" in dict(reps_of(board(floor, period="week")))
    # The week after: a2 left and made no call; a1 still on the floor with ¥14,000.
    later = board(floor, period="week", day="2026-12-02")
    assert reps_of(later) == [("a1", 1400000), ("b1", 0), ("c1", 0)]
    # The team still counts the figures of the rep who left, in the week they were made.
    assert dict(teams_of(board(floor, period="week")))["一组"] == 80000


def test_bad_period_or_metric_is_a_422_naming_the_field(floor):
    for params, field in (
        ({"period": "day"}, "period"),
        ({"period": "week", "metric": "leads_dialled"}, "metric"),
        ({"period": ""}, "period"),
        ({"period": "month", "day": "2026-13-01"}, "day"),
    ):
        body = board(floor, expect=422, **params)
        assert [e["field"] for e in body["errors"]] == [field], body
    body = board(floor, expect=404, period="week", team="没有这个组")
    assert body["errors"][0]["field"] == "team"


# --- who receives what -------------------------------------------------------------------------


def display_secret(api, *teams: str) -> str:
    with session_scope(api.engine) as session:
        return create_display(session, name="TV", teams=list(teams))[1]


def as_display(api, secret: str, *, expect: int = 200, **params: str) -> dict:
    resp = api.client.get(
        "/api/v1/floor/leaderboard",
        params={"day": DAY, "period": "week", **params},
        headers={"X-Display": secret},
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


EVERY_TEAM = [("一组", 80000), ("二组", 10000), ("三组", 0)]


def test_a_lead_receives_only_their_teams_reps_and_every_teams_figure(floor):
    lead = floor.sign_in("lead-b", teams=("二组",))
    resp = floor.client.get(
        "/api/v1/floor/leaderboard", params={"day": DAY, "period": "week"}, headers=lead
    )
    assert resp.status_code == 200, resp.text
    assert reps_of(resp.json()) == [("b1", 10000)]
    assert teams_of(resp.json()) == EVERY_TEAM
    other = floor.client.get(
        "/api/v1/floor/leaderboard",
        params={"day": DAY, "period": "week", "team": "一组"},
        headers=lead,
    )
    assert other.status_code == 403, other.text


def test_a_team_tv_receives_its_teams_reps_and_every_teams_figure(floor):
    secret = display_secret(floor, "一组")
    week = as_display(floor, secret)
    assert reps_of(week) == [("a2", 50000), ("a1", 30000)]
    assert teams_of(week) == EVERY_TEAM
    # The same secret as a query parameter (as the page's own link carries it).
    resp = floor.client.get(
        "/api/v1/floor/leaderboard", params={"day": DAY, "period": "week", "display": secret}
    )
    assert resp.status_code == 200 and resp.json() == week
    as_display(floor, secret, expect=403, team="二组")


def test_a_floor_tv_and_a_read_token_receive_every_rep(floor):
    everyone = [("a2", 50000), ("a1", 30000), ("b1", 10000), ("c1", 0)]
    assert reps_of(as_display(floor, display_secret(floor))) == everyone
    assert reps_of(board(floor, period="week")) == everyone
    assert reps_of(board(floor, period="week", token=floor.admin)) == everyone
    only = board(floor, period="week", team="二组")
    assert reps_of(only) == [("b1", 10000)] and teams_of(only) == EVERY_TEAM


def test_no_credential_a_revoked_tv_or_an_ingest_token_is_refused(floor):
    resp = floor.client.get("/api/v1/floor/leaderboard", params={"period": "week"})
    assert resp.status_code == 401, resp.text
    assert as_display(floor, "pbd_not-a-real-secret", expect=401)
    secret = display_secret(floor, "一组")
    with session_scope(floor.engine) as session:
        [row] = [d for d in list_displays(session) if secret.startswith(d["prefix"])]
        assert revoke_display(session, display_id=row["id"])
    as_display(floor, secret, expect=401)
    board(floor, period="week", token=floor.ingest, expect=403)


def test_the_display_header_opens_no_other_json_route(floor):
    secret = display_secret(floor)
    assert as_display(floor, secret)["reps"]
    for path in ("/api/v1/floor/snapshot", "/api/v1/reps", "/api/v1/alerts"):
        resp = floor.client.get(path, headers={"X-Display": secret})
        assert resp.status_code == 401, (path, resp.text)


# --- the floor's today --------------------------------------------------------------------------


def test_without_a_day_the_period_is_the_floors_current_one(db_url, tmp_path):
    # A zone whose date is not UTC's now: "this week" must be the floor's, not the server's.
    settings = test_settings(db_url, tmp_path, timezone=zone_off_the_utc_date(datetime.now(UTC)))
    engine = make_engine(settings.resolved_database_url)
    try:
        token = new_token(engine, "read")
        with TestClient(create_app(settings)) as client:
            resp = client.get(
                "/api/v1/floor/leaderboard",
                params={"period": "week"},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        engine.dispose()
    assert resp.status_code == 200, resp.text
    body = resp.json()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    monday = today - timedelta(days=today.isoweekday() - 1)
    assert (body["day"], body["first"]) == (today.isoformat(), monday.isoformat())
    assert body["timezone"] == settings.timezone

"""The snapshot reads the totals table: per rep, per team, per floor, per hour."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.conftest import record


def test_snapshot_sums_reps_into_teams_and_floor(api):
    for t in ("A", "B"):
        api.call("POST", "/api/v1/teams", json={"name": t})
    api.call("POST", "/api/v1/reps", json={"code": "a1", "name": "甲", "team": "A"})
    api.call("POST", "/api/v1/reps", json={"code": "b1", "name": "乙", "team": "B"})
    api.post_calls(
        [
            record("1", rep="a1", outcome="sale", order_value="1000"),
            record("2", rep="a1", started_at="2026-11-26T13:15:00+08:00", disposition="busy"),
            record("3", rep="b1", outcome="invite", talk_seconds=300),
        ]
    )
    snap = api.snapshot()
    assert snap["day"] == "2026-11-26" and snap["timezone"] == "Asia/Shanghai"
    teams = {t["name"]: t["totals"] for t in snap["teams"]}
    assert (teams["A"]["dials"], teams["A"]["connects"], teams["A"]["revenue"]) == (2, 1, 100000)
    assert (teams["B"]["invites"], teams["B"]["talk_seconds"]) == (1, 300)
    assert snap["floor"]["totals"]["dials"] == 3
    a1 = next(r for r in snap["reps"] if r["code"] == "a1")
    assert [h["hour"] for h in a1["hours"] if h["dials"]] == [10, 13]
    # Every calling hour is listed (09:30-11:30, 13:00-17:30), with calls or not.
    assert [h["hour"] for h in a1["hours"]] == [9, 10, 11, 13, 14, 15, 16, 17]
    only_b = api.snapshot(team="B")
    assert [r["code"] for r in only_b["reps"]] == ["b1"] and only_b["floor"]["totals"]["dials"] == 1


def test_snapshot_day_defaults_to_today_in_the_floor_timezone(api):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    resp = api.client.get("/api/v1/floor/snapshot", headers=api.auth(api.read))
    assert resp.status_code == 200 and resp.json()["day"] == today


def test_a_snapshot_at_an_instant_is_of_the_floors_local_date_at_that_instant(api):
    def day_at(instant: str) -> str:
        resp = api.client.get(
            "/api/v1/floor/snapshot", params={"at": instant}, headers=api.auth(api.read)
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["day"]

    # Shanghai is UTC+8: its 27th starts at 16:00 UTC on the 26th.
    assert day_at("2026-11-26T15:59:00+00:00") == "2026-11-26"
    assert day_at("2026-11-26T17:00:00+00:00") == "2026-11-27"
    assert day_at("2026-11-27T01:00:00+08:00") == "2026-11-27"


def test_other_days_are_not_in_the_snapshot(api):
    api.post_calls([record("1"), record("2", started_at="2026-11-25T10:00:00+08:00")])
    assert api.snapshot("2026-11-26")["floor"]["totals"]["dials"] == 1
    assert api.snapshot("2026-11-25")["floor"]["totals"]["dials"] == 1
    bad = api.client.get(
        "/api/v1/floor/snapshot", params={"day": "26/11/2026"}, headers=api.auth(api.read)
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "day"


def test_polling_todays_snapshot_reads_the_floor_once_per_change(api, rec):
    """A hundred polls between two commits cost one read; a commit is seen by the next poll."""
    from datetime import UTC, datetime

    hub = api.client.app.state.hub
    # The hub's clock stands still, so the floor's day does not turn between two polls (a run
    # started just before midnight). Its minute ticks still come, each a change: a poll after
    # one reads again, so reads are bounded by the changes the hub heard of (its generation).
    pinned = datetime.now(UTC)
    hub.clock = lambda: pinned
    now = pinned.isoformat()
    api.post_calls([rec("p1", started_at=now)])
    headers = api.auth(api.read)
    first = api.client.get("/api/v1/floor/snapshot", headers=headers).json()
    reads, changes = hub.reads, hub.generation
    for _ in range(100):
        again = api.client.get("/api/v1/floor/snapshot", headers=headers).json()
    assert hub.reads - reads <= hub.generation - changes  # 0 unless a tick came
    assert again["floor"]["totals"] == first["floor"]["totals"]
    reads, changes = hub.reads, hub.generation
    api.post_calls([rec("p2", started_at=now)])
    after = api.client.get("/api/v1/floor/snapshot", headers=headers).json()
    assert after["floor"]["totals"]["dials"] == first["floor"]["totals"]["dials"] + 1
    assert 1 <= hub.reads - reads <= hub.generation - changes


def test_a_write_the_hooks_never_heard_of_shows_in_the_polled_snapshot_within_a_second(api, rec):
    """A CLI import in another process writes behind the hub's back: a poll finds it by the
    board's fingerprint (checked at most once a second) and reads the floor again."""
    import time
    from datetime import UTC, datetime

    from app.db import writer
    from app.ingest.batch import apply_batch
    from app.ingest.records import CustomerHasher, parse_record
    from app.ingest.service import IngestContext
    from app.live.hub import POLL_CHECK_SECONDS

    hub = api.client.app.state.hub
    pinned = datetime.now(UTC)
    hub.clock = lambda: pinned
    api.post_calls([rec("h1", started_at=pinned.isoformat())])
    headers = api.auth(api.read)
    first = api.client.get("/api/v1/floor/snapshot", headers=headers).json()
    hasher = CustomerHasher("x" * 32, "86")
    item = parse_record(rec("h2", started_at=pinned.isoformat()), 0, default_source="cli",
                        hasher=hasher, minor_digits=2)  # fmt: skip
    settings = api.client.app.state.settings
    with writer(api.engine).begin() as conn:
        apply_batch(conn, [item], ctx=IngestContext(settings.tz, hasher), now=pinned)
    time.sleep(POLL_CHECK_SECONDS + 0.1)
    after = api.client.get("/api/v1/floor/snapshot", headers=headers).json()
    assert after["floor"]["totals"]["dials"] == first["floor"]["totals"]["dials"] + 1

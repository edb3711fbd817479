"""Teams and reps over the API: identifiers map calls to reps; clashes are 409, unknowns 404."""

from __future__ import annotations

from tests.conftest import record


def test_rep_identifiers_route_calls_to_the_rep(api):
    assert api.call("POST", "/api/v1/teams", json={"name": "一组"}).status_code == 201
    resp = api.call(
        "POST",
        "/api/v1/reps",
        json={
            "code": "8001",
            "name": "王芳",
            "team": "一组",
            "hired_on": "2026-11-20",
            "identifiers": ["SIP/1001", "ext-1001"],
        },
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["identifiers"] == ["SIP/1001", "ext-1001"]
    api.post_calls(
        [record("a", rep="8001"), record("b", rep="SIP/1001"), record("c", rep="ext-1001")]
    )
    rep = api.snapshot(team="一组")["reps"][0]
    assert (rep["code"], rep["name"], rep["totals"]["dials"]) == ("8001", "王芳", 3)


def test_reps_without_calls_are_listed_with_zero_totals(api):
    api.call("POST", "/api/v1/teams", json={"name": "二组"})
    api.call("POST", "/api/v1/reps", json={"code": "9001", "name": "李强", "team": "二组"})
    snap = api.snapshot()
    assert snap["reps"][0]["code"] == "9001" and snap["reps"][0]["totals"]["dials"] == 0
    assert [(t["name"], t["totals"]) for t in snap["teams"]] == [("二组", snap["floor"]["totals"])]


def test_duplicate_team_code_or_identifier_is_409(api):
    api.call("POST", "/api/v1/teams", json={"name": "A"})
    assert api.call("POST", "/api/v1/teams", json={"name": "A"}).status_code == 409
    api.call(
        "POST",
        "/api/v1/reps",
        json={"code": "1", "name": "x", "team": "A", "identifiers": ["ext9"]},
    )
    dup = api.call("POST", "/api/v1/reps", json={"code": "1", "name": "y", "team": "A"})
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "code"
    clash = api.call(
        "POST",
        "/api/v1/reps",
        json={"code": "2", "name": "y", "team": "A", "identifiers": ["ext9"]},
    )
    assert clash.status_code == 409 and "ext9" in clash.json()["errors"][0]["reason"]


def test_unknown_team_is_404_and_bad_fields_are_422_naming_the_field(api):
    resp = api.call("POST", "/api/v1/reps", json={"code": "1", "name": "x", "team": "nope"})
    assert resp.status_code == 404 and resp.json()["errors"][0]["field"] == "team"
    resp = api.call(
        "POST",
        "/api/v1/reps",
        json={"code": "1", "name": "x", "team": "A", "hired_on": "yesterday"},
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "hired_on"
    resp = api.call("POST", "/api/v1/teams", json={"name": "T", "timezone": "Mars/Base"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "timezone"
    api.snapshot(team="nope", expect=404)


def test_patch_moves_rep_between_teams_renames_and_deactivates(api):
    for t in ("A", "B"):
        api.call("POST", "/api/v1/teams", json={"name": t})
    api.call("POST", "/api/v1/reps", json={"code": "r1", "name": "x", "team": "A"})
    resp = api.call(
        "PATCH",
        "/api/v1/reps/r1",
        json={"team": "B", "name": "张伟", "code": "r9", "identifiers": ["7001"]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "code": "r9",
        "name": "张伟",
        "team": "B",
        "hired_on": None,
        "active": True,
        "identifiers": ["7001"],
    }
    api.post_calls(record("z", rep="7001"))
    assert api.rep_totals("r9")["dials"] == 1
    api.call("PATCH", "/api/v1/reps/r9", json={"active": False})
    # An inactive rep still shows on a day they made calls.
    assert api.rep_totals("r9")["dials"] == 1
    assert api.call("PATCH", "/api/v1/reps/nobody", json={"name": "q"}).status_code == 404


def test_team_gets_its_own_timezone_windows_and_working_days(api):
    api.call("POST", "/api/v1/teams", json={"name": "NY"})
    resp = api.call(
        "PATCH",
        "/api/v1/teams/NY",
        json={"timezone": "America/New_York", "calling_windows": "09:00-12:00, 13:00-17:00"},
    )
    assert resp.json() == {
        "name": "NY",
        "timezone": "America/New_York",
        "calling_windows": "09:00-12:00,13:00-17:00",
        "working_days": "mon,tue,wed,thu,fri",
        "reps": 0,
    }
    bad = api.call("PATCH", "/api/v1/teams/NY", json={"calling_windows": "12:00-09:00"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "calling_windows"
    sat = api.call("PATCH", "/api/v1/teams/NY", json={"working_days": "mon-sat"})
    assert sat.json()["working_days"] == "mon,tue,wed,thu,fri,sat"
    bad = api.call("PATCH", "/api/v1/teams/NY", json={"working_days": "someday"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "working_days"
    listed = api.call("GET", "/api/v1/teams", token=api.read).json()
    assert listed[0]["timezone"] == "America/New_York"

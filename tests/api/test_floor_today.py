"""Routes that default to "today" answer for the floor's local date now, which here differs from
UTC's at any hour: the floor sits in a zone chosen so (``zone_off_the_utc_date``)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import test_settings, zone_off_the_utc_date


@pytest.fixture
def settings(db_url, tmp_path):
    # Every hour is calling time on every day, so an idle alert is raised whenever it is run.
    return test_settings(
        db_url,
        tmp_path,
        timezone=zone_off_the_utc_date(datetime.now(UTC)),
        calling_windows="00:00-23:59",
        working_days="mon-sun",
    )


def test_without_a_day_the_routes_answer_for_the_floors_date_not_the_utc_date(api, settings):
    tz = ZoneInfo(settings.timezone)
    before = datetime.now(UTC)
    api.call("POST", "/api/v1/teams", json={"name": "A"})
    api.call("POST", "/api/v1/reps", json={"code": "a1", "name": "a1", "team": "A"})
    # a1 has not dialled all day: behind and idle on the floor's today.
    engine = api.client.app.state.alerts
    engine.stop()
    [idle] = [a for a in engine.evaluate(before) if a["kind"] == "idle"]
    target = api.call(
        "PUT", "/api/v1/targets", json={"metric": "orders", "period": "day", "value": 3}
    ).json()
    plan = api.call("GET", "/api/v1/floor/plan", token=api.read).json()
    listed = api.call("GET", "/api/v1/alerts", token=api.read).json()
    snapshot = api.call("GET", "/api/v1/floor/snapshot", token=api.read).json()
    after = datetime.now(UTC)
    # The floor's date holds for over an hour from `before` (see zone_off_the_utc_date).
    today = before.astimezone(tz).date().isoformat()
    assert after.astimezone(tz).date().isoformat() == today
    assert idle["day"] == today
    assert target["valid_from"] == today
    assert plan["day"] == today
    assert idle["id"] in [a["id"] for a in listed]
    assert snapshot["day"] == today

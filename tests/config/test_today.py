"""The floor's "today" is its local date, never the server's or UTC's, whatever the hour."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from app.config import Settings
from tests.conftest import zone_off_the_utc_date


def floor_in(timezone: str) -> Settings:
    return Settings(timezone=timezone, secret_key="x" * 32, _env_file=None)


def test_today_at_an_instant_is_the_floors_local_date_on_either_side_of_utc_midnight():
    shanghai, los_angeles = floor_in("Asia/Shanghai"), floor_in("America/Los_Angeles")
    # 17:00 UTC on the 4th is 01:00 on the 5th in Shanghai; 03:00 UTC on the 5th is 19:00 on
    # the 4th in Los Angeles. Two instants, two answers: no fixed date passes both.
    assert shanghai.today(datetime(2026, 12, 4, 17, 0, tzinfo=UTC)) == date(2026, 12, 5)
    assert shanghai.today(datetime(2026, 12, 4, 15, 59, 59, tzinfo=UTC)) == date(2026, 12, 4)
    assert los_angeles.today(datetime(2026, 12, 5, 3, 0, tzinfo=UTC)) == date(2026, 12, 4)
    # An instant written with another offset is the same instant.
    assert shanghai.today(datetime.fromisoformat("2031-03-09T20:00:00-05:00")) == date(2031, 3, 10)


def test_today_without_an_instant_is_the_floors_local_date_now_not_the_utc_one():
    now = datetime.now(UTC)
    zone = zone_off_the_utc_date(now)
    local = now.astimezone(ZoneInfo(zone)).date()
    assert local != now.date()  # what makes the check below mean something, at any hour
    assert floor_in(zone).today() == local

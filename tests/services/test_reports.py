"""The assessment read from the database at a fixed instant: which months the review reads and
judges, and from when a rep is judged."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.services import reports
from tests.conftest import spread

NOV_27 = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # noon in Shanghai


def _busy_months(api, code: str, months: list[str], per_day: int = 320) -> None:
    """``per_day`` dials on every weekday of ``months`` (more than the 300 target)."""
    records = []
    for month in months:
        year, mon = (int(x) for x in month.split("-"))
        for d in range(1, 32):
            try:
                day = date(year, mon, d)
            except ValueError:
                break
            if day.isoweekday() > 5:
                continue
            records += spread(
                code,
                per_day,
                f"{day}T09:30:00+08:00",
                f"{day}T17:00:00+08:00",
                prefix=f"{code}-{day}",
                talk_seconds=60,
            )
    for i in range(0, len(records), 5000):
        api.post_calls(records[i : i + 5000])


def test_a_report_ahead_of_today_judges_only_months_it_read(api, settings):
    """December's report seen on 27 November judges August to October, from their data."""
    api.call(
        "PUT",
        "/api/v1/targets",
        json={"metric": "talk_seconds", "period": "day", "value": None, "valid_from": "2026-01-01"},
    )
    api.call("POST", "/api/v1/teams", json={"name": "一组"})
    api.call(
        "POST",
        "/api/v1/reps",
        json={"code": "a1", "name": "甲", "team": "一组", "hired_on": "2026-01-05"},
    )
    _busy_months(api, "a1", ["2026-07", "2026-08", "2026-09", "2026-10"], per_day=301)
    with api.engine.connect() as conn:
        got = reports.assessment(
            conn, period="month", day=date(2026, 12, 1), now=NOV_27, pacing=settings.pacing
        )
    review = got["reps"][0]["review"]
    assert [m["month"] for m in review["months"]] == ["2026-08", "2026-09", "2026-10"]
    assert [m["under"] for m in review["months"]] == [False, False, False]
    assert review["streak"] == 0


def test_a_rep_without_a_hire_date_is_judged_from_their_first_call(api, settings):
    """A rep the phone system created (unknown code, no hire date) with months of history: the
    months after their first call are judged, though the rep row is new."""
    _busy_months(api, "x7", ["2026-07"], per_day=5)
    _busy_months(api, "x7", ["2026-08", "2026-09", "2026-10"], per_day=3)
    api.post_calls(spread("x7", 3, "2026-11-02T10:00:00+08:00", "2026-11-02T11:00:00+08:00"))
    with api.engine.connect() as conn:
        got = reports.assessment(
            conn, period="month", day=date(2026, 11, 1), now=NOV_27, pacing=settings.pacing
        )
    x7 = next(r for r in got["reps"] if r["code"] == "x7")
    assert [m["under"] for m in x7["review"]["months"]] == [True, True, True]
    assert x7["review"]["flagged"] is True
    assert got["flagged"] == ["x7"]

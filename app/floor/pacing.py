"""Expected-by-now pacing of a period target over a schedule's calling time. Pure: now is given.

Calling time is real seconds between aware instants. Window times are wall-clock times in the
schedule's timezone, so a DST day holds the time the clock on the floor's wall actually shows.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from app.floor.schedule import Schedule

PERIODS = ("day", "week", "month")
#: The days the product handles: a day in year 1 or 9999 is a typo, and date arithmetic near
#: those ends overflows.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class Thresholds:
    """Pace at or above ``green`` is green, at or above ``amber`` is amber, below that red."""

    green: float = 1.0
    amber: float = 0.8


def period_days(period: str, day: date) -> tuple[date, date]:
    """First and last date (inclusive) of the period containing `day`: the day itself; the ISO
    week Mon..Sun; the calendar month."""
    if period == "day":
        return day, day
    if period == "week":
        monday = day - timedelta(days=day.isoweekday() - 1)
        return monday, monday + timedelta(days=6)
    if period == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    raise ValueError(f"unknown period '{period}' (one of {', '.join(PERIODS)})")


def working_days(schedule: Schedule, period: str, day: date) -> list[date]:
    """The working days of ``schedule`` in the period containing ``day``."""
    first, last = period_days(period, day)
    n = (last - first).days + 1
    days = (first + timedelta(days=i) for i in range(n))
    return [d for d in days if d.isoweekday() in schedule.working_days]


@lru_cache(maxsize=8192)
def _instant(tz: ZoneInfo, day: date, wall: time) -> datetime:
    """The first instant (in UTC) at which the clock in `tz` shows `day` at `wall` or later.

    A repeated wall time (fall-back) is its first occurrence. A skipped one (spring-forward) is
    the jump itself, so a window lying wholly in the gap holds no time.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap fold=0 lands after the jump and fold=1 before it; tzdata jumps on whole seconds,
    # and zoneinfo exposes no transition list, so bisect between the two.
    lo = math.floor(naive.replace(tzinfo=tz, fold=1).timestamp())
    hi = math.ceil(first.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _utc(dt: datetime) -> datetime:
    # Same-tzinfo datetimes compare and subtract by wall clock, wrong across a DST change: UTC
    # everywhere inside. A naive value would silently take the server's zone, so refuse it.
    if dt.utcoffset() is None:
        raise ValueError(f"{dt!r} is naive; pacing needs timezone-aware datetimes")
    return dt.astimezone(UTC)


def calling_windows(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The calling windows of local date `day` as (start, end) UTC instants; [] on a non-working
    day. Wall times are placed as in :func:`calling_seconds`."""
    if day.isoweekday() not in schedule.working_days:
        return []
    tz = schedule.timezone
    return [(_instant(tz, day, a), _instant(tz, day, b)) for a, b in schedule.windows]


def calling_seconds(schedule: Schedule, start: datetime, end: datetime) -> float:
    """Calling time between two aware instants: the schedule's windows on its working days, each
    window's local wall-clock start/end converted to an instant in schedule.timezone (so DST days
    are right: a window 01:00-04:00 local on a spring-forward day holds 2 real hours). 0 if
    end <= start.

    A repeated wall time counts from its first occurrence; a skipped one from the jump.
    """
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0.0
    tz = schedule.timezone
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    seconds = 0.0
    for n in range((last - first).days + 1):
        for a, b in calling_windows(schedule, first + timedelta(days=n)):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                seconds += (hi - lo).total_seconds()
    return seconds


def period_bounds(schedule: Schedule, period: str, day: date) -> tuple[datetime, datetime]:
    """Local midnight starting the period's first day and local midnight ending its last day, as
    aware datetimes in schedule.timezone (convert to UTC before subtracting them: same-tzinfo
    arithmetic ignores a DST change)."""
    first, last = period_days(period, day)
    tz = schedule.timezone
    midnight = time()
    return (
        _instant(tz, first, midnight).astimezone(tz),
        _instant(tz, last + timedelta(days=1), midnight).astimezone(tz),
    )


def period_calling_seconds(schedule: Schedule, period: str, day: date) -> float:
    """Calling time in the whole period containing `day`."""
    return calling_seconds(schedule, *period_bounds(schedule, period, day))


@lru_cache(maxsize=4096)
def _elapsed_total(schedule: Schedule, period: str, day: date, t: datetime) -> tuple[float, float]:
    # A snapshot asks this for every rep, metric and period at one instant over a handful of
    # schedules: cached, a month's walk is done once per schedule instead of once per rep.
    start, end = period_bounds(schedule, period, day)
    until = min(_utc(t), end)
    return calling_seconds(schedule, start, until), calling_seconds(schedule, start, end)


def _expected(target: float, elapsed: float, total: float) -> float:
    # elapsed/total first: it is exactly 1.0 once the period is over, so expected == target.
    return target * (elapsed / total) if total > 0 else 0.0


def expected_by(target: float, schedule: Schedule, period: str, day: date, t: datetime) -> float:
    """target × calling time elapsed from the period's start to t ÷ calling time in the period
    (weekly/monthly targets pace over the period's working days); 0 when the period holds no
    calling time; target once t is past the last window."""
    return _expected(target, *_elapsed_total(schedule, period, day, t))


def hour_end(schedule: Schedule, day: date, hour: int) -> datetime:
    """The instant (UTC) local hour ``hour`` of ``day`` ends: the first time the clock shows
    the next hour (midnight of the next day after hour 23)."""
    if hour >= 23:
        return _instant(schedule.timezone, day + timedelta(days=1), time())
    return _instant(schedule.timezone, day, time(hour + 1))


def hour_shares(schedule: Schedule, day: date) -> dict[int, float]:
    """Local hour (0-23) -> that hour's share of the day's calling time; shares sum to 1 on a
    working day; {} on a non-working day or one without calling time. Hours without calling time
    are absent. (On a DST fall-back day a repeated local hour gets both occurrences' time.)"""
    windows = calling_windows(schedule, day)
    tz = schedule.timezone
    # Hour h runs from the first time the clock shows h:00 to the first time it shows h+1:00,
    # which spans both passes of a repeated hour and nothing of a skipped one.
    edges = [_instant(tz, day, time(h)) for h in range(24)]
    edges.append(_instant(tz, day + timedelta(days=1), time()))
    seconds: dict[int, float] = {}
    for h in range(24):
        s = sum(
            max(0.0, (min(b, edges[h + 1]) - max(a, edges[h])).total_seconds()) for a, b in windows
        )
        if s > 0:
            seconds[h] = s
    total = sum(seconds.values())
    return {h: s / total for h, s in seconds.items()} if total > 0 else {}


def _whole(x: float) -> float | int:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


@dataclass(frozen=True)
class Pace:
    """One metric's standing against its period target at one instant."""

    target: float
    stretch: float
    expected: float
    actual: float
    pace: float | None
    status: str
    projection: float | None
    needed_per_hour: float | None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pace:
        """The pace :meth:`as_dict` wrote (as rounded there)."""
        return cls(**{f.name: d[f.name] for f in fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: target/actual as ints when whole, pace to 4 decimals, the rest to 1."""
        return {
            "target": _whole(self.target),
            "stretch": _round(self.stretch, 1),
            "expected": _round(self.expected, 1),
            "actual": _whole(self.actual),
            "pace": _round(self.pace, 4),
            "status": self.status,
            "projection": _round(self.projection, 1),
            "needed_per_hour": _round(self.needed_per_hour, 1),
        }


def _status(pace: float | None, actual: float, target: float, thresholds: Thresholds) -> str:
    # No pace means nothing was expected yet: nobody is behind before calling starts.
    if pace is None or actual >= target or pace >= thresholds.green:
        return "green"
    return "amber" if pace >= thresholds.amber else "red"


def pace_for(
    *,
    target: float,
    actual: float,
    schedule: Schedule,
    period: str,
    day: date,
    now: datetime,
    stretch_pct: float = 20.0,
    thresholds: Thresholds = Thresholds(),
) -> Pace:
    """Pace of `actual` against the `period` target containing local date `day`, at instant `now`.

    Expected grows with calling time elapsed; projection extends today's rate over the period's
    calling time; needed_per_hour is what the remaining calling hours must average to hit target.
    """
    elapsed, total = _elapsed_total(schedule, period, day, now)
    remaining = total - elapsed
    expected = _expected(target, elapsed, total)
    pace = actual / expected if expected > 0 else None
    return Pace(
        target=target,
        stretch=target * (1 + stretch_pct / 100),
        expected=expected,
        actual=actual,
        pace=pace,
        status=_status(pace, actual, target, thresholds),
        projection=actual * (total / elapsed) if elapsed > 0 else None,
        needed_per_hour=max(0, target - actual) / (remaining / 3600) if remaining > 0 else None,
    )

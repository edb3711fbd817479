"""Attendance: which part of a working day a rep is away, and the targets that leaves them.
Pure. Leave reduces a rep's targets (the product's rule): none on a day away, half on a half
day, and a week's or month's target in proportion to the working days they are there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, time

from app.floor.schedule import Schedule, Window
from app.floor.targets import Key

STATUSES = ("present", "leave", "half_day", "sick", "absent")
HALVES = ("am", "pm")


def away_fraction(status: str, half: str = "") -> float:
    """How much of the working day a status takes the rep away: 0, ½ or 1."""
    if status == "present":
        return 0.0
    return 0.5 if status == "half_day" else 1.0


def check_status(status: str, half: str) -> str | None:
    """The reason a status and half do not go together, None when they do."""
    if status not in STATUSES:
        return f"must be one of {', '.join(STATUSES)}"
    if status == "half_day" and half not in HALVES:
        return "a half day needs half: am or pm"
    if status != "half_day" and half:
        return "only a half day has a half"
    return None


@dataclass(frozen=True)
class Away:
    """A rep's absence as pacing needs it: today's fraction and the days away (fractions
    summed) among the working days of the week and the month."""

    today: float = 0.0
    week: float = 0.0
    month: float = 0.0


def away_over(days: Mapping[date, float], working: Iterable[date]) -> float:
    """Days away (fractions summed) among ``working`` days."""
    return sum(days.get(d, 0.0) for d in working)


def scale_targets(
    targets: Mapping[Key, int], away: Away, working_week: int, working_month: int
) -> dict[Key, int]:
    """``targets`` with leave taken off: day targets by today's fraction (gone on a day away),
    week and month targets in proportion to the working days the rep is there."""
    share = {
        "day": 1.0 - away.today,
        "week": _present_share(away.week, working_week),
        "month": _present_share(away.month, working_month),
    }
    out: dict[Key, int] = {}
    for (metric, period), value in targets.items():
        scaled = int(value * share[period] + 0.5)
        if scaled > 0:
            out[(metric, period)] = scaled
    return out


def _present_share(days_away: float, working: int) -> float:
    return max(0.0, 1.0 - days_away / working) if working else 1.0


#: Where a working day splits into its morning and afternoon halves (local time).
MIDDAY = time(12, 0)


def half_schedule(schedule: Schedule, half: str) -> Schedule:
    """The calling windows a rep on a half day works: the afternoon's when ``half`` (the half
    they are away) is ``am``, the morning's when it is ``pm``; windows are cut at noon."""
    kept: list[Window] = []
    for start, end in schedule.windows:
        if half == "am" and end > MIDDAY:
            kept.append((max(start, MIDDAY), end))
        elif half == "pm" and start < MIDDAY:
            kept.append((start, min(end, MIDDAY)))
    if not kept:  # a floor that calls only in the half they are away: nothing left to pace
        return schedule
    return replace(schedule, windows=tuple(kept))


def rep_schedule(schedule: Schedule, mark: Mapping[str, str] | None) -> Schedule:
    """The schedule a rep is paced by today: their half's windows on a half day."""
    if mark and mark.get("status") == "half_day" and mark.get("half") in HALVES:
        return half_schedule(schedule, mark["half"])
    return schedule

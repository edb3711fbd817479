"""A floor's or team's working time: timezone, calling windows, working weekdays. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo

Window = tuple[time, time]

#: ISO weekdays, Monday = 1 … Sunday = 7.
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WORKING_DAYS = frozenset({1, 2, 3, 4, 5})


def parse_windows(text: str) -> list[Window]:
    """Parse ``"09:30-11:30,13:00-17:30"`` into ordered, non-overlapping (start, end) pairs."""
    windows: list[Window] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            a, b = part.split("-")
            start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
        except ValueError as exc:
            raise ValueError(f"'{part}' is not HH:MM-HH:MM") from exc
        if end <= start:
            raise ValueError(f"'{part}' ends before it starts")
        if windows and start < windows[-1][1]:
            raise ValueError(f"'{part}' overlaps or precedes the window before it")
        windows.append((start, end))
    if not windows:
        raise ValueError("at least one calling window is needed")
    return windows


def format_windows(windows: list[Window] | tuple[Window, ...]) -> str:
    return ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in windows)


def parse_weekdays(text: str) -> frozenset[int]:
    """Parse ``"mon-fri"``, ``"mon,wed,fri"`` or ``"1-5"`` into ISO weekday numbers."""

    def one(token: str) -> int:
        token = token.strip().lower()
        if token.isdigit() and 1 <= int(token) <= 7:
            return int(token)
        if token[:3] in WEEKDAY_NAMES:
            return WEEKDAY_NAMES.index(token[:3]) + 1
        raise ValueError(f"'{token}' is not a weekday (mon..sun or 1..7)")

    days: set[int] = set()
    for part in (p for p in text.split(",") if p.strip()):
        if "-" in part:
            a, b = (one(x) for x in part.split("-", 1))
            if b < a:
                raise ValueError(f"'{part.strip()}' runs backwards")
            days.update(range(a, b + 1))
        else:
            days.add(one(part))
    if not days:
        raise ValueError("at least one working day is needed")
    return frozenset(days)


def format_weekdays(days: frozenset[int] | set[int]) -> str:
    return ",".join(WEEKDAY_NAMES[d - 1] for d in sorted(days))


@dataclass(frozen=True)
class Schedule:
    """When a team calls. Windows are local wall-clock times in ``timezone``."""

    timezone: ZoneInfo
    windows: tuple[Window, ...]
    working_days: frozenset[int] = field(default=DEFAULT_WORKING_DAYS)

"""Each team's schedule: its own if it has one, else the floor's (from settings)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.floor.schedule import Schedule, parse_weekdays, parse_windows
from app.models import Schedule as ScheduleRow
from app.models import Team, table_of

TEAM, SCHEDULE = table_of(Team), table_of(ScheduleRow)


def team_schedules(conn: sa.Connection, floor: Schedule) -> dict[int, Schedule]:
    """team id -> the Schedule its reps call by."""
    q = sa.select(
        TEAM.c.id, SCHEDULE.c.timezone, SCHEDULE.c.calling_windows, SCHEDULE.c.workdays
    ).select_from(TEAM.outerjoin(SCHEDULE, TEAM.c.schedule_id == SCHEDULE.c.id))
    out = {}
    for team_id, tz, windows, workdays in conn.execute(q):
        if tz is None:
            out[team_id] = floor
        else:
            out[team_id] = Schedule(
                ZoneInfo(tz), tuple(parse_windows(windows)), parse_weekdays(workdays)
            )
    return out

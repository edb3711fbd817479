"""Time in agent state over a range of local days, for the reports: read from ``state_total``.

``state_total`` holds the closed intervals between a rep's events (app/ingest/agent_events.py).
For past days that is the whole story once the rep has a later event; for today the interval
still open since a rep's latest event is not in it, so a report of today leaves it out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.floor.agent_state import add_times, time_in_state
from app.models import StateTotal, table_of

STATE_TOTAL = table_of(StateTotal)

#: A :class:`app.floor.types.TimeInState` as :func:`app.floor.agent_state.time_in_state` builds it.
Time = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReportRep:
    """A rep a report lists: the database id, the code rows are keyed by, and the team."""

    id: int
    code: str
    team: str


@dataclass(frozen=True, slots=True)
class PeriodTimes:
    """Time in state of a report's reps (by code), teams (by name) and the floor; a rep or team
    no source reported in the period is absent, the floor None."""

    reps: dict[str, Time]
    teams: dict[str, Time]
    floor: Time | None


def rep_times(
    conn: sa.Connection, *, first: date, last: date, rep_ids: Collection[int]
) -> dict[int, Time]:
    """rep id -> time in state over the local days ``first``..``last`` (closed intervals only),
    in one GROUP BY query; reps without a stored second in the range are left out."""
    if not rep_ids:
        return {}
    t = STATE_TOTAL
    q = (
        sa.select(t.c.rep_id, t.c.state, t.c.reason, sa.func.sum(t.c.seconds))
        .where(t.c.day >= first, t.c.day <= last, t.c.rep_id.in_(sorted(rep_ids)))
        .group_by(t.c.rep_id, t.c.state, t.c.reason)
    )
    cells: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for rep_id, state, reason, seconds in conn.execute(q):
        # A late event can take a cell back to zero: such a row says nothing was reported.
        if seconds:
            cells[rep_id].append((state, reason, int(seconds)))
    return {rep_id: time_in_state(c) for rep_id, c in cells.items()}


def team_times(times: Mapping[int, Time], team_of: Mapping[int, str]) -> dict[str, Time]:
    """team name -> the sum of its reps' times (reps of ``times`` that ``team_of`` places)."""
    by_team: dict[str, list[Time]] = defaultdict(list)
    for rep_id, t in times.items():
        if rep_id in team_of:
            by_team[team_of[rep_id]].append(t)
    return {team: add_times(ts) for team, ts in by_team.items()}


def period_times(
    conn: sa.Connection, *, first: date, last: date, reps: Iterable[ReportRep]
) -> PeriodTimes:
    """Time in state of ``reps`` over ``first``..``last``, with each team's and the floor's sum
    of those reps (pass every rep the report's team rows stand for, not only the visible ones)."""
    listed = {r.id: r for r in reps}
    times = rep_times(conn, first=first, last=last, rep_ids=listed.keys())
    return PeriodTimes(
        reps={listed[i].code: t for i, t in times.items()},
        teams=team_times(times, {i: r.team for i, r in listed.items()}),
        floor=add_times(times.values()) if times else None,
    )

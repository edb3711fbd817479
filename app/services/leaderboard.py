"""The wallboard's week and month leaderboards: every rep's and every team's sum of one metric
over the period containing a day (weeks Monday to Sunday, as the reports count them), from the
hourly totals. Reads only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal, NamedTuple, get_args

import sqlalchemy as sa
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from app.floor.pacing import period_days
from app.models import HourlyTotal, Rep, Team, table_of
from app.services.errors import InputError

REP, TEAM, TOTAL = table_of(Rep), table_of(Team), table_of(HourlyTotal)
_STRICT = ConfigDict(extra="forbid")

Period = Literal["week", "month"]
#: The figures a leaderboard may rank by (the wallboard's "metric" setting).
LeaderMetric = Literal["revenue", "orders", "dials", "talk_seconds", "connects", "invites"]
PERIODS: tuple[str, ...] = get_args(Period)
LEADER_METRICS: tuple[str, ...] = get_args(LeaderMetric)


@with_config(_STRICT)
class LeaderRep(TypedDict):
    """One rep's figure for the period (revenue in minor units, talk time in seconds)."""

    code: str
    name: str
    team: str
    value: int


@with_config(_STRICT)
class LeaderTeam(TypedDict):
    """One team's figure: every rep now in the team, inactive ones included."""

    name: str
    value: int


@with_config(_STRICT)
class Leaderboard(TypedDict):
    """Reps and teams ranked by ``metric`` over ``first``..``last`` (the floor's dates)."""

    period: Period
    metric: LeaderMetric
    day: str
    first: str
    last: str
    timezone: str
    reps: list[LeaderRep]
    teams: list[LeaderTeam]


def leaderboard(
    conn: sa.Connection,
    *,
    period: Period,
    metric: LeaderMetric,
    day: date,
    timezone: str,
    teams: frozenset[str] | None = None,
    team: str | None = None,
) -> Leaderboard:
    """The period containing ``day`` ranked by ``metric``. Rep rows only of ``teams`` (None:
    all) and of ``team`` when named (404 if no such team); team rows always of every team, as
    the floor's team PK table is public. Agents on no team (unresolved) never appear."""
    if period not in PERIODS:
        raise InputError("period", f"must be one of {', '.join(PERIODS)}")
    if metric not in LEADER_METRICS:
        raise InputError("metric", f"must be one of {', '.join(LEADER_METRICS)}")
    first, last = period_days(period, day)
    team_names = dict(conn.execute(sa.select(TEAM.c.id, TEAM.c.name).order_by(TEAM.c.id)).all())
    if team is not None and team not in team_names.values():
        raise InputError("team", f"no team named '{team}'", 404)
    rows = _rep_sums(conn, metric=metric, first=first, last=last)

    team_values = dict.fromkeys(team_names.values(), 0)
    reps: list[LeaderRep] = []
    for r in rows:
        name = team_names[r.team_id]
        team_values[name] += r.value
        shown = r.active or r.value or r.dials  # a rep who left shows for the period they worked
        if shown and (teams is None or name in teams) and team in (None, name):
            reps.append({"code": r.code, "name": r.name, "team": name, "value": r.value})
    return {
        "period": period,
        "metric": metric,
        "day": day.isoformat(),
        "first": first.isoformat(),
        "last": last.isoformat(),
        "timezone": timezone,
        "reps": sorted(reps, key=lambda r: (-r["value"], r["name"], r["code"])),
        "teams": _ranked_teams(team_values.items()),
    }


class _RepSum(NamedTuple):
    code: str
    name: str
    team_id: int
    active: bool
    value: int
    dials: int


def _rep_sums(conn: sa.Connection, *, metric: str, first: date, last: date) -> list[_RepSum]:
    """Every rep on a team with its sum of ``metric`` and of dials over ``first``..``last``
    (0 for a rep with no hours there)."""
    in_period = sa.and_(TOTAL.c.rep_id == REP.c.id, TOTAL.c.day >= first, TOTAL.c.day <= last)
    value = sa.func.coalesce(sa.func.sum(TOTAL.c[metric]), 0)
    dials = sa.func.coalesce(sa.func.sum(TOTAL.c.dials), 0)
    q = (
        sa.select(
            REP.c.code,
            REP.c.name,
            REP.c.team_id,
            REP.c.active,
            value.label("value"),
            dials.label("dials"),
        )
        .select_from(REP.outerjoin(TOTAL, in_period))
        .where(REP.c.team_id.is_not(None))
        .group_by(REP.c.id, REP.c.code, REP.c.name, REP.c.team_id, REP.c.active)
    )
    # int(): PostgreSQL sums a BIGINT column as NUMERIC (a Decimal here).
    return [
        _RepSum(r.code, r.name, r.team_id, bool(r.active), int(r.value), int(r.dials))
        for r in conn.execute(q)
    ]


def _ranked_teams(values: Iterable[tuple[str, int]]) -> list[LeaderTeam]:
    return [{"name": n, "value": v} for n, v in sorted(values, key=lambda t: (-t[1], t[0]))]

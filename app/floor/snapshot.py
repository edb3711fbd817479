"""Assemble the floor snapshot from hourly totals. Pure: rows in, a JSON-ready dict out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar, cast

from app.floor.metrics import METRICS

#: A snapshot, typed (app.floor.types.Snapshot) or a plain dict.
View = TypeVar("View", bound=Mapping[str, Any])


@dataclass(frozen=True)
class RepRow:
    id: int
    code: str
    name: str
    team: str
    active: bool


def zero() -> dict[str, int]:
    return dict.fromkeys(METRICS, 0)


def _add(into: dict[str, int], values: dict[str, int]) -> None:
    for m in METRICS:
        into[m] += values[m]


def build_snapshot(
    *,
    day: date,
    timezone: str,
    generated_at: datetime,
    teams: Sequence[str],
    reps: Sequence[RepRow],
    cells: Iterable[tuple[int, int, dict[str, int]]],
) -> dict[str, Any]:
    """Floor, team and rep totals with each rep's hour cells, from (rep_id, hour, metrics) cells.

    Reps are listed in team order, then by name; every listed rep appears even with no calls.
    """
    by_rep: dict[int, dict[int, dict[str, int]]] = {}
    for rep_id, hour, values in cells:
        hours = by_rep.setdefault(rep_id, {})
        if hour in hours:
            _add(hours[hour], values)
        else:
            hours[hour] = dict(values)

    floor = zero()
    team_totals = {name: zero() for name in teams}
    rep_out = []
    order = {name: i for i, name in enumerate(teams)}
    for rep in sorted(reps, key=lambda r: (order.get(r.team, len(order)), r.name, r.code)):
        totals = zero()
        hours_out = []
        for hour, values in sorted(by_rep.get(rep.id, {}).items()):
            _add(totals, values)
            hours_out.append({"hour": hour, **values})
        _add(team_totals.setdefault(rep.team, zero()), totals)
        _add(floor, totals)
        rep_out.append(
            {
                "code": rep.code,
                "name": rep.name,
                "team": rep.team,
                "active": rep.active,
                "totals": totals,
                "hours": hours_out,
            }
        )
    return {
        "day": day.isoformat(),
        "timezone": timezone,
        "generated_at": generated_at.isoformat(),
        "floor": {"totals": floor},
        "teams": [{"name": name, "totals": t} for name, t in team_totals.items()],
        "reps": rep_out,
    }


#: The fields of a team row that name its reps (mentoring pairs): for that team's viewers only.
REP_NAMING_TEAM_FIELDS = frozenset({"mentoring"})


def team_level(team: Mapping[str, Any]) -> dict[str, Any]:
    """A team row as viewers of other teams see it: its figures, none of its reps' names."""
    return {k: v for k, v in team.items() if k not in REP_NAMING_TEAM_FIELDS}


def only_teams(snapshot: View, teams: frozenset[str]) -> View:
    """A lead's or a team TV's view: the floor's and every team's figures (the team PK table
    hangs on the floor for everyone), rep rows and rep-naming team fields of ``teams`` only."""
    view = {
        **snapshot,
        "teams": [t if t["name"] in teams else team_level(t) for t in snapshot["teams"]],
        "reps": [r for r in snapshot["reps"] if r["team"] in teams],
    }
    return cast(View, view)

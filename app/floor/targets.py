"""Which target applies to a rep on a day: rep beats team beats floor, the new-hire ramp. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

TARGET_METRICS = ("dials", "connects", "talk_seconds", "orders", "invites", "revenue")
PERIODS = ("day", "week", "month")
#: The activity targets a new hire's ramp takes a share of (dials have their own figure).
RAMPED = (("talk_seconds", "day"), ("connects", "day"))
SCOPES = ("floor", "team", "rep")
_RANK = {"rep": 0, "team": 1, "floor": 2}

Key = tuple[str, str]  # (metric, period)


@dataclass(frozen=True)
class TargetRule:
    metric: str
    period: str
    scope: str  # floor | team | rep
    scope_id: int  # 0 for the floor, else the team's or rep's id
    value: int | None  # None unsets the target from valid_from on
    valid_from: date


@dataclass(frozen=True)
class Ramp:
    """New hires call to a lower bar for their first ``days`` calendar days: ``dials_per_day``
    dials, and ``activity_pct`` % of the other activity targets (talk time, connects) a floor
    or team hands down."""

    days: int = 7
    dials_per_day: int = 150
    activity_pct: float = 50.0


@dataclass(frozen=True)
class RepRef:
    id: int
    team_id: int
    hired_on: date | None


def is_new_hire(hired_on: date | None, day: date, ramp: Ramp) -> bool:
    """True on days 1..``ramp.days`` of employment, ``hired_on`` being day 1."""
    return hired_on is not None and hired_on <= day <= hired_on + timedelta(days=ramp.days - 1)


def _applies(rule: TargetRule, rep: RepRef | None, team_id: int | None) -> bool:
    if rule.scope == "floor":
        return True
    if rule.scope == "team":
        return team_id is not None and rule.scope_id == team_id
    return rep is not None and rule.scope_id == rep.id


def _resolve(
    rules: Iterable[TargetRule], day: date, rep: RepRef | None, team_id: int | None
) -> tuple[dict[Key, int], dict[Key, str]]:
    best: dict[Key, tuple[int, date, TargetRule]] = {}
    for r in rules:
        if r.valid_from > day or not _applies(r, rep, team_id):
            continue
        key = (r.metric, r.period)
        rank = _RANK[r.scope]
        cur = best.get(key)
        # The narrowest scope wins; within a scope, the latest rule in force.
        if cur is None or (rank, -r.valid_from.toordinal()) < (cur[0], -cur[1].toordinal()):
            best[key] = (rank, r.valid_from, r)
    values = {k: v[2].value for k, v in best.items() if v[2].value is not None}
    sources = {k: v[2].scope for k, v in best.items() if v[2].value is not None}
    return values, sources


def rep_targets(rules: Iterable[TargetRule], rep: RepRef, day: date, ramp: Ramp) -> dict[Key, int]:
    """(metric, period) -> the value in force for ``rep`` on ``day``.

    The ramp replaces a floor or team dials/day target in a new hire's first days, and takes
    its share of a floor or team talk-time/day target; a target set for the rep personally
    still wins over it.
    """
    values, sources = _resolve(rules, day, rep, rep.team_id)
    if not is_new_hire(rep.hired_on, day, ramp):
        return values
    key = ("dials", "day")
    if sources.get(key) != "rep":
        values[key] = ramp.dials_per_day
    for key in RAMPED:
        if key in values and sources.get(key) != "rep":
            values[key] = int(values[key] * ramp.activity_pct / 100 + 0.5)
    return values


def scope_targets(
    rules: Iterable[TargetRule], day: date, team_id: int | None = None
) -> dict[Key, int]:
    """The values a team (or, with no team, the floor) hands down to a rep without own targets."""
    return _resolve(rules, day, None, team_id)[0]


def sum_targets(per_rep: Iterable[Mapping[Key, int]]) -> dict[Key, int]:
    """A team's or the floor's target: the sum of its reps' targets, per (metric, period)."""
    out: dict[Key, int] = {}
    for targets in per_rep:
        for k, v in targets.items():
            out[k] = out.get(k, 0) + v
    return out

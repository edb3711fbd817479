"""Progress against targets for a built snapshot: pace, hour shares, funnel, diagnosis, tiers.

Pure: the snapshot dict, the rules and schedules in; the same dict, enriched, out. Instants are
passed in (``at``), so any moment of any day can be evaluated or replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from app.floor.attendance import Away, rep_schedule, scale_targets
from app.floor.funnel import diagnose, funnel, medians
from app.floor.metrics import METRICS
from app.floor.pacing import Thresholds, hour_shares, pace_for, working_days
from app.floor.schedule import Schedule
from app.floor.targets import Ramp, RepRef, TargetRule, is_new_hire, rep_targets, sum_targets
from app.floor.tiers import TierInput, assign_tiers, mentoring_pairs

Key = tuple[str, str]  # (metric, period)


@dataclass(frozen=True)
class PacingConfig:
    floor: Schedule
    ramp: Ramp = field(default_factory=Ramp)
    stretch_pct: float = 20.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    minor_digits: int = 2
    #: The floor's own labels, (key, zh, en) each: diagnosis texts name funnel factors by them.
    labels: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class RepInfo:
    ref: RepRef
    code: str
    team: str
    #: Leave that takes targets off (app.floor.attendance), and today's attendance as the row
    #: shows it ({"status", "half", "note"}); None: present, no leave in the week or month.
    away: Away | None = None
    attendance: dict[str, str] | None = None
    mentor: str | None = None  # the code of the mentor a lead pinned for this rep
    plan: dict[str, Any] | None = None  # the last evening's plan (app.services.plans)


def _zero() -> dict[str, int]:
    return dict.fromkeys(METRICS, 0)


def _plus(a: Mapping[str, int], b: Mapping[str, int] | None) -> dict[str, int]:
    return {m: a[m] + (b[m] if b else 0) for m in METRICS}


def _paces(
    targets: Mapping[Key, int],
    period: str,
    actual: Mapping[str, int],
    schedule: Schedule,
    day: date,
    at: datetime,
    cfg: PacingConfig,
) -> dict[str, dict[str, Any]]:
    out = {}
    for (metric, p), value in sorted(targets.items()):
        if p != period:
            continue
        pace = pace_for(
            target=value,
            actual=actual[metric],
            schedule=schedule,
            period=period,
            day=day,
            now=at,
            stretch_pct=cfg.stretch_pct,
            thresholds=cfg.thresholds,
        )
        out[metric] = pace.as_dict()
    return out


def _hours_with_shares(
    hours: Sequence[dict[str, Any]], shares: Mapping[int, float], day_targets: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Every calling hour and every hour with calls, each with its share of the day targets."""
    by_hour = {h["hour"]: h for h in hours}
    out = []
    for hour in sorted(set(by_hour) | set(shares)):
        cell = dict(by_hour.get(hour) or {"hour": hour, **_zero()})
        share = shares.get(hour, 0.0)
        cell["target_share"] = {m: round(v * share, 2) for m, v in sorted(day_targets.items())}
        out.append(cell)
    return out


def _sum_hours(cells: Iterable[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    acc: dict[int, dict[str, Any]] = {}
    for hours in cells:
        for h in hours:
            cur = acc.setdefault(h["hour"], {"hour": h["hour"], **_zero()})
            for m in METRICS:
                cur[m] += h[m]
    return [acc[h] for h in sorted(acc)]


@dataclass
class TeamFigures:
    """What the floor's row needs of one team: the sums of its active reps' targets and of
    their week- and month-to-date totals (the floor's are sums over teams, so a team's change
    costs that team and the floor row, never a pass over every rep)."""

    targets: dict[Key, int] = field(default_factory=dict)
    week: dict[str, int] = field(default_factory=_zero)
    month: dict[str, int] = field(default_factory=_zero)


class _Shares:
    """Each schedule's hour shares of ``day``, computed once."""

    def __init__(self, day: date) -> None:
        self.day = day
        self._cache: dict[Schedule, dict[int, float]] = {}

    def __call__(self, schedule: Schedule) -> dict[int, float]:
        if schedule not in self._cache:
            self._cache[schedule] = hour_shares(schedule, self.day)
        return self._cache[schedule]


def enrich(
    snapshot: dict[str, Any],
    *,
    day: date,
    at: datetime,
    reps: Mapping[str, RepInfo],
    rules: Sequence[TargetRule],
    schedules: Mapping[str, Schedule],
    earlier: Mapping[str, Mapping[str, Mapping[str, int]]],
    cfg: PacingConfig,
) -> dict[str, Any]:
    """Add pacing, hour target shares, funnels, diagnoses and tiers to ``snapshot`` in place.

    ``reps`` and ``schedules`` are keyed by rep code and team name (a team missing from
    ``schedules`` uses the floor's); ``earlier[code][period]`` holds the rep's totals of the
    period's days before ``day`` (week and month to date). The same as :func:`enrich_team` for
    every team, then :func:`enrich_floor`.
    """
    shares = _Shares(day)
    by_team: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in snapshot["teams"]}
    for rep in snapshot["reps"]:
        by_team.setdefault(reps[rep["code"]].team, []).append(rep)
    figures = [
        enrich_team(
            team,
            by_team[team["name"]],
            day=day,
            at=at,
            reps=reps,
            rules=rules,
            schedule=schedules.get(team["name"], cfg.floor),
            earlier=earlier,
            cfg=cfg,
            shares=shares,
        )
        for team in snapshot["teams"]
    ]
    enrich_floor(snapshot["floor"], snapshot["teams"], figures, day=day, at=at, cfg=cfg)
    snapshot["at"] = at.isoformat()
    return snapshot


class _RepFigures(NamedTuple):
    """One rep's targets and figures to date, as the rep's row and the team's sums take them."""

    code: str
    active: bool
    new_hire: bool
    targets: dict[Key, int]
    totals: Mapping[str, int]
    week: dict[str, int]
    month: dict[str, int]
    funnel: dict[str, float | int | None]


def _rep_targets(
    info: RepInfo,
    active: bool,
    rules: Sequence[TargetRule],
    schedule: Schedule,
    day: date,
    cfg: PacingConfig,
) -> dict[Key, int]:
    """The rep's targets in force on ``day`` (none when inactive), less any leave."""
    targets = rep_targets(rules, info.ref, day, cfg.ramp) if active else {}
    if info.away is None:
        return targets
    # Leave reduces the targets.
    week_n = len(working_days(schedule, "week", day))
    month_n = len(working_days(schedule, "month", day))
    return scale_targets(targets, info.away, week_n, month_n)


def _rep_figures(
    rep: Mapping[str, Any],
    info: RepInfo,
    before: Mapping[str, Mapping[str, int]],
    rules: Sequence[TargetRule],
    schedule: Schedule,
    day: date,
    cfg: PacingConfig,
) -> _RepFigures:
    """The rep's targets, and their day's, week's and month's figures to date (``before``: the
    totals of the period's earlier days)."""
    totals = rep["totals"]
    return _RepFigures(
        code=rep["code"],
        active=rep["active"],
        new_hire=is_new_hire(info.ref.hired_on, day, cfg.ramp),
        targets=_rep_targets(info, rep["active"], rules, schedule, day, cfg),
        totals=totals,
        week=_plus(totals, before.get("week")),
        month=_plus(totals, before.get("month")),
        funnel=funnel(totals),
    )


def _rep_progress(
    rep: Mapping[str, Any],
    info: RepInfo,
    figures: _RepFigures,
    *,
    schedule: Schedule,
    shares: Mapping[int, float],
    day: date,
    at: datetime,
    cfg: PacingConfig,
) -> dict[str, Any]:
    """The fields pacing adds to a rep's row (all but tier and diagnosis, which are the team's)."""
    f = figures
    # A half day is paced through the windows of the half the rep works.
    own = rep_schedule(schedule, info.attendance)
    return {
        "attendance": info.attendance,
        "plan": info.plan,
        "new_hire": f.new_hire,
        **_target_paces(f.targets, f.totals, f.week, f.month, own, schedule, day, at, cfg),
        "hours": _hours_with_shares(rep["hours"], shares, _day_targets(f.targets)),
        "funnel": f.funnel,
    }


def _day_targets(targets: Mapping[Key, int]) -> dict[str, int]:
    return {m: v for (m, p), v in targets.items() if p == "day"}


def _tier_input(rep: _RepFigures, totals: Mapping[str, int]) -> TierInput:
    return TierInput(rep.code, totals["revenue"], totals["orders"], totals["dials"], rep.new_hire)


def _tier_inputs(active: Sequence[_RepFigures]) -> dict[str, list[TierInput]]:
    """period -> the active reps' figures the tiers rank: the day's, the month to date."""
    return {
        "day": [_tier_input(a, a.totals) for a in active],
        "month": [_tier_input(a, a.month) for a in active],
    }


Medians = dict[str, float | None]


def _peer_medians(active: Sequence[_RepFigures]) -> tuple[Medians | None, Medians | None]:
    """The funnel medians of the team's active reps, and of its new hires alone (None with
    fewer than two: a new hire with no peer gets no diagnosis)."""
    funnels = [a.funnel for a in active]
    # New hires are compared with the team's other new hires, not with its veterans (a first
    # week's figures are not a veteran's).
    new_funnels = [a.funnel for a in active if a.new_hire]
    return (
        medians(funnels) if funnels else None,
        medians(new_funnels) if len(new_funnels) >= 2 else None,
    )


def _diagnosis(
    rep: Mapping[str, Any],
    team_medians: Medians | None,
    new_medians: Medians | None,
    cfg: PacingConfig,
) -> list[Any]:
    """Why a rep behind pace is behind, against their peers' medians (none when on pace)."""
    behind = any(p["status"] == "red" for p in rep["pace"].values())
    against = new_medians if rep["new_hire"] else team_medians
    if not behind or against is None:
        return []
    return diagnose(rep["funnel"], against, minor_digits=cfg.minor_digits, names=cfg.labels)


def _team_figures(active: Sequence[_RepFigures]) -> TeamFigures:
    return TeamFigures(
        sum_targets(a.targets for a in active),
        _sum_totals(a.week for a in active),
        _sum_totals(a.month for a in active),
    )


def enrich_team(
    team: dict[str, Any],
    team_reps: Sequence[dict[str, Any]],
    *,
    day: date,
    at: datetime,
    reps: Mapping[str, RepInfo],
    rules: Sequence[TargetRule],
    schedule: Schedule,
    earlier: Mapping[str, Mapping[str, Mapping[str, int]]],
    cfg: PacingConfig,
    shares: Callable[[Schedule], dict[int, float]] | None = None,
) -> TeamFigures:
    """Enrich one team's row and its reps' rows in place (see :func:`enrich`); what the floor
    row needs of the team comes back. Tiers, medians and mentoring are within the team."""
    team_shares = (shares or _Shares(day))(schedule)
    active: list[_RepFigures] = []
    for rep in team_reps:
        info = reps[rep["code"]]
        mine = _rep_figures(rep, info, earlier.get(rep["code"], {}), rules, schedule, day, cfg)
        rep.update(
            _rep_progress(
                rep, info, mine, schedule=schedule, shares=team_shares, day=day, at=at, cfg=cfg
            )
        )
        if mine.active:
            active.append(mine)

    team_medians, new_medians = _peer_medians(active)
    tier_inputs = _tier_inputs(active)
    tiers = {period: assign_tiers(inputs) for period, inputs in tier_inputs.items() if inputs}
    for rep in team_reps:
        rep["tier"] = {p: tiers.get(p, {}).get(rep["code"]) for p in ("day", "month")}
        rep["diagnosis"] = _diagnosis(rep, team_medians, new_medians, cfg)

    figures = _team_figures(active)
    hours = (r["hours"] for r in team_reps)
    team.update(_group_fields(team["totals"], figures, hours, team_shares, schedule, day, at, cfg))
    pinned = {r["code"]: m for r in team_reps if (m := reps[r["code"]].mentor)}
    team["mentoring"] = mentoring_pairs(tier_inputs["month"], tiers.get("month", {}), pinned)
    return figures


def enrich_floor(
    floor: dict[str, Any],
    teams: Sequence[dict[str, Any]],
    figures: Iterable[TeamFigures],
    *,
    day: date,
    at: datetime,
    cfg: PacingConfig,
) -> None:
    """Enrich the floor's row in place from its (enriched) team rows and their figures."""
    figures = list(figures)
    sums = TeamFigures(
        sum_targets(f.targets for f in figures),
        _sum_totals(f.week for f in figures),
        _sum_totals(f.month for f in figures),
    )
    shares = hour_shares(cfg.floor, day)
    hours = (t["hours"] for t in teams)
    floor.update(_group_fields(floor["totals"], sums, hours, shares, cfg.floor, day, at, cfg))


def _sum_totals(rows: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out = _zero()
    for r in rows:
        for m in METRICS:
            out[m] += r[m]
    return out


def _target_paces(
    targets: Mapping[Key, int],
    totals: Mapping[str, int],
    week: Mapping[str, int],
    month: Mapping[str, int],
    day_schedule: Schedule,
    schedule: Schedule,
    day: date,
    at: datetime,
    cfg: PacingConfig,
) -> dict[str, Any]:
    """A row's targets and its paces against them: the day's through ``day_schedule``, the
    week's and month's to date through ``schedule``."""
    return {
        "targets": {f"{m}/{p}": v for (m, p), v in sorted(targets.items())},
        "pace": _paces(targets, "day", totals, day_schedule, day, at, cfg),
        "pace_week": _paces(targets, "week", week, schedule, day, at, cfg),
        "pace_month": _paces(targets, "month", month, schedule, day, at, cfg),
    }


def _group_fields(
    totals: Mapping[str, int],
    sums: TeamFigures,
    hours: Iterable[Sequence[dict[str, Any]]],
    shares: Mapping[int, float],
    schedule: Schedule,
    day: date,
    at: datetime,
    cfg: PacingConfig,
) -> dict[str, Any]:
    """A team's or the floor's targets, paces, hours and funnel from the sums of its members'
    (``hours``: each member row's hour cells)."""
    return {
        **_target_paces(
            sums.targets, totals, sums.week, sums.month, schedule, schedule, day, at, cfg
        ),
        "hours": _hours_with_shares(_sum_hours(hours), shares, _day_targets(sums.targets)),
        "funnel": funnel(totals),
    }

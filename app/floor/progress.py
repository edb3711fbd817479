"""Progress against targets for a built snapshot: pace, hour shares, funnel, diagnosis, tiers.

Pure: the snapshot dict, the rules and schedules in; the same dict, enriched, out. Instants are
passed in (``at``), so any moment of any day can be evaluated or replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.floor.funnel import diagnose, funnel, medians
from app.floor.metrics import METRICS
from app.floor.pacing import Thresholds, hour_shares, pace_for
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


@dataclass(frozen=True)
class RepInfo:
    ref: RepRef
    code: str
    team: str


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
    period's days before ``day`` (week and month to date).
    """
    day_targets_by_team: dict[str, list[dict[Key, int]]] = {}
    funnels_by_team: dict[str, list[dict[str, Any]]] = {}
    period_totals_by_team: dict[str, dict[str, list[dict[str, int]]]] = {}
    tier_inputs: dict[str, dict[str, list[TierInput]]] = {}
    share_cache: dict[Schedule, dict[int, float]] = {}

    def shares(schedule: Schedule) -> dict[int, float]:
        if schedule not in share_cache:
            share_cache[schedule] = hour_shares(schedule, day)
        return share_cache[schedule]

    for rep in snapshot["reps"]:
        info = reps[rep["code"]]
        schedule = schedules.get(info.team, cfg.floor)
        targets = rep_targets(rules, info.ref, day, cfg.ramp) if rep["active"] else {}
        totals = rep["totals"]
        before = earlier.get(rep["code"], {})
        week, month = _plus(totals, before.get("week")), _plus(totals, before.get("month"))
        rep["new_hire"] = is_new_hire(info.ref.hired_on, day, cfg.ramp)
        rep["targets"] = {f"{m}/{p}": v for (m, p), v in sorted(targets.items())}
        rep["pace"] = _paces(targets, "day", totals, schedule, day, at, cfg)
        rep["pace_week"] = _paces(targets, "week", week, schedule, day, at, cfg)
        rep["pace_month"] = _paces(targets, "month", month, schedule, day, at, cfg)
        day_targets = {m: v for (m, p), v in targets.items() if p == "day"}
        rep["hours"] = _hours_with_shares(rep["hours"], shares(schedule), day_targets)
        rep["funnel"] = funnel(totals)
        if rep["active"]:
            day_targets_by_team.setdefault(info.team, []).append(targets)
            funnels_by_team.setdefault(info.team, []).append(rep["funnel"])
            team_periods = period_totals_by_team.setdefault(info.team, {"week": [], "month": []})
            team_periods["week"].append(week)
            team_periods["month"].append(month)
            for period, t in (("day", totals), ("month", month)):
                tier_inputs.setdefault(info.team, {}).setdefault(period, []).append(
                    TierInput(rep["code"], t["revenue"], t["orders"], t["dials"], rep["new_hire"])
                )

    team_medians = {team: medians(f) for team, f in funnels_by_team.items()}
    tiers = {
        team: {period: assign_tiers(inputs) for period, inputs in by_period.items()}
        for team, by_period in tier_inputs.items()
    }
    for rep in snapshot["reps"]:
        team = reps[rep["code"]].team
        rep["tier"] = {p: tiers.get(team, {}).get(p, {}).get(rep["code"]) for p in ("day", "month")}
        behind = any(p["status"] == "red" for p in rep["pace"].values())
        rep["diagnosis"] = (
            diagnose(rep["funnel"], team_medians[team], minor_digits=cfg.minor_digits)
            if behind and team in team_medians
            else []
        )

    all_targets: list[dict[Key, int]] = []
    all_week: list[dict[str, int]] = []
    all_month: list[dict[str, int]] = []
    for team in snapshot["teams"]:
        name = team["name"]
        schedule = schedules.get(name, cfg.floor)
        targets = sum_targets(day_targets_by_team.get(name, []))
        all_targets.extend(day_targets_by_team.get(name, []))
        periods = period_totals_by_team.get(name, {"week": [], "month": []})
        all_week.extend(periods["week"])
        all_month.extend(periods["month"])
        week = _sum_totals(periods["week"])
        month = _sum_totals(periods["month"])
        _enrich_group(team, targets, week, month, schedule, day, at, cfg)
        team["hours"] = _hours_with_shares(
            _sum_hours(r["hours"] for r in snapshot["reps"] if r["team"] == name),
            shares(schedule),
            {m: v for (m, p), v in targets.items() if p == "day"},
        )
        team["funnel"] = funnel(team["totals"])
        team_reps = tier_inputs.get(name, {}).get("month", [])
        team["mentoring"] = mentoring_pairs(team_reps, tiers.get(name, {}).get("month", {}))

    floor = snapshot["floor"]
    targets = sum_targets(all_targets)
    _enrich_group(
        floor,
        targets,
        _sum_totals(all_week),
        _sum_totals(all_month),
        cfg.floor,
        day,
        at,
        cfg,
    )
    floor["hours"] = _hours_with_shares(
        _sum_hours(t["hours"] for t in snapshot["teams"]),
        shares(cfg.floor),
        {m: v for (m, p), v in targets.items() if p == "day"},
    )
    floor["funnel"] = funnel(floor["totals"])
    snapshot["at"] = at.isoformat()
    return snapshot


def _sum_totals(rows: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out = _zero()
    for r in rows:
        for m in METRICS:
            out[m] += r[m]
    return out


def _enrich_group(
    group: dict[str, Any],
    targets: Mapping[Key, int],
    week: Mapping[str, int],
    month: Mapping[str, int],
    schedule: Schedule,
    day: date,
    at: datetime,
    cfg: PacingConfig,
) -> None:
    group["targets"] = {f"{m}/{p}": v for (m, p), v in sorted(targets.items())}
    group["pace"] = _paces(targets, "day", group["totals"], schedule, day, at, cfg)
    group["pace_week"] = _paces(targets, "week", week, schedule, day, at, cfg)
    group["pace_month"] = _paces(targets, "month", month, schedule, day, at, cfg)

"""The evening report's figures for one day, from an enriched snapshot. Pure: no clock, no I/O.

Every number is the snapshot's own (the report is the wallboard's day, summed up), plus what the
snapshot does not carry: attainment of each day target, the hours a rep spent behind pace, and
the alerts raised about them with the notes leads left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from app.floor.agent_state import PauseReason
from app.floor.funnel import funnel
from app.floor.metrics import METRICS
from app.floor.pacing import Thresholds, hour_end, hour_shares, pace_for
from app.floor.schedule import Schedule
from app.floor.targets import TARGET_METRICS

#: The ratios a report row carries beside the counts, named as in the snapshot's funnel.
RATIOS = ("contact_rate", "avg_talk_per_dial", "success_rate", "avg_order_value")
#: Alert kinds that count as "raised" (a recovery is good news, not an alert).
RAISED_KINDS = frozenset({"behind_pace", "idle"})
#: How a pause sent without a reason is labelled: not "other", which a floor's list may have.
UNSPECIFIED_REASON = {"zh": "未注明", "en": "Unspecified"}


def attainment(actual: float, target: float | None) -> float | None:
    """actual ÷ target to 4 decimals; None without a positive target."""
    if not target or target <= 0:
        return None
    return round(actual / target, 4)


def day_targets(targets: Mapping[str, int]) -> dict[str, int]:
    """metric -> value of the day-period entries of a snapshot's ``targets`` ("dials/day": 300)."""
    out = {}
    for key, value in targets.items():
        metric, _, period = key.partition("/")
        if period == "day":
            out[metric] = value
    return out


def hours_behind(
    hours: Sequence[Mapping[str, Any]],
    targets: Mapping[str, int],
    *,
    schedule: Schedule,
    day: date,
    until: datetime,
    thresholds: Thresholds = Thresholds(),
) -> int:
    """How many calling hours of ``day`` ended with the figures behind pace (red) on any day
    target, judged at each hour's end from the hour cells; only hours ended by ``until`` count."""
    targets = {m: v for m, v in targets.items() if v and v > 0}
    if not targets:
        return 0
    shares = hour_shares(schedule, day)
    by_hour = {h["hour"]: h for h in hours}
    running = dict.fromkeys(targets, 0)
    behind = 0
    for hour in range(24):
        cell = by_hour.get(hour)
        if cell is not None:
            for m in running:
                running[m] += cell[m]
        if hour not in shares:
            continue
        end = hour_end(schedule, day, hour)
        if end > until:
            break
        red = any(
            pace_for(
                target=target,
                actual=running[m],
                schedule=schedule,
                period="day",
                day=day,
                now=end,
                thresholds=thresholds,
            ).status
            == "red"
            for m, target in targets.items()
        )
        behind += red
    return behind


def figures(totals: Mapping[str, int], targets: Mapping[str, int]) -> dict[str, Any]:
    """One row's counts (the snapshot's metric names), ratios, day targets and attainment."""
    f = funnel(totals)
    return {
        **{m: int(totals[m]) for m in METRICS},
        **{r: f[r] for r in RATIOS},
        "targets": dict(sorted(targets.items())),
        "attainment": {m: attainment(totals[m], v) for m, v in sorted(targets.items())},
    }


def _alert_view(a: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: a[k]
        for k in ("kind", "metric", "raised_at", "acknowledged_at", "acknowledged_by", "note")
    }


def daily_report(
    snapshot: Mapping[str, Any],
    *,
    day: date,
    until: datetime,
    schedules: Mapping[str, Schedule],
    floor_schedule: Schedule,
    alerts: Iterable[Mapping[str, Any]],
    notes: Mapping[str, Mapping[str, Any]],
    thresholds: Thresholds = Thresholds(),
) -> dict[str, Any]:
    """The day's report from an enriched snapshot (``load_snapshot(..., pacing=…)``).

    ``schedules`` is keyed by team name (missing: the floor's); ``alerts`` are the day's (any
    order; only the listed reps' are used); ``notes`` maps team name -> its problems-and-plan note.
    """
    by_rep: dict[str, list[dict[str, Any]]] = {}
    for a in sorted(alerts, key=lambda a: a["raised_at"]):
        by_rep.setdefault(a["rep"], []).append(_alert_view(a))

    def behind(row: Mapping[str, Any], targets: Mapping[str, int], team: str | None) -> int:
        schedule = schedules.get(team, floor_schedule) if team else floor_schedule
        return hours_behind(
            row["hours"], targets, schedule=schedule, day=day, until=until, thresholds=thresholds
        )

    reps = []
    raised_by_team: dict[str, int] = {}
    for rep in snapshot["reps"]:
        targets = day_targets(rep.get("targets", {}))
        rep_alerts = by_rep.get(rep["code"], [])
        raised = sum(1 for a in rep_alerts if a["kind"] in RAISED_KINDS)
        raised_by_team[rep["team"]] = raised_by_team.get(rep["team"], 0) + raised
        reps.append(
            {
                "code": rep["code"],
                "name": rep["name"],
                "team": rep["team"],
                "active": rep["active"],
                "new_hire": rep.get("new_hire", False),
                "tier": (rep.get("tier") or {}).get("day"),
                **figures(rep["totals"], targets),
                "hours_behind": behind(rep, targets, rep["team"]),
                "alerts_raised": raised,
                "alerts": rep_alerts,
            }
        )
    teams = []
    for team in snapshot["teams"]:
        targets = day_targets(team.get("targets", {}))
        teams.append(
            {
                "name": team["name"],
                **figures(team["totals"], targets),
                "hours_behind": behind(team, targets, team["name"]),
                "alerts_raised": raised_by_team.get(team["name"], 0),
                "note": notes.get(team["name"]),
            }
        )
    floor = snapshot["floor"]
    floor_targets = day_targets(floor.get("targets", {}))
    return {
        "kind": "daily",
        "day": day.isoformat(),
        "timezone": snapshot["timezone"],
        "generated_at": snapshot["generated_at"],
        "at": snapshot.get("at", snapshot["generated_at"]),
        "target_metrics": [m for m in TARGET_METRICS if any(m in r["targets"] for r in reps)],
        "reps": reps,
        "teams": teams,
        "floor": {
            **figures(floor["totals"], floor_targets),
            "hours_behind": behind(floor, floor_targets, None),
            "alerts_raised": sum(raised_by_team.values()),
        },
    }


# --- agent time ---------------------------------------------------------------------------------


def pause_reason_labels(
    codes: Iterable[str], configured: Mapping[str, PauseReason]
) -> list[dict[str, str]]:
    """``{code, zh, en}`` of each reason in ``codes``: the floor's list order first, then those
    not on it as given (sorted), "" (no reason given) last."""
    wanted = set(codes)
    known = [c for c in configured if c in wanted]
    unknown = sorted(c for c in wanted if c not in configured and c)
    out = [{"code": c, "zh": configured[c].zh, "en": configured[c].en} for c in known]
    out += [{"code": c, "zh": c, "en": c} for c in unknown]
    if "" in wanted:
        out.append({"code": "", **UNSPECIFIED_REASON})
    return out


def with_agent_time(
    report: dict[str, Any],
    *,
    reps: Mapping[str, Mapping[str, Any]],
    teams: Mapping[str, Mapping[str, Any]],
    floor: Mapping[str, Any] | None,
    reasons: Mapping[str, PauseReason],
) -> dict[str, Any]:
    """``report`` (a day's or a period's) with ``agent_time`` on each rep (by code), team (by
    name) and the floor row (None: no state reported) and ``pause_reasons``, the labels of the
    reasons those rows show. Changes ``report`` in place and returns it."""
    for rep in report["reps"]:
        rep["agent_time"] = reps.get(rep["code"])
    for team in report["teams"]:
        team["agent_time"] = teams.get(team["name"])
    if report.get("floor"):
        report["floor"]["agent_time"] = floor
    rows = [*report["reps"], *report["teams"], *([report["floor"]] if report.get("floor") else [])]
    codes = {code for r in rows if r["agent_time"] for code in r["agent_time"]["paused_by_reason"]}
    report["pause_reasons"] = pause_reason_labels(codes, reasons)
    return report

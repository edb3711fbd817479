"""Week and month assessment (日、周、月销售业绩): period targets, attainment per day, weekly
invites, month-to-date with projection, and the three-months-under-target review. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.floor.attendance import away_over
from app.floor.metrics import METRICS
from app.floor.pacing import calling_windows, pace_for, period_days, working_days
from app.floor.report import attainment, figures
from app.floor.schedule import Schedule
from app.floor.targets import TARGET_METRICS, Ramp, RepRef, TargetRule, rep_targets

Totals = Mapping[str, int]


@dataclass(frozen=True)
class RepMember:
    """A rep as the assessment sees them: ``since`` is the first local day they can be judged on
    (on the floor and on record); days and months before it are not judged."""

    ref: RepRef
    code: str
    name: str
    team: str
    active: bool
    since: date | None
    #: Days away (leave, sick, absent: 1; a half day: ½) in the months the review judges.
    away: Mapping[date, float] = field(default_factory=dict)


def zero() -> dict[str, int]:
    return dict.fromkeys(METRICS, 0)


def add(into: dict[str, int], values: Totals | None) -> dict[str, int]:
    if values:
        for m in METRICS:
            into[m] += int(values.get(m, 0))
    return into


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def period_label(period: str, day: date) -> str:
    """``2026-W48`` for a week, ``2026-11`` for a month, the ISO date for a day."""
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    return day.isoformat()


def previous_months(day: date, n: int) -> list[date]:
    """The first days of the ``n`` calendar months before ``day``'s, oldest first."""
    out = []
    first = day.replace(day=1)
    for _ in range(n):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(first)
    return out[::-1]


def judged_months(period: str, day: date, today: date, n: int) -> list[date]:
    """First days of the ``n`` months the review judges for the period containing ``day`` as
    seen on ``today``: the last ones complete by the period's end (or today, if sooner), since
    a month still running is never judged, whichever report looks at it."""
    last = period_days(period, day)[1]
    anchor = min(last, today).replace(day=1)
    months = previous_months(anchor, n)
    if today > period_days("month", anchor)[1]:
        months = [*months[1:], anchor]
    return months


def rules_of(rules: Iterable[TargetRule], ref: RepRef) -> list[TargetRule]:
    """The rules that can apply to the rep (the floor's, their team's, their own): resolving a
    month of days per rep then scans a handful of rules, not every rep's."""
    return [
        r
        for r in rules
        if r.scope == "floor"
        or (r.scope == "team" and r.scope_id == ref.team_id)
        or (r.scope == "rep" and r.scope_id == ref.id)
    ]


def period_targets(
    rules: Sequence[TargetRule],
    member: RepMember,
    period: str,
    day: date,
    *,
    ramp: Ramp,
    schedule: Schedule,
    as_of: date | None = None,
) -> dict[str, int]:
    """metric -> the rep's target for the week or month containing ``day``.

    A target set for the period itself (``invites`` per week) is the one in force on ``as_of``
    (default the period's last day); otherwise it is the sum of the day targets over the period's
    working days from ``member.since`` on, so a new hire's ramp and a mid-month change both count.
    An inactive rep has none.
    """
    if not member.active:
        return {}
    first, last = period_days(period, day)
    as_of = min(as_of or last, last)
    explicit = {
        m: v for (m, p), v in rep_targets(rules, member.ref, as_of, ramp).items() if p == period
    }
    summed: dict[str, int] = {}
    for d in days_between(first, last):
        if (member.since and d < member.since) or not calling_windows(schedule, d):
            continue
        for (m, p), v in rep_targets(rules, member.ref, d, ramp).items():
            if p == "day" and m not in explicit:
                summed[m] = summed.get(m, 0) + v
    out = {**summed, **explicit}
    return {m: out[m] for m in TARGET_METRICS if m in out}


def day_attainment(
    rules: Sequence[TargetRule],
    member: RepMember,
    day: date,
    actual: Totals | None,
    metric: str,
    *,
    ramp: Ramp,
    schedule: Schedule,
) -> float | None:
    """``metric``'s actual ÷ day target on ``day``; None on a day off, before ``since``, or
    without a target."""
    if not member.active or not calling_windows(schedule, day):
        return None
    if member.since and day < member.since:
        return None
    target = rep_targets(rules, member.ref, day, ramp).get((metric, "day"))
    return attainment((actual or {}).get(metric, 0), target)


#: What the review judges by default: the sales (业绩) target, revenue, else orders.
SALES_METRICS = ("revenue", "orders")


def under_target(
    actual: Totals, targets: Mapping[str, int], metrics: Iterable[str] | None = None
) -> bool | None:
    """True when any judged target was missed; None when there is no target to judge by.
    ``metrics`` names the judged ones; None: the sales (业绩) target — revenue, or orders where
    the rep had no revenue target (the rules' three months under target are about sales), or
    every target they had where they had neither."""
    if metrics is None:
        sales = [m for m in SALES_METRICS if targets.get(m, 0) > 0]
        metrics = sales[:1] or list(targets)
    wanted = set(metrics)
    judged = {m: v for m, v in targets.items() if v > 0 and m in wanted}
    if not judged:
        return None
    return any(actual.get(m, 0) < v for m, v in judged.items())


#: A month with fewer working days present than this is not judged (PACEBOARD_REVIEW_MIN_DAYS).
MIN_PRESENT_DAYS = 15


def present_days(member: RepMember, schedule: Schedule, month: date) -> float:
    """The working days of ``month`` the rep was there (leave taken off)."""
    days = working_days(schedule, "month", month)
    return len(days) - away_over(member.away, days)


def review_streak(months: Sequence[bool | None]) -> int:
    """Months in a row under target, counting back from the last of ``months`` (oldest first);
    a month met, or not judged, ends the run."""
    n = 0
    for under in reversed(months):
        if under is not True:
            break
        n += 1
    return n


def _projection(
    targets: Mapping[str, int],
    actual: Totals,
    schedule: Schedule,
    period: str,
    day: date,
    until: datetime,
) -> dict[str, float | None]:
    out = {}
    for m, target in targets.items():
        p = pace_for(
            target=target,
            actual=actual.get(m, 0),
            schedule=schedule,
            period=period,
            day=day,
            now=until,
        )
        out[m] = None if p.projection is None else round(p.projection, 1)
    return out


def assess(
    *,
    period: str,
    day: date,
    until: datetime,
    members: Sequence[RepMember],
    daily: Mapping[str, Mapping[date, Totals]],
    rules: Sequence[TargetRule],
    ramp: Ramp,
    schedules: Mapping[str, Schedule],
    floor_schedule: Schedule,
    metric: str = "dials",
    review_months: int = 3,
    review_metrics: Iterable[str] | None = None,
    min_present_days: int = MIN_PRESENT_DAYS,
) -> dict[str, Any]:
    """The week's or month's assessment for ``members`` from their per-day totals. A month
    the rep was present fewer than ``min_present_days`` working days is not judged.

    ``daily[code][day]`` must cover the period, the ISO weeks it touches (weekly invites) and
    the ``review_months`` months before it; ``until`` bounds the figures (now, for a period in
    progress). Teams and the floor sum the listed reps.
    """
    first, last = period_days(period, day)
    today = until.astimezone(floor_schedule.timezone).date()
    shown_last = min(last, today)
    days = days_between(first, last)
    weeks = sorted({d - timedelta(days=d.isoweekday() - 1) for d in days})
    metrics = set(review_metrics) if review_metrics is not None else None
    judged = judged_months(period, day, today, review_months)

    def total(code: str, a: date, b: date) -> dict[str, int]:
        out = zero()
        for d, values in daily.get(code, {}).items():
            if a <= d <= b:
                add(out, values)
        return out

    reps: list[dict[str, Any]] = []
    team_rows: dict[str, dict[str, Any]] = {}
    for member in members:
        schedule = schedules.get(member.team, floor_schedule)
        mine = rules_of(rules, member.ref)
        actual = total(member.code, first, shown_last)
        targets = period_targets(
            mine, member, period, day, ramp=ramp, schedule=schedule, as_of=shown_last
        )
        by_day = daily.get(member.code, {})
        heat = {
            d.isoformat(): day_attainment(
                mine, member, d, by_day.get(d), metric, ramp=ramp, schedule=schedule
            )
            if d <= shown_last
            else None
            for d in days
        }
        invites = []
        for monday in weeks:
            wt = period_targets(
                mine,
                member,
                "week",
                monday,
                ramp=ramp,
                schedule=schedule,
                as_of=min(monday + timedelta(days=6), today),
            )
            got = total(member.code, monday, min(monday + timedelta(days=6), today))["invites"]
            # A week over before the rep was on the floor (or on record) is not judged.
            before = member.since is not None and monday + timedelta(days=6) < member.since
            target = None if before else wt.get("invites")
            invites.append(
                {
                    "week": period_label("week", monday),
                    "invites": got,
                    "target": target,
                    # A week still running has not missed anything yet.
                    "met": None
                    if not target or (got < target and monday + timedelta(days=6) >= today)
                    else got >= target,
                }
            )
        history: list[dict[str, Any]] = []
        for month in judged:
            m_first, m_last = period_days("month", month)
            month_got = total(member.code, m_first, m_last)
            mt: dict[str, int] = {}
            under: bool | None = None
            # Not on the floor the whole month, or there too few days of it: not judged.
            on_floor = member.since is not None and member.since <= m_first
            if on_floor and present_days(member, schedule, month) >= min_present_days:
                mt = period_targets(mine, member, "month", month, ramp=ramp, schedule=schedule)
                under = under_target(month_got, mt, metrics)
            history.append(
                {
                    "month": period_label("month", month),
                    "under": under,
                    "attainment": {m: attainment(month_got[m], v) for m, v in mt.items()},
                }
            )
        streak = review_streak([h["under"] for h in history])
        row = {
            "code": member.code,
            "name": member.name,
            "team": member.team,
            "active": member.active,
            **figures(actual, targets),
            "projection": _projection(targets, actual, schedule, period, day, until),
            "daily": heat,
            "invites_by_week": invites,
            "review": {
                "months": history,
                "streak": streak,
                "flagged": streak >= review_months,
            },
        }
        reps.append(row)
        group = team_rows.setdefault(member.team, {"actual": zero(), "targets": {}})
        add(group["actual"], actual)
        for m, v in targets.items():
            group["targets"][m] = group["targets"].get(m, 0) + v

    def group_row(name: str | None, actual: dict[str, int], targets: dict[str, int]) -> dict:
        schedule = schedules.get(name, floor_schedule) if name else floor_schedule
        ordered = {m: targets[m] for m in TARGET_METRICS if m in targets}
        row = {"name": name} if name is not None else {}
        return {
            **row,
            **figures(actual, ordered),
            "projection": _projection(ordered, actual, schedule, period, day, until),
        }

    teams = [group_row(name, g["actual"], g["targets"]) for name, g in team_rows.items()]
    floor_actual = zero()
    floor_targets: dict[str, int] = {}
    for g in team_rows.values():
        add(floor_actual, g["actual"])
        for m, v in g["targets"].items():
            floor_targets[m] = floor_targets.get(m, 0) + v
    target_metrics = {m for r in reps for m in r["targets"]}
    return {
        "kind": "weekly" if period == "week" else "monthly",
        "period": period,
        "label": period_label(period, day),
        "first": first.isoformat(),
        "last": last.isoformat(),
        "through": shown_last.isoformat() if shown_last >= first else None,
        "days": [d.isoformat() for d in days],
        "metric": metric,
        "target_metrics": [m for m in TARGET_METRICS if m in target_metrics],
        "review_months": review_months,
        "reps": reps,
        "teams": teams,
        "floor": group_row(None, floor_actual, floor_targets),
        "flagged": [r["code"] for r in reps if r["review"]["flagged"]],
    }

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


@dataclass(frozen=True)
class _Frame:
    """What every rep's row of one assessment shares: the period, its days, the instant the
    figures stop at, and how targets, invites and the review are judged."""

    period: str
    day: date
    until: datetime
    today: date
    first: date
    last: date
    shown_last: date
    days: list[date]
    weeks: list[date]
    judged: list[date]
    metric: str
    ramp: Ramp
    review_months: int
    review_metrics: set[str] | None
    min_present_days: int


def _frame(
    period: str,
    day: date,
    until: datetime,
    floor_schedule: Schedule,
    *,
    metric: str,
    ramp: Ramp,
    review_months: int,
    review_metrics: Iterable[str] | None,
    min_present_days: int,
) -> _Frame:
    first, last = period_days(period, day)
    today = until.astimezone(floor_schedule.timezone).date()
    days = days_between(first, last)
    return _Frame(
        period=period,
        day=day,
        until=until,
        today=today,
        first=first,
        last=last,
        shown_last=min(last, today),
        days=days,
        weeks=sorted({d - timedelta(days=d.isoweekday() - 1) for d in days}),
        judged=judged_months(period, day, today, review_months),
        metric=metric,
        ramp=ramp,
        review_months=review_months,
        review_metrics=set(review_metrics) if review_metrics is not None else None,
        min_present_days=min_present_days,
    )


def _total(by_day: Mapping[date, Totals], a: date, b: date) -> dict[str, int]:
    """The rep's totals of the days from ``a`` to ``b``, both included."""
    out = zero()
    for d, values in by_day.items():
        if a <= d <= b:
            add(out, values)
    return out


def _heat(
    f: _Frame,
    rules: Sequence[TargetRule],
    member: RepMember,
    by_day: Mapping[date, Totals],
    schedule: Schedule,
) -> dict[str, float | None]:
    """ISO day -> the rep's attainment of ``f.metric`` that day (None after the figures stop)."""
    return {
        d.isoformat(): day_attainment(
            rules, member, d, by_day.get(d), f.metric, ramp=f.ramp, schedule=schedule
        )
        if d <= f.shown_last
        else None
        for d in f.days
    }


def _week_invites(
    f: _Frame,
    rules: Sequence[TargetRule],
    member: RepMember,
    by_day: Mapping[date, Totals],
    schedule: Schedule,
    monday: date,
) -> dict[str, Any]:
    """The rep's invites of the ISO week starting ``monday`` against its weekly target."""
    sunday = monday + timedelta(days=6)
    wt = period_targets(
        rules,
        member,
        "week",
        monday,
        ramp=f.ramp,
        schedule=schedule,
        as_of=min(sunday, f.today),
    )
    got = _total(by_day, monday, min(sunday, f.today))["invites"]
    # A week over before the rep was on the floor (or on record) is not judged.
    before = member.since is not None and sunday < member.since
    target = None if before else wt.get("invites")
    return {
        "week": period_label("week", monday),
        "invites": got,
        "target": target,
        # A week still running has not missed anything yet.
        "met": None if not target or (got < target and sunday >= f.today) else got >= target,
    }


def _month_review(
    f: _Frame,
    rules: Sequence[TargetRule],
    member: RepMember,
    by_day: Mapping[date, Totals],
    schedule: Schedule,
    month: date,
) -> dict[str, Any]:
    """One judged month: whether the rep was under target (None: not judged) and attainment."""
    m_first, m_last = period_days("month", month)
    month_got = _total(by_day, m_first, m_last)
    mt: dict[str, int] = {}
    under: bool | None = None
    # Not on the floor the whole month, or there too few days of it: not judged.
    on_floor = member.since is not None and member.since <= m_first
    if on_floor and present_days(member, schedule, month) >= f.min_present_days:
        mt = period_targets(rules, member, "month", month, ramp=f.ramp, schedule=schedule)
        under = under_target(month_got, mt, f.review_metrics)
    return {
        "month": period_label("month", month),
        "under": under,
        "attainment": {m: attainment(month_got[m], v) for m, v in mt.items()},
    }


def _review(
    f: _Frame,
    rules: Sequence[TargetRule],
    member: RepMember,
    by_day: Mapping[date, Totals],
    schedule: Schedule,
) -> dict[str, Any]:
    """The three-months-under-target review of the rep over ``f.judged``."""
    history = [_month_review(f, rules, member, by_day, schedule, m) for m in f.judged]
    streak = review_streak([h["under"] for h in history])
    return {"months": history, "streak": streak, "flagged": streak >= f.review_months}


def _rep_row(
    f: _Frame,
    all_rules: Sequence[TargetRule],
    member: RepMember,
    by_day: Mapping[date, Totals],
    schedule: Schedule,
) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """The rep's row of the assessment, with their actuals and targets for the group sums."""
    rules = rules_of(all_rules, member.ref)
    actual = _total(by_day, f.first, f.shown_last)
    targets = period_targets(
        rules, member, f.period, f.day, ramp=f.ramp, schedule=schedule, as_of=f.shown_last
    )
    row = {
        "code": member.code,
        "name": member.name,
        "team": member.team,
        "active": member.active,
        **figures(actual, targets),
        "projection": _projection(targets, actual, schedule, f.period, f.day, f.until),
        "daily": _heat(f, rules, member, by_day, schedule),
        "invites_by_week": [
            _week_invites(f, rules, member, by_day, schedule, monday) for monday in f.weeks
        ],
        "review": _review(f, rules, member, by_day, schedule),
    }
    return row, actual, targets


def _sum_targets(targets: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in targets:
        for m, v in t.items():
            out[m] = out.get(m, 0) + v
    return out


def _sum_actuals(actuals: Iterable[Totals]) -> dict[str, int]:
    out = zero()
    for a in actuals:
        add(out, a)
    return out


def _group_row(
    f: _Frame,
    name: str | None,
    actual: dict[str, int],
    targets: dict[str, int],
    schedule: Schedule,
) -> dict[str, Any]:
    """A team's row (``name``) or the floor's (None) from the sums of its reps."""
    ordered = {m: targets[m] for m in TARGET_METRICS if m in targets}
    row = {"name": name} if name is not None else {}
    return {
        **row,
        **figures(actual, ordered),
        "projection": _projection(ordered, actual, schedule, f.period, f.day, f.until),
    }


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
    f = _frame(
        period,
        day,
        until,
        floor_schedule,
        metric=metric,
        ramp=ramp,
        review_months=review_months,
        review_metrics=review_metrics,
        min_present_days=min_present_days,
    )
    reps: list[dict[str, Any]] = []
    by_team: dict[str, tuple[list[Totals], list[dict[str, int]]]] = {}
    for member in members:
        schedule = schedules.get(member.team, floor_schedule)
        row, actual, targets = _rep_row(f, rules, member, daily.get(member.code, {}), schedule)
        reps.append(row)
        actuals, team_targets = by_team.setdefault(member.team, ([], []))
        actuals.append(actual)
        team_targets.append(targets)
    sums = {
        name: (_sum_actuals(actuals), _sum_targets(targets))
        for name, (actuals, targets) in by_team.items()
    }
    teams = [
        _group_row(f, name, a, t, schedules.get(name, floor_schedule) if name else floor_schedule)
        for name, (a, t) in sums.items()
    ]
    floor_actual = _sum_actuals(a for a, _ in sums.values())
    floor_targets = _sum_targets(t for _, t in sums.values())
    target_metrics = {m for r in reps for m in r["targets"]}
    return {
        "kind": "weekly" if period == "week" else "monthly",
        "period": period,
        "label": period_label(period, day),
        "first": f.first.isoformat(),
        "last": f.last.isoformat(),
        "through": f.shown_last.isoformat() if f.shown_last >= f.first else None,
        "days": [d.isoformat() for d in f.days],
        "metric": metric,
        "target_metrics": [m for m in TARGET_METRICS if m in target_metrics],
        "review_months": review_months,
        "reps": reps,
        "teams": teams,
        "floor": _group_row(f, None, floor_actual, floor_targets, floor_schedule),
        "flagged": [r["code"] for r in reps if r["review"]["flagged"]],
    }

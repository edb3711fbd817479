"""Reports from the database: the evening report of a day, the week's and month's assessment, and
the problems-and-plan note a lead writes per team and day.

Figures come from hourly_total through the same code as the live snapshot, so the report and the
wallboard agree to the unit. Agent time (logged in, paused by reason, occupancy) comes from
state_total's closed intervals (app/services/state_time.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.config import Settings
from app.floor.agent_state import PauseReason, default_pause_reasons
from app.floor.assessment import MIN_PRESENT_DAYS, RepMember, assess, judged_months
from app.floor.metrics import METRICS
from app.floor.pacing import FIRST_DAY, LAST_DAY, period_days
from app.floor.progress import PacingConfig
from app.floor.report import daily_report, with_agent_time
from app.floor.snapshot import only_teams
from app.floor.targets import TARGET_METRICS, RepRef
from app.models import HourlyTotal, Rep, ReportNote, Team, table_of, utcnow
from app.services.alerts import list_alerts
from app.services.attendance import away_days
from app.services.errors import InputError
from app.services.plans import plans_between
from app.services.schedules import team_schedules
from app.services.snapshot import (
    ROSTER,
    load_snapshot,
    metric_totals,
    reps_of_teams,
    select_teams,
)
from app.services.state_time import PeriodTimes, ReportRep, period_times
from app.services.targets import load_rules

REP, TEAM, TOTAL, NOTE = table_of(Rep), table_of(Team), table_of(HourlyTotal), table_of(ReportNote)
PERIODS = ("week", "month")
KINDS = ("daily", "weekly", "monthly")
PERIOD_OF = {"weekly": "week", "monthly": "month"}


# --- naming a period ----------------------------------------------------------------------------


def _bounded(d: date, field: str, value: str) -> date:
    if not FIRST_DAY <= d <= LAST_DAY:
        raise InputError(field, f"'{value}' is outside {FIRST_DAY.year}–{LAST_DAY.year}", 422)
    return d


def parse_day(value: str | None, field: str = "day") -> date | None:
    if not value:
        return None
    try:
        d = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(field, f"'{value}' is not a date (YYYY-MM-DD)", 422) from None
    return _bounded(d, field, value)


def parse_week(value: str | None) -> date | None:
    """``2026-W48`` -> that ISO week's Monday."""
    if not value:
        return None
    try:
        year, _, week = value.strip().upper().partition("-W")
        d = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise InputError("week", f"'{value}' is not an ISO week (YYYY-Www)", 422) from None
    return _bounded(d, "week", value)


def parse_month(value: str | None) -> date | None:
    """``2026-11`` -> its first day."""
    if not value:
        return None
    try:
        year, month = value.strip().split("-")
        d = date(int(year), int(month), 1)
    except ValueError:
        raise InputError("month", f"'{value}' is not a month (YYYY-MM)", 422) from None
    return _bounded(d, "month", value)


# --- building -----------------------------------------------------------------------------------


def _schedules_by_name(conn: sa.Connection, pacing: PacingConfig) -> dict[str, Any]:
    names = dict(conn.execute(sa.select(TEAM.c.id, TEAM.c.name)).all())
    return {names[i]: s for i, s in team_schedules(conn, pacing.floor).items() if i in names}


def _snapshot_reps(conn: sa.Connection, rows: Iterable[Mapping[str, Any]]) -> list[ReportRep]:
    """The reps of a snapshot's rep rows (code, team), with their ids."""
    rows = list(rows)
    codes = [r["code"] for r in rows]
    ids = dict(conn.execute(sa.select(REP.c.code, REP.c.id).where(REP.c.code.in_(codes))).all())
    return [ReportRep(ids[r["code"]], r["code"], r["team"]) for r in rows]


def _add_agent_time(
    report: dict[str, Any], times: PeriodTimes, reasons: Mapping[str, PauseReason] | None
) -> None:
    with_agent_time(
        report,
        reps=times.reps,
        teams=times.teams,
        floor=times.floor,
        reasons=default_pause_reasons() if reasons is None else reasons,
    )


def daily(
    conn: sa.Connection,
    *,
    day: date,
    now: datetime,
    pacing: PacingConfig,
    team: str | None = None,
    teams: frozenset[str] | None = None,
    pause_reasons: Mapping[str, PauseReason] | None = None,
) -> dict[str, Any]:
    """The evening report of ``day`` as it stands at ``now``, for the floor or one ``team``
    (404 if unknown); ``teams`` limits its rep rows, alerts and notes to a lead's teams (the
    floor's and teams' figures stay: they are public on the floor).

    Agent time counts closed intervals only: on today's report, a rep's time since their
    latest event is not in it yet (the live floor shows it)."""
    snap = load_snapshot(
        conn, day=day, timezone=str(pacing.floor.timezone), now=now, team=team, pacing=pacing
    )
    # Before the rep rows are limited to a lead's: every team's row sums all its reps.
    times = period_times(conn, first=day, last=day, reps=_snapshot_reps(conn, snap["reps"]))
    # Alerts and notes of the teams asked for, and of those only that the reader may see.
    shown = {t["name"] for t in snap["teams"] if teams is None or t["name"] in teams}
    if teams is not None:
        snap = only_teams(snap, teams)
    report = daily_report(
        snap,
        day=day,
        until=now,
        schedules=_schedules_by_name(conn, pacing),
        floor_schedule=pacing.floor,
        alerts=[a for a in list_alerts(conn, day=day, team=team) if a["team"] in shown],
        notes={k: v for k, v in notes_of(conn, day=day).items() if k in shown},
        thresholds=pacing.thresholds,
    )
    report["floor"]["hours"] = [
        {"hour": h["hour"], **{m: h[m] for m in METRICS}} for h in snap["floor"].get("hours", [])
    ]
    _add_agent_time(report, times, pause_reasons)
    report["team"] = team
    # The teams whose evening notes (and alerts, rep rows) this reader sees: the page's notes.
    report["note_teams"] = [t["name"] for t in snap["teams"] if t["name"] in shown]
    # Each rep's problem and plan of the day (the evening meeting), for the reps shown.
    listed = {r["code"] for r in report["reps"]}
    report["plans"] = {p["rep"]: p for p in plans_between(conn, day, day) if p["rep"] in listed}
    return report


def _data_window(period: str, day: date, today: date, review_months: int) -> tuple[date, date]:
    """The days an assessment reads: back to the judged months and out to the ISO weeks the
    period touches."""
    first, last = period_days(period, day)
    data_first = min(
        judged_months(period, day, today, review_months)[0],
        first - timedelta(days=first.isoweekday() - 1),
    )
    return data_first, last + timedelta(days=7 - last.isoweekday())


def _daily_totals(
    conn: sa.Connection, team_ids: list[int], first: date, last: date
) -> dict[int, dict[date, dict[str, int]]]:
    """rep id -> day -> totals of the reps on ``team_ids``, from ``first`` to ``last``."""
    rows = conn.execute(
        sa.select(TOTAL.c.rep_id, TOTAL.c.day, *(sa.func.sum(TOTAL.c[m]) for m in METRICS))
        .where(
            TOTAL.c.day >= first,
            TOTAL.c.day <= last,
            TOTAL.c.rep_id.in_(reps_of_teams(team_ids)),
        )
        .group_by(TOTAL.c.rep_id, TOTAL.c.day)
    ).all()
    out: dict[int, dict[date, dict[str, int]]] = {}
    for rep_id, d, *values in rows:
        out.setdefault(rep_id, {})[d] = metric_totals(values)
    return out


def _first_days(conn: sa.Connection, team_ids: list[int]) -> tuple[date | None, dict[int, date]]:
    """The floor's first recorded day, and rep id -> the first recorded day of each rep on
    ``team_ids``."""
    records_from = conn.execute(sa.select(sa.func.min(TOTAL.c.day))).scalar()
    first_calls = conn.execute(
        sa.select(TOTAL.c.rep_id, sa.func.min(TOTAL.c.day))
        .where(TOTAL.c.rep_id.in_(reps_of_teams(team_ids)))
        .group_by(TOTAL.c.rep_id)
    ).all()
    return records_from, dict(first_calls)


def _since(r: Any, first_call: date | None, records_from: date | None, tz: Any) -> date | None:
    """The first day the rep (``r``: hired_on, created_at) can be judged on."""
    # A rep without a hire date is on the floor from their first call (imports and unknown rep
    # codes create reps long after the calls they bring), else from when the roster got them.
    own = r.hired_on or first_call
    if own is None and r.created_at is not None:
        own = r.created_at.astimezone(tz).date()
    # Days before the floor's first recorded call are not judged: no record is not a zero.
    known = [d for d in (own, records_from) if d]
    return max(known) if known else None


def _members(
    conn: sa.Connection,
    team_rows: Sequence[Any],
    *,
    data_first: date,
    data_last: date,
    in_period: set[int],
    tz: Any,
) -> list[RepMember]:
    """The reps an assessment lists (active, or with figures in the period), in team order,
    then by name, with when each can be judged from and their days away."""
    team_ids = [t.id for t in team_rows]
    team_names = {t.id: t.name for t in team_rows}
    order = {t.id: i for i, t in enumerate(team_rows)}
    reps = conn.execute(
        sa.select(*ROSTER, REP.c.created_at).where(REP.c.team_id.in_(team_ids))
    ).all()
    records_from, first_calls = _first_days(conn, team_ids)
    away = away_days(conn, data_first, data_last, {r.id for r in reps})
    return [
        RepMember(
            ref=RepRef(r.id, r.team_id, r.hired_on),
            code=r.code,
            name=r.name,
            team=team_names[r.team_id],
            active=r.active,
            since=_since(r, first_calls.get(r.id), records_from, tz),
            away=away.get(r.id, {}),
        )
        for r in sorted(reps, key=lambda r: (order[r.team_id], r.name, r.code))
        if r.active or r.id in in_period
    ]


def assessment(
    conn: sa.Connection,
    *,
    period: str,
    day: date,
    now: datetime,
    pacing: PacingConfig,
    team: str | None = None,
    teams: frozenset[str] | None = None,
    metric: str = "dials",
    review_months: int = 3,
    review_metrics: tuple[str, ...] = (),
    pause_reasons: Mapping[str, PauseReason] | None = None,
    min_present_days: int = MIN_PRESENT_DAYS,
) -> dict[str, Any]:
    """The week's or month's assessment containing ``day``, as it stands at ``now`` (agent time:
    closed intervals of the period's days, as in :func:`daily`)."""
    if period not in PERIODS:
        raise InputError("period", f"must be one of {', '.join(PERIODS)}")
    if metric not in TARGET_METRICS:
        raise InputError("metric", f"must be one of {', '.join(TARGET_METRICS)}")
    first, last = period_days(period, day)
    team_rows = select_teams(conn, team, teams)
    tz = pacing.floor.timezone
    data_first, data_last = _data_window(period, day, now.astimezone(tz).date(), review_months)
    by_rep = _daily_totals(conn, [t.id for t in team_rows], data_first, data_last)
    in_period = {i for i, days in by_rep.items() if any(first <= d <= last for d in days)}
    members = _members(
        conn, team_rows, data_first=data_first, data_last=data_last, in_period=in_period, tz=tz
    )
    report = assess(
        period=period,
        day=day,
        until=now,
        members=members,
        daily={m.code: by_rep[m.ref.id] for m in members if m.ref.id in by_rep},
        rules=load_rules(conn),
        ramp=pacing.ramp,
        schedules=_schedules_by_name(conn, pacing),
        floor_schedule=pacing.floor,
        metric=metric,
        review_months=review_months,
        review_metrics=review_metrics or None,
        min_present_days=min_present_days,
    )
    report["team"] = team
    report["timezone"] = str(tz)
    report["generated_at"] = now.isoformat()
    if teams is not None:
        report["floor"] = None
    listed = [ReportRep(m.ref.id, m.code, m.team) for m in members]
    _add_agent_time(report, period_times(conn, first=first, last=last, reps=listed), pause_reasons)
    # The evening plans of the period and whether each was done (the weekly follow-up).
    shown = {m.code for m in members}
    report["plans"] = [p for p in plans_between(conn, first, last) if p["rep"] in shown]
    return report


def report(
    conn: sa.Connection,
    settings: Settings,
    *,
    kind: str,
    day: date | None,
    now: datetime,
    team: str | None = None,
    teams: frozenset[str] | None = None,
    metric: str = "dials",
) -> dict[str, Any]:
    """The ``kind`` report (daily, weekly, monthly) of the period containing ``day`` (default:
    the floor's today at ``now``), with the floor's settings."""
    day = day or settings.today(now)
    if kind == "daily":
        return daily(
            conn,
            day=day,
            now=now,
            pacing=settings.pacing,
            team=team,
            teams=teams,
            pause_reasons=settings.pause_reasons,
        )
    if kind not in PERIOD_OF:
        raise InputError("kind", f"must be one of {', '.join(KINDS)}")
    return assessment(
        conn,
        period=PERIOD_OF[kind],
        day=day,
        now=now,
        pacing=settings.pacing,
        team=team,
        teams=teams,
        metric=metric,
        review_months=settings.review_months,
        min_present_days=settings.review_min_days,
        review_metrics=settings.review_metrics,
        pause_reasons=settings.pause_reasons,
    )


# --- the problems-and-plan note ----------------------------------------------------------------


def _note_view(row: Any) -> dict[str, Any]:
    return {
        "problems": row.problems,
        "plan": row.plan,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat(),
    }


def notes_of(conn: sa.Connection | Session, *, day: date) -> dict[str, dict[str, Any]]:
    """team name -> the note written for ``day``."""
    q = (
        sa.select(TEAM.c.name, NOTE.c.problems, NOTE.c.plan, NOTE.c.updated_by, NOTE.c.updated_at)
        .select_from(NOTE.join(TEAM, NOTE.c.team_id == TEAM.c.id))
        .where(NOTE.c.day == day)
    )
    return {row.name: _note_view(row) for row in conn.execute(q)}


def save_note(
    session: Session,
    *,
    day: date,
    team: str,
    problems: str,
    plan: str,
    by: str,
    teams: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Write (or rewrite) ``team``'s note for ``day``; with ``teams``, only one of those."""
    team_id = session.execute(sa.select(TEAM.c.id).where(TEAM.c.name == team)).scalar()
    if team_id is None or (teams is not None and team not in teams):
        raise InputError("team", f"no team named '{team}'", 404)
    row = session.get(ReportNote, (team_id, day))
    if row is None:
        row = ReportNote(team_id=team_id, day=day, updated_by=by)
    row.problems, row.plan, row.updated_by, row.updated_at = problems, plan, by, utcnow()
    session.add(row)
    session.flush()
    return {"team": team, "day": day.isoformat(), **_note_view(row)}

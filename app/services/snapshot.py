"""Read the floor snapshot: roster, targets and the hourly_total cells (never the calls)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.floor.agent_state import (
    DayCells,
    StateEvent,
    group_presence,
    presence_fields,
    sum_presence,
)
from app.floor.metrics import METRICS
from app.floor.pacing import period_days
from app.floor.progress import PacingConfig, RepInfo, enrich
from app.floor.schedule import Schedule
from app.floor.snapshot import RepRow, build_snapshot
from app.floor.targets import RepRef
from app.models import AgentNow, HourlyTotal, Rep, RepActivity, StateTotal, Team, table_of
from app.services.attendance import attendance_of
from app.services.errors import InputError
from app.services.plans import last_plans
from app.services.schedules import team_schedules
from app.services.targets import load_rules

REP, TEAM, TOTAL = table_of(Rep), table_of(Team), table_of(HourlyTotal)
ACTIVITY = table_of(RepActivity)
NOW, STATE = table_of(AgentNow), table_of(StateTotal)


def last_hour(at: datetime, tz: Any, day: date) -> int:
    """The last local hour of ``day`` that started before ``at`` (-1: none, 24: all)."""
    local = at.astimezone(tz)
    if local.date() > day:
        return 24
    if local.date() < day:
        return -1
    on_the_hour = (local.minute, local.second, local.microsecond) == (0, 0, 0)
    return local.hour - 1 if on_the_hour else local.hour


#: The roster columns every floor view reads of a rep.
ROSTER = (REP.c.id, REP.c.code, REP.c.name, REP.c.team_id, REP.c.active, REP.c.hired_on)


def select_teams(
    conn: sa.Connection, team: str | None, teams: frozenset[str] | None = None
) -> list[Any]:
    """The (id, name) rows of the teams asked for, in id order: ``team`` alone when named,
    else all; with ``teams``, only those (404 InputError if ``team`` is left with none)."""
    q = sa.select(TEAM.c.id, TEAM.c.name).order_by(TEAM.c.id)
    if team is not None:
        q = q.where(TEAM.c.name == team)
    rows = [t for t in conn.execute(q) if teams is None or t.name in teams]
    if team is not None and not rows:
        raise InputError("team", f"no team named '{team}'", 404)
    return rows


def reps_of_teams(team_ids: list[int]) -> sa.Select:
    """The ids of the reps on ``team_ids``, as a subquery."""
    return sa.select(REP.c.id).where(REP.c.team_id.in_(team_ids))


def metric_totals(values: Iterable[Any]) -> dict[str, int]:
    """A row's summed METRICS columns (NULL: 0) as metric -> int."""
    return {m: int(v or 0) for m, v in zip(METRICS, values, strict=True)}


def _team_timezones(
    teams: Iterable[Any], schedules: Mapping[int, Schedule], default_tz: Any
) -> dict[int, Any]:
    """team id -> the timezone its day is cut in (its schedule's, else ``default_tz``)."""
    out = {}
    for t in teams:
        sched = schedules.get(t.id)
        out[t.id] = sched.timezone if sched else default_tz
    return out


def _day_cells(
    conn: sa.Connection,
    day: date,
    rep_team: Mapping[int, int],
    cutoff: Mapping[int, int],
    team_ids: list[int] | None,
) -> list[tuple[int, int, dict[str, int]]]:
    """(rep id, hour, totals) of ``day``'s cells of the reps in ``rep_team`` (rep id -> team id),
    through their team's ``cutoff`` hour; ``team_ids`` narrows the read to those teams' reps."""
    q = sa.select(TOTAL.c.rep_id, TOTAL.c.hour, *(TOTAL.c[m] for m in METRICS)).where(
        TOTAL.c.day == day
    )
    if team_ids is not None:
        q = q.where(TOTAL.c.rep_id.in_(reps_of_teams(team_ids)))
    return [
        (r[0], r[1], dict(zip(METRICS, r[2:], strict=True)))
        for r in conn.execute(q)
        if r[0] in rep_team and r[1] <= cutoff[rep_team[r[0]]]
    ]


def load_snapshot(
    conn: sa.Connection,
    *,
    day: date,
    timezone: str,
    now: datetime,
    team: str | None = None,
    at: datetime | None = None,
    pacing: PacingConfig | None = None,
) -> dict[str, Any]:
    """The snapshot of ``day`` as it stood at ``at`` (default ``now``), for the floor or one team
    (404 InputError if it does not exist). With ``pacing``, also progress against targets."""
    at = at or now
    teams = select_teams(conn, team)
    team_ids = [t.id for t in teams]
    team_names = {t.id: t.name for t in teams}
    schedules = team_schedules(conn, pacing.floor) if pacing else {}
    rep_rows = conn.execute(
        sa.select(*ROSTER, REP.c.mentor_id).where(REP.c.team_id.in_(team_ids))
    ).all()
    # Actuals are the hours that started before `at`: exact for now, hour-grained for a replay.
    tzs = _team_timezones(teams, schedules, pacing.floor.timezone if pacing else None)
    cutoff = {i: last_hour(at, tz, day) if tz else 24 for i, tz in tzs.items()}
    rep_team = {r.id: r.team_id for r in rep_rows}
    cells = _day_cells(conn, day, rep_team, cutoff, team_ids if team is not None else None)
    with_calls = {c[0] for c in cells}
    reps = [
        RepRow(r.id, r.code, r.name, team_names[r.team_id], r.active)
        for r in rep_rows
        if r.active or r.id in with_calls
    ]
    # Unresolved agents have no team, so neither they nor their calls are on the board.
    snap = build_snapshot(
        day=day,
        timezone=timezone,
        generated_at=now,
        teams=[t.name for t in teams],
        reps=reps,
        cells=cells,
    )
    if pacing is None:
        return snap
    return _with_progress(
        conn,
        snap,
        day=day,
        at=at,
        pacing=pacing,
        rep_rows=rep_rows,
        shown_ids={r.id for r in reps},
        team_names=team_names,
        schedules=schedules,
        cutoff={team_names[i]: c for i, c in cutoff.items()},
        tzs={team_names[i]: tz for i, tz in tzs.items()},
    )


def _rep_infos(
    conn: sa.Connection,
    day: date,
    rep_rows: Sequence[Any],
    shown_ids: set[int],
    team_names: Mapping[int, str],
    schedules: Mapping[int, Schedule],
    floor: Schedule,
) -> dict[str, RepInfo]:
    """code -> what pacing takes of each shown rep (leave, attendance, mentor, last plan)."""
    shown = [r for r in rep_rows if r.id in shown_ids]
    away = attendance_of(conn, day, ((r.id, schedules.get(r.team_id, floor)) for r in shown))
    codes = {r.id: r.code for r in rep_rows}
    plans = last_plans(conn, day, shown_ids)
    return {
        r.code: rep_info(r, team_names[r.team_id], away=away, codes=codes, plans=plans)
        for r in shown
    }


def _with_progress(
    conn: sa.Connection,
    snap: dict[str, Any],
    *,
    day: date,
    at: datetime,
    pacing: PacingConfig,
    rep_rows: Sequence[Any],
    shown_ids: set[int],
    team_names: Mapping[int, str],
    schedules: Mapping[int, Schedule],
    cutoff: dict[str, int],
    tzs: dict[str, Any],
) -> dict[str, Any]:
    """``snap`` with progress against targets, each rep's last dial and present state added
    (``cutoff`` and ``tzs`` by team name: its last counted hour and its timezone)."""
    infos = _rep_infos(conn, day, rep_rows, shown_ids, team_names, schedules, pacing.floor)
    enrich(
        snap,
        day=day,
        at=at,
        reps=infos,
        rules=load_rules(conn),
        schedules={team_names[i]: s for i, s in schedules.items() if i in team_names},
        earlier=earlier_totals(conn, day, {r.id: r.code for r in rep_rows if r.id in shown_ids}),
        cfg=pacing,
    )
    last = last_dials(conn, day)
    codes = {r.code: r.id for r in rep_rows}
    for rep in snap["reps"]:
        rep["last_dial_at"] = last_dial_at(last.get(codes[rep["code"]]), at)
    _add_presence(conn, snap, day=day, at=at, codes=codes, cutoff=cutoff, tzs=tzs)
    return snap


def _add_presence(
    conn: sa.Connection,
    snap: dict[str, Any],
    *,
    day: date,
    at: datetime,
    codes: dict[str, int],
    cutoff: dict[str, int],
    tzs: dict[str, Any],
) -> None:
    """Each rep's present state and time in state, each team's and the floor's counts."""
    ids = {codes[r["code"]] for r in snap["reps"]}
    current, cells = present_states(conn, ids), day_state_cells(conn, day, ids)
    by_team: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in snap["teams"]}
    for rep in snap["reps"]:
        rep_id, team = codes[rep["code"]], rep["team"]
        rep.update(
            presence_fields(
                current.get(rep_id),
                cells.get(rep_id, {}),
                day=day,
                at=at,
                cut=cutoff[team],
                tz=tzs[team],
            )
        )
        by_team[team].append(rep)
    for t in snap["teams"]:
        t.update(group_presence(by_team[t["name"]]))
    snap["floor"].update(sum_presence(snap["teams"]))


def present_states(conn: sa.Connection, rep_ids: set[int] | None = None) -> dict[int, StateEvent]:
    """rep id -> the rep's present state (their latest event), of ``rep_ids`` or all."""
    q = sa.select(NOW.c.rep_id, NOW.c.at, NOW.c.source, NOW.c.event_key, NOW.c.state, NOW.c.reason)
    if rep_ids is not None:
        q = q.where(NOW.c.rep_id.in_(sorted(rep_ids)))
    return {rep_id: StateEvent(*fields) for rep_id, *fields in conn.execute(q)}


def day_state_cells(
    conn: sa.Connection, day: date, rep_ids: set[int] | None = None
) -> dict[int, DayCells]:
    """rep id -> {(hour, state, reason): seconds} of ``day``'s closed intervals."""
    t = STATE
    q = sa.select(t.c.rep_id, t.c.hour, t.c.state, t.c.reason, t.c.seconds).where(t.c.day == day)
    if rep_ids is not None:
        q = q.where(t.c.rep_id.in_(sorted(rep_ids)))
    out: dict[int, DayCells] = {}
    for rep_id, hour, state, reason, seconds in conn.execute(q):
        out.setdefault(rep_id, {})[(hour, state, reason)] = seconds
    return out


def rep_info(
    r: Any,
    team: str,
    *,
    away: Mapping[int, tuple[Any, dict[str, str] | None]],
    codes: Mapping[int, str],
    plans: Mapping[int, dict[str, Any]],
) -> RepInfo:
    """What pacing takes of one roster row (``r``: id, code, team_id, hired_on, mentor_id):
    its leave, today's attendance mark, its pinned mentor's code and its last evening plan."""
    leave, mark = away.get(r.id, (None, None))
    return RepInfo(
        RepRef(r.id, r.team_id, r.hired_on),
        r.code,
        team,
        away=leave,
        attendance=mark,
        mentor=codes.get(r.mentor_id) if r.mentor_id else None,
        plan=plans.get(r.id),
    )


def last_dial_at(seen: datetime | None, at: datetime) -> str | None:
    """A rep's last dial as a view evaluated at ``at`` shows it (none after ``at``)."""
    return seen.isoformat() if seen and seen <= at else None


def board_fingerprint(conn: sa.Connection, day: date) -> tuple:
    """A cheap summary of ``day``'s cells of the reps on a team (one pass over reps × hours,
    never the calls) that moves whenever a cell or a last dial does, whoever wrote it; in the
    terms :meth:`app.services.live_floor.LiveFloor.fingerprint` computes from memory."""
    on_board = sa.select(REP.c.id).where(REP.c.team_id.is_not(None))
    weighted = (TOTAL.c.rep_id * 24 + TOTAL.c.hour) * (
        TOTAL.c.dials + 3 * TOTAL.c.connects + 7 * TOTAL.c.orders + 11 * TOTAL.c.invites
    )
    q = sa.select(
        sa.func.count(),
        *(sa.func.coalesce(sa.func.sum(TOTAL.c[m]), 0) for m in METRICS),
        sa.func.coalesce(sa.func.sum(weighted), 0),
        sa.func.coalesce(sa.func.sum(TOTAL.c.rep_id * TOTAL.c.talk_seconds), 0),
    ).where(TOTAL.c.day == day, TOTAL.c.rep_id.in_(on_board))
    last = sa.select(sa.func.max(ACTIVITY.c.last_dial_at)).where(
        ACTIVITY.c.day == day, ACTIVITY.c.rep_id.in_(on_board)
    )
    return (*(int(v) for v in conn.execute(q).one()), conn.execute(last).scalar())


def last_dials(
    conn: sa.Connection, day: date, rep_ids: set[int] | None = None
) -> dict[int, datetime]:
    """rep id -> the start of the rep's latest call on ``day`` (of ``rep_ids``, or all)."""
    q = sa.select(ACTIVITY.c.rep_id, ACTIVITY.c.last_dial_at).where(ACTIVITY.c.day == day)
    if rep_ids is not None:
        q = q.where(ACTIVITY.c.rep_id.in_(sorted(rep_ids)))
    return dict(conn.execute(q).all())


def earlier_totals(
    conn: sa.Connection, day: date, codes: dict[int, str]
) -> dict[str, dict[str, dict[str, int]]]:
    """code -> {"week": totals, "month": totals} of the period's days before ``day``."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    if not codes:
        return out
    for period in ("week", "month"):
        first, _ = period_days(period, day)
        if first >= day:
            continue
        # One row per rep: the database sums the days, Python never sees them one by one.
        q = (
            sa.select(TOTAL.c.rep_id, *(sa.func.sum(TOTAL.c[m]) for m in METRICS))
            .where(TOTAL.c.day >= first, TOTAL.c.day < day)
            .group_by(TOTAL.c.rep_id)
        )
        for rep_id, *values in conn.execute(q):
            code = codes.get(rep_id)
            if code is not None:
                out.setdefault(code, {})[period] = metric_totals(values)
    return out

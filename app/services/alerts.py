"""Alerts in the database: evaluate the floor at an instant, list the day's, acknowledge one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel import Session

from app.floor.alerts import (
    RECOVER_MINUTES,
    Key,
    NewAlert,
    OpenAlerts,
    PauseLimits,
    RepState,
    decide,
    track_amber,
)
from app.floor.attendance import rep_schedule
from app.floor.pacing import Pace
from app.floor.progress import PacingConfig
from app.floor.types import Snapshot
from app.models import Alert, Rep, Team, table_of, utcnow
from app.services.errors import InputError
from app.services.live_floor import LiveFloor
from app.services.schedules import team_schedules
from app.services.snapshot import last_dials

ALERT, REP, TEAM = table_of(Alert), table_of(Rep), table_of(Team)


def open_alerts(
    conn: sa.Connection,
    day: date,
    last_dial: dict[int, datetime] | None = None,
    paused_since: dict[int, datetime] | None = None,
) -> OpenAlerts:
    """What still stands on ``day``: behind_pace not yet recovered, idle since the last dial,
    paused_long during the present pause (``paused_since``: rep id -> when it began)."""
    rows = conn.execute(
        sa.select(ALERT.c.rep_id, ALERT.c.kind, ALERT.c.metric, ALERT.c.raised_at)
        .where(ALERT.c.day == day)
        .order_by(ALERT.c.raised_at, ALERT.c.id)
    ).all()
    if last_dial is None:
        last_dial = last_dials(conn, day)
    behind: set[tuple[int, str]] = set()
    last_behind: dict[tuple[int, str], datetime] = {}
    idle: set[int] = set()
    paused: set[int] = set()
    not_in: set[int] = set()
    paused_since = paused_since or {}
    for rep_id, kind, metric, raised_at in rows:
        if kind == "behind_pace":
            behind.add((rep_id, metric))
            last_behind[(rep_id, metric)] = raised_at
        elif kind == "recovered":
            behind.discard((rep_id, metric))
        elif kind == "idle":
            seen = last_dial.get(rep_id)
            if seen is None or raised_at > seen:
                idle.add(rep_id)
        elif kind == "not_in":
            not_in.add(rep_id)
        elif kind == "paused_long":
            began = paused_since.get(rep_id)
            if began is not None and raised_at >= began:
                paused.add(rep_id)
    return OpenAlerts(
        behind=frozenset(behind),
        idle=frozenset(idle),
        paused=frozenset(paused),
        not_in=frozenset(not_in),
        last_behind=last_behind,
    )


def floor_at(
    conn: sa.Connection,
    floor: LiveFloor,
    changed: set[tuple[int, date]],
    states: set[int],
    *,
    day: date,
    now: datetime,
) -> Snapshot:
    """``floor`` brought to ``now``: the changed reps re-read, every row evaluated at ``now``;
    read whole on a new day, a roster or target change, or a write it was not told of."""
    held = floor.base is not None and floor.base.day == day and floor.snapshot is not None
    fresh = held and (not states or floor.update_states(conn, states, now=now, at=now) is not None)
    fresh = fresh and (not changed or floor.update(conn, changed, now=now, at=now) is not None)
    view = floor.retime(conn, now=now, at=now) if fresh else None
    return view if view is not None else floor.load(conn, day=day, now=now, at=now)


@dataclass(frozen=True)
class AlertView:
    """What the alert rules are applied to: the floor's day, each rep as the rules see them
    and the reps' last dials (read without the write lock: the expensive part)."""

    day: date
    reps: list[RepState]
    last: dict[int, datetime]


def alert_view(
    conn: sa.Connection,
    *,
    now: datetime,
    pacing: PacingConfig,
    floor: LiveFloor | None = None,
    changed: set[tuple[int, date]] | None = None,
    states: set[int] | None = None,
) -> AlertView:
    """The floor at ``now`` as the alert rules take it. With ``floor`` (kept by the caller
    between runs) and the reps ``changed`` (and whose agent ``states`` moved) since, only those
    are read again."""
    day = now.astimezone(pacing.floor.timezone).date()
    floor = floor or LiveFloor(timezone=str(pacing.floor.timezone), pacing=pacing)
    snap = floor_at(conn, floor, changed or set(), states or set(), day=day, now=now)
    reps = conn.execute(sa.select(REP.c.id, REP.c.code, REP.c.team_id)).all()
    ids = {r.code: (r.id, r.team_id) for r in reps}
    schedules = team_schedules(conn, pacing.floor)
    last = last_dials(conn, day)
    return AlertView(day, [_rep_state(r, ids, schedules, pacing, last) for r in snap["reps"]], last)


def raise_due(
    conn: sa.Connection,
    view: AlertView,
    *,
    now: datetime,
    idle_minutes: int,
    pause_limits: PauseLimits | None = None,
    recover_minutes: int = RECOVER_MINUTES,
    amber_since: Mapping[Key, datetime] | None = None,
) -> tuple[list[dict], dict[Key, datetime]]:
    """Raise the alerts due at ``now`` in ``view`` that are not already open: the new ones,
    and since when each open behind has been out of the red (pass it back next time: an
    amber rep recovers after ``recover_minutes`` of it). A recovered rep's behind alert is
    resolved, and the recovered alert comes resolved: neither asks to be acknowledged.

    Runs in the caller's write transaction; on PostgreSQL an advisory lock makes processes
    take turns, so two of them never raise the same alert twice.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('paceboard.alerts'))"))
    paused_since = {
        r.rep_id: r.state_since
        for r in view.reps
        if r.state == "paused" and r.state_since is not None
    }
    standing = open_alerts(conn, view.day, view.last, paused_since)
    amber = track_amber(view.reps, standing.behind, amber_since or {}, now)
    new = decide(
        view.reps,
        replace(standing, amber_since=amber),
        day=view.day,
        now=now,
        idle_minutes=idle_minutes,
        pause_limits=pause_limits,
        recover_minutes=recover_minutes,
    )
    for a in new:
        if a.kind == "recovered":
            amber.pop((a.rep_id, a.metric or ""), None)
    if not new:
        return [], amber
    rows = [
        {
            "rep_id": a.rep_id,
            "day": view.day,
            "kind": a.kind,
            "metric": a.metric,
            "raised_at": now,
            "detail": orjson.dumps(a.detail).decode(),
            "resolved_at": now if a.kind == "recovered" else None,
        }
        for a in new
    ]
    conn.execute(ALERT.insert(), rows)
    _resolve_recovered(conn, view.day, [a for a in new if a.kind == "recovered"], now)
    return list_alerts(conn, day=view.day, since=now), amber


def _resolve_recovered(
    conn: sa.Connection, day: date, recovered: list[NewAlert], now: datetime
) -> None:
    """Close the behind alerts of the reps and metrics that recovered."""
    for a in recovered:
        conn.execute(
            ALERT.update()
            .where(
                ALERT.c.day == day,
                ALERT.c.rep_id == a.rep_id,
                ALERT.c.metric == a.metric,
                ALERT.c.kind == "behind_pace",
                ALERT.c.resolved_at.is_(None),
            )
            .values(resolved_at=now)
        )


def _rep_state(
    rep: Any,
    ids: dict[str, tuple[int, int]],
    schedules: dict[int, Any],
    pacing: PacingConfig,
    last: dict[int, datetime],
) -> RepState:
    """What the alert rules need of one rep row of the view."""
    rep_id, team_id = ids[rep["code"]]
    agent = rep["agent"]
    return RepState(
        rep_id=rep_id,
        active=rep["active"],
        # On a half day, the half they work: no idle alert in the half they are away.
        schedule=rep_schedule(schedules.get(team_id, pacing.floor), rep["attendance"]),
        paces={m: Pace.from_dict(p) for m, p in rep["pace"].items()},
        last_dial_at=last.get(rep_id),
        state=agent["state"] if agent else None,
        reason=agent["reason"] if agent else "",
        state_since=datetime.fromisoformat(agent["since"]) if agent else None,
        not_in=rep["not_in"],
        off=bool(rep["attendance"]) and rep["attendance"]["status"] != "half_day",
    )


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "day": row.day.isoformat(),
        "kind": row.kind,
        "metric": row.metric,
        "rep": row.code,
        "rep_name": row.rep_name,
        "team": row.team,
        "raised_at": row.raised_at.isoformat(),
        "detail": orjson.loads(row.detail),
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
        "acknowledged_by": row.acknowledged_by,
        "note": row.note,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        # open: asks a lead to step in; acknowledged: someone did; resolved: closed by itself
        "status": (
            "acknowledged" if row.acknowledged_at else "resolved" if row.resolved_at else "open"
        ),
    }


def _query() -> sa.Select:
    return sa.select(
        ALERT,
        REP.c.code,
        REP.c.name.label("rep_name"),
        TEAM.c.name.label("team"),
    ).select_from(
        ALERT.join(REP, ALERT.c.rep_id == REP.c.id).join(TEAM, REP.c.team_id == TEAM.c.id)
    )


def list_alerts(
    conn: sa.Connection | Session,
    *,
    day: date,
    team: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """The day's alerts, newest first, optionally one team's or those raised since an instant."""
    q = _query().where(ALERT.c.day == day)
    if team is not None:
        q = q.where(TEAM.c.name == team)
    if since is not None:
        q = q.where(ALERT.c.raised_at >= since)
    return [_view(r) for r in conn.execute(q.order_by(ALERT.c.raised_at.desc(), ALERT.c.id.desc()))]


def acknowledge(
    session: Session,
    *,
    alert_id: int,
    by: str,
    note: str,
    teams: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Record who stepped in and what they did; acknowledging again replaces the note. With
    ``teams``, only an alert about a rep of those teams (else 404, as if there were none)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise InputError("id", f"no alert {alert_id}", 404)
    if teams is not None:
        team = session.execute(_query().where(ALERT.c.id == alert_id)).one().team
        if team not in teams:
            raise InputError("id", f"no alert {alert_id}", 404)
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = by
    alert.note = note
    session.add(alert)
    session.flush()
    return _view(session.execute(_query().where(ALERT.c.id == alert_id)).one())

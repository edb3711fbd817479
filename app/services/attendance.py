"""Attendance in the database: set a rep's day (admins, or the rep's lead), list a day's, and
read what pacing needs of it (app.floor.attendance)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.floor.attendance import STATUSES, Away, away_fraction, away_over, check_status
from app.floor.pacing import period_days, working_days
from app.floor.schedule import Schedule
from app.ingest.sql import dialect_insert
from app.models import Attendance, Rep, Team, table_of
from app.services.errors import InputError

ATT, REP, TEAM = table_of(Attendance), table_of(Rep), table_of(Team)


def set_attendance(
    conn: sa.Connection,
    *,
    rep: str,
    day: date,
    status: str,
    half: str = "",
    note: str = "",
    by: str,
    now: datetime,
    teams: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Record ``rep``'s ``day`` (``present`` clears it); 404 for a rep not on the roster or not
    one of ``teams`` (a lead's), 422 naming the field for a status that is not one."""
    reason = check_status(status, half)
    if reason is not None:
        raise InputError("status" if status not in STATUSES else "half", reason)
    row = conn.execute(
        sa.select(REP.c.id, TEAM.c.name)
        .join(TEAM, TEAM.c.id == REP.c.team_id)
        .where(REP.c.code == rep)
    ).first()
    if row is None or (teams is not None and row.name not in teams):
        raise InputError("rep", f"no rep with code '{rep}'", 404)
    if status == "present":
        conn.execute(ATT.delete().where(ATT.c.rep_id == row.id, ATT.c.day == day))
    else:
        values = {"status": status, "half": half, "note": note, "set_by": by, "set_at": now}
        stmt = dialect_insert(conn, ATT).values(rep_id=row.id, day=day, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["rep_id", "day"], set_=values))
    return {"rep": rep, "team": row.name, "day": day.isoformat(), "status": status,
            "half": half, "note": note, "set_by": by, "set_at": now.isoformat()}  # fmt: skip


def list_attendance(
    conn: sa.Connection, *, day: date, teams: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """The day's marks (reps not listed are present), by team and rep code."""
    q = (
        sa.select(REP.c.code, REP.c.name, TEAM.c.name.label("team"), ATT)
        .join(REP, REP.c.id == ATT.c.rep_id)
        .join(TEAM, TEAM.c.id == REP.c.team_id)
        .where(ATT.c.day == day)
        .order_by(TEAM.c.name, REP.c.code)
    )
    out = []
    for r in conn.execute(q):
        if teams is not None and r.team not in teams:
            continue
        out.append(
            {
                "rep": r.code,
                "name": r.name,
                "team": r.team,
                "day": r.day.isoformat(),
                "status": r.status,
                "half": r.half,
                "note": r.note,
                "set_by": r.set_by,
                "set_at": r.set_at.isoformat(),
            }  # fmt: skip
        )
    return out


def attendance_of(
    conn: sa.Connection, day: date, reps: Iterable[tuple[int, Schedule]]
) -> dict[int, tuple[Away, dict[str, str] | None]]:
    """rep id -> (their leave in ``day``'s week and month, today's mark) for the reps with any
    mark in that week or month; one read."""
    pairs = list(reps)
    first = min(period_days("week", day)[0], period_days("month", day)[0])
    last = max(period_days("week", day)[1], period_days("month", day)[1])
    q = sa.select(ATT.c.rep_id, ATT.c.day, ATT.c.status, ATT.c.half, ATT.c.note).where(
        ATT.c.day >= first, ATT.c.day <= last
    )
    days: dict[int, dict[date, float]] = {}
    marks: dict[int, dict[str, str]] = {}
    for rep_id, d, status, half, note in conn.execute(q):
        days.setdefault(rep_id, {})[d] = away_fraction(status, half)
        if d == day:
            marks[rep_id] = {"status": status, "half": half, "note": note}
    out: dict[int, tuple[Away, dict[str, str] | None]] = {}
    for rep_id, schedule in pairs:
        if rep_id not in days:
            continue
        mine = days[rep_id]
        away = Away(
            today=mine.get(day, 0.0) if day.isoweekday() in schedule.working_days else 0.0,
            week=away_over(mine, working_days(schedule, "week", day)),
            month=away_over(mine, working_days(schedule, "month", day)),
        )
        out[rep_id] = (away, marks.get(rep_id))
    return out


def attendance_key(conn: sa.Connection, day: date) -> tuple:
    """The marks of ``day``'s week and month as one comparable value (a live view's check for
    changes made by another process)."""
    first = min(period_days("week", day)[0], period_days("month", day)[0])
    last = max(period_days("week", day)[1], period_days("month", day)[1])
    q = (
        sa.select(ATT.c.rep_id, ATT.c.day, ATT.c.status, ATT.c.half, ATT.c.note)
        .where(ATT.c.day >= first, ATT.c.day <= last)
        .order_by(ATT.c.rep_id, ATT.c.day)
    )
    return tuple(map(tuple, conn.execute(q)))


def away_days(
    conn: sa.Connection, first: date, last: date, rep_ids: set[int]
) -> dict[int, dict[date, float]]:
    """rep id -> {day: fraction away} between ``first`` and ``last`` (marked days only)."""
    q = sa.select(ATT.c.rep_id, ATT.c.day, ATT.c.status, ATT.c.half).where(
        ATT.c.day >= first, ATT.c.day <= last
    )
    out: dict[int, dict[date, float]] = {}
    for rep_id, d, status, half in conn.execute(q):
        if rep_id in rep_ids:
            out.setdefault(rep_id, {})[d] = away_fraction(status, half)
    return out

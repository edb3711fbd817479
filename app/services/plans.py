"""The evening plan per rep (员工问题 / 改进计划) and its follow-up the next day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.ingest.sql import dialect_insert
from app.models import Rep, RepPlan, Team, table_of
from app.services.errors import InputError

PLAN, REP, TEAM = table_of(RepPlan), table_of(Rep), table_of(Team)

#: A plan older than this is not "yesterday's" any more (a week of leave, a long weekend).
FOLLOW_UP_DAYS = 7


def _rep(conn: sa.Connection, code: str, teams: frozenset[str] | None) -> tuple[int, str]:
    row = conn.execute(
        sa.select(REP.c.id, TEAM.c.name)
        .join(TEAM, TEAM.c.id == REP.c.team_id)
        .where(REP.c.code == code)
    ).first()
    if row is None or (teams is not None and row.name not in teams):
        raise InputError("rep", f"no rep with code '{code}'", 404)
    return row.id, row.name


def save_plan(
    conn: sa.Connection,
    *,
    rep: str,
    day: date,
    problem: str,
    plan: str,
    by: str,
    now: datetime,
    teams: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Write ``rep``'s problem and plan of ``day`` (the evening meeting); writing again replaces
    them and clears a follow-up mark. 404 for a rep not on the roster or not one of ``teams``."""
    rep_id, team = _rep(conn, rep, teams)
    values = {"problem": problem, "plan": plan, "set_by": by, "set_at": now, "done": None,
              "followed_by": None, "followed_at": None}  # fmt: skip
    stmt = dialect_insert(conn, PLAN).values(rep_id=rep_id, day=day, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["rep_id", "day"], set_=values))
    return plan_view(conn, rep_id, day, rep, team)


def follow_up(
    conn: sa.Connection,
    *,
    rep: str,
    day: date,
    done: bool,
    by: str,
    now: datetime,
    teams: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Mark the plan of ``rep``'s ``day`` done or not done; 404 when there is none."""
    rep_id, team = _rep(conn, rep, teams)
    moved = conn.execute(
        PLAN.update()
        .where(PLAN.c.rep_id == rep_id, PLAN.c.day == day)
        .values(done=done, followed_by=by, followed_at=now)
    ).rowcount
    if not moved:
        raise InputError("day", f"no plan for '{rep}' on {day}", 404)
    return plan_view(conn, rep_id, day, rep, team)


def plan_view(conn: sa.Connection, rep_id: int, day: date, code: str, team: str) -> dict[str, Any]:
    row = conn.execute(sa.select(PLAN).where(PLAN.c.rep_id == rep_id, PLAN.c.day == day)).one()
    return {"rep": code, "team": team, **_fields(row)}


def _fields(row: Any) -> dict[str, Any]:
    return {
        "day": row.day.isoformat(),
        "problem": row.problem,
        "plan": row.plan,
        "set_by": row.set_by,
        "done": row.done,
        "followed_by": row.followed_by,
    }


def last_plans(conn: sa.Connection, day: date, rep_ids: set[int]) -> dict[int, dict[str, Any]]:
    """rep id -> their latest plan before ``day`` (within :data:`FOLLOW_UP_DAYS`): what the
    morning checks."""
    q = (
        sa.select(PLAN)
        .where(PLAN.c.day < day, PLAN.c.day >= day - timedelta(days=FOLLOW_UP_DAYS))
        .order_by(PLAN.c.day)
    )
    out: dict[int, dict[str, Any]] = {}
    for row in conn.execute(q):
        if row.rep_id in rep_ids:
            out[row.rep_id] = _fields(row)  # later days overwrite earlier ones
    return out


def plans_between(
    conn: sa.Connection, first: date, last: date, teams: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Every plan from ``first`` to ``last`` with its follow-up, by day, team and rep."""
    q = (
        sa.select(PLAN, REP.c.code, TEAM.c.name.label("team"))
        .join(REP, REP.c.id == PLAN.c.rep_id)
        .join(TEAM, TEAM.c.id == REP.c.team_id)
        .where(PLAN.c.day >= first, PLAN.c.day <= last)
        .order_by(PLAN.c.day, TEAM.c.name, REP.c.code)
    )
    return [
        {"rep": r.code, "team": r.team, **_fields(r)}
        for r in conn.execute(q)
        if teams is None or r.team in teams
    ]

"""Read the floor snapshot: roster plus the hourly_total cells of one day (never the calls)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.floor.snapshot import RepRow, build_snapshot
from app.ingest.service import UNASSIGNED_TEAM
from app.models import METRICS, HourlyTotal, Rep, Team
from app.services.errors import InputError

REP, TEAM, TOTAL = Rep.__table__, Team.__table__, HourlyTotal.__table__


def load_snapshot(
    conn: sa.Connection, *, day: date, timezone: str, now: datetime, team: str | None = None
) -> dict[str, Any]:
    """The snapshot of ``day`` for the floor, or one team (404 InputError if it does not exist)."""
    tq = sa.select(TEAM.c.id, TEAM.c.name).order_by(TEAM.c.id)
    if team is not None:
        tq = tq.where(TEAM.c.name == team)
    teams = list(conn.execute(tq))
    if team is not None and not teams:
        raise InputError("team", f"no team named '{team}'", 404)
    team_ids = [t.id for t in teams]
    team_names = {t.id: t.name for t in teams}

    cq = sa.select(TOTAL.c.rep_id, TOTAL.c.hour, *(TOTAL.c[m] for m in METRICS)).where(
        TOTAL.c.day == day
    )
    if team is not None:
        cq = cq.where(TOTAL.c.rep_id.in_(sa.select(REP.c.id).where(REP.c.team_id.in_(team_ids))))
    cells = [(r[0], r[1], dict(zip(METRICS, r[2:], strict=True))) for r in conn.execute(cq)]
    with_calls = {c[0] for c in cells}

    rq = sa.select(REP.c.id, REP.c.code, REP.c.name, REP.c.team_id, REP.c.active).where(
        REP.c.team_id.in_(team_ids)
    )
    reps = [
        RepRow(r.id, r.code, r.name, team_names[r.team_id], r.active)
        for r in conn.execute(rq)
        if r.active or r.id in with_calls
    ]
    # The catch-all team for unknown rep codes is shown only while it has someone in it.
    staffed = {r.team for r in reps}
    shown_teams = [t.name for t in teams if t.name != UNASSIGNED_TEAM or t.name in staffed]
    return build_snapshot(
        day=day, timezone=timezone, generated_at=now, teams=shown_teams, reps=reps, cells=cells
    )

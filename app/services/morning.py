"""The morning meeting's screen: yesterday per team and rep, last evening's plans and whether
they were done, today's hand-down (each target and its stretch), who is away today, and the
targets changed since yesterday."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.floor.progress import PacingConfig
from app.floor.snapshot import only_teams
from app.services.reports import daily
from app.services.snapshot import load_snapshot
from app.services.targets import target_changes


def previous_working_day(pacing: PacingConfig, day: date) -> date:
    """The floor's last working day before ``day`` (Monday's is Friday)."""
    d = day - timedelta(days=1)
    for _ in range(7):
        if d.isoweekday() in pacing.floor.working_days:
            return d
        d -= timedelta(days=1)
    return day - timedelta(days=1)


def morning(
    conn: sa.Connection,
    *,
    day: date,
    now: datetime,
    pacing: PacingConfig,
    teams: frozenset[str] | None = None,
) -> dict[str, Any]:
    """What a lead stands beside at 08:30 on ``day``; ``teams`` (a lead's, a team TV's) limits
    the rep rows to theirs (teams' figures stay: they are public on the floor)."""
    before = previous_working_day(pacing, day)
    yesterday = daily(conn, day=before, now=now, pacing=pacing, teams=teams)
    today = load_snapshot(
        conn, day=day, timezone=str(pacing.floor.timezone), now=now, pacing=pacing
    )
    if teams is not None:
        today = only_teams(today, teams)
    since = datetime.combine(before, time(), pacing.floor.timezone)
    with Session(conn) as session:
        changes = target_changes(session, since=since, teams=teams)
    reps = [_handdown(r) for r in today["reps"] if r["active"]]
    return {
        "day": day.isoformat(),
        "yesterday": yesterday,
        "reps": reps,
        "teams": [{"name": t["name"], "targets": t.get("targets", {})} for t in today["teams"]],
        "away": [r for r in reps if r["attendance"]],
        "changes": changes,
    }


def _handdown(rep: dict[str, Any]) -> dict[str, Any]:
    """One rep's day: each day target with its stretch, the last plan, today's attendance."""
    day_targets = {
        m: {"target": p["target"], "stretch": p["stretch"]} for m, p in rep["pace"].items()
    }
    return {
        "code": rep["code"],
        "name": rep["name"],
        "team": rep["team"],
        "new_hire": rep["new_hire"],
        "targets": day_targets,
        "plan": rep["plan"],
        "attendance": rep["attendance"],
    }

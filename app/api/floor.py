"""The floor as it stands: totals and pacing per rep, team and floor, from the totals table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ConnDep, ReadPrincipal, SettingsDep, team_allowed
from app.api.types import Day, Instant
from app.floor.snapshot import only_teams
from app.models import utcnow
from app.services.snapshot import load_snapshot

router = APIRouter(prefix="/api/v1/floor", tags=["floor"])


@router.get("/snapshot", summary="Floor, team and rep totals and pacing for one day")
def snapshot(
    conn: ConnDep,
    settings: SettingsDep,
    principal: ReadPrincipal,
    day: Day | None = None,
    team: str | None = None,
    at: Annotated[
        Instant | None,
        Query(description="Evaluate as of this instant (ISO 8601 with offset; default now)"),
    ] = None,
) -> dict:
    team = team_allowed(principal, team)
    now = utcnow()
    view = load_snapshot(
        conn,
        day=day or settings.today(at or now),
        timezone=settings.timezone,
        now=now,
        at=at,
        team=team,
        pacing=settings.pacing,
    )
    return only_teams(view, principal.teams) if principal.teams is not None else view

"""The floor as it stands: totals and pacing per rep, team and floor, from the totals table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import EngineDep, HubDep, ReadPrincipal, SettingsDep, team_allowed
from app.api.types import Day, Instant
from app.config import Settings
from app.floor.snapshot import only_teams
from app.floor.types import Snapshot
from app.models import utcnow
from app.services.snapshot import load_snapshot

router = APIRouter(prefix="/api/v1/floor", tags=["floor"])


def _read(
    engine: sa.Engine,
    settings: Settings,
    *,
    day: date,
    now: datetime,
    at: datetime | None,
    team: str | None,
) -> dict[str, Any]:
    with engine.connect() as conn:
        return load_snapshot(
            conn,
            day=day,
            timezone=settings.timezone,
            now=now,
            at=at,
            team=team,
            pacing=settings.pacing,
        )


@router.get(
    "/snapshot",
    summary="Floor, team and rep totals and pacing for one day",
    # Documents the body (served pre-serialised with orjson; the types are checked by tests
    # against real snapshots, not per request: 2,000 reps would cost more than the read).
    response_model=Snapshot,
)
async def snapshot(
    settings: SettingsDep,
    engine: EngineDep,
    hub: HubDep,
    principal: ReadPrincipal,
    day: Day | None = None,
    team: str | None = None,
    at: Annotated[
        Instant | None,
        Query(description="Evaluate as of this instant (ISO 8601 with offset; default now)"),
    ] = None,
) -> Response:
    team = team_allowed(principal, team)
    now = utcnow()
    today = settings.today(now)
    view: Snapshot | dict[str, Any]
    if at is None and team is None and day in (None, today):
        # Today's whole floor, as the live screens see it: read once per change, however many
        # clients poll it (a Grafana panel, a dozen laptops), so polling costs reps × hours
        # once per change, not once per request.
        view = await hub.polled_view()
    else:
        view = await run_in_threadpool(
            _read,
            engine,
            settings,
            day=day or settings.today(at or now),
            now=now,
            at=at,
            team=team,
        )
    view = only_teams(view, principal.teams) if principal.teams is not None else view
    # orjson: for 2,000 reps FastAPI's generic encoder took longer than reading the floor.
    return Response(orjson.dumps(view), media_type="application/json")

"""The floor as it stands: per-rep hourly totals, read from the totals table only."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter

from app.api.deps import ConnDep, ReadPrincipal, SettingsDep
from app.models import utcnow
from app.services.snapshot import load_snapshot

router = APIRouter(prefix="/api/v1/floor", tags=["floor"])


def local_today(tz, now: datetime) -> date:
    return now.astimezone(tz).date()


@router.get("/snapshot", summary="Floor, team and rep totals with hour cells for one day")
def snapshot(
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadPrincipal,
    day: date | None = None,
    team: str | None = None,
) -> dict:
    now = utcnow()
    return load_snapshot(
        conn,
        day=day or local_today(settings.tz, now),
        timezone=settings.timezone,
        now=now,
        team=team,
    )

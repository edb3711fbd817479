"""Alerts: the day's list for leads, and acknowledging one with what was done."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import (
    ConnDep,
    LeadPrincipal,
    ReadPrincipal,
    SessionDep,
    SettingsDep,
    team_allowed,
)
from app.api.types import Day, RowId
from app.services import alerts

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    by: Annotated[str, Field(min_length=1, max_length=100, description="Who stepped in")]
    note: Annotated[str, Field(min_length=1, max_length=2000, description="What they did")]


@router.get("", summary="The day's alerts, newest first")
def list_alerts(
    conn: ConnDep,
    settings: SettingsDep,
    principal: ReadPrincipal,
    day: Day | None = None,
    team: str | None = None,
) -> list[dict]:
    team = team_allowed(principal, team)
    found = alerts.list_alerts(conn, day=day or settings.today(), team=team)
    return [a for a in found if principal.sees_team(a["team"])]


@router.post("/{alert_id}/ack", summary="Acknowledge an alert: who stepped in and what they did")
def acknowledge(
    alert_id: RowId, body: AckIn, session: SessionDep, principal: LeadPrincipal
) -> dict:
    return alerts.acknowledge(
        session, alert_id=alert_id, by=body.by, note=body.note, teams=principal.teams
    )

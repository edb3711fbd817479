"""Targets: read them with a read token, set them with an admin token; the day's plan."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import (
    ConnDep,
    FloorChangedDep,
    LeadPrincipal,
    ReadPrincipal,
    SessionDep,
    SettingsDep,
)
from app.api.types import Day
from app.services import targets

router = APIRouter(prefix="/api/v1", tags=["targets"])


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    metric: str
    period: str = Field(description="day | week | month")
    value: Annotated[int | None, Field(ge=0, description="null unsets the target from valid_from")]
    team: str | None = None
    rep: str | None = None
    valid_from: Day | None = Field(default=None, description="defaults to today (floor time)")


@router.get("/targets", summary="Every target rule (floor, team, rep) with its valid_from")
def list_targets(session: SessionDep, principal: ReadPrincipal) -> list[dict]:
    return targets.list_targets(session, teams=principal.teams)


@router.put(
    "/targets",
    summary="Set or unset one target from a day on (admins; a lead: their team's reps')",
)
def put_target(
    body: TargetIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: LeadPrincipal,
    floor_changed: FloorChangedDep,
) -> dict:
    fields = body.model_dump(exclude={"valid_from"})
    valid_from = body.valid_from or settings.today()
    if principal.teams is not None:  # a lead: within the rules
        targets.check_lead_target(
            session,
            teams=principal.teams,
            valid_from=valid_from,
            today=settings.today(),
            minimums=settings.target_minimums,
            **fields,
        )
    got = targets.set_target(session, **fields, valid_from=valid_from, by=principal.name)
    floor_changed(session)
    return got


@router.get("/targets/changes", summary="Who changed which target and when, newest first")
def target_changes(
    session: SessionDep, settings: SettingsDep, principal: ReadPrincipal, since: Day | None = None
) -> list[dict]:
    first = since or settings.today()
    start = datetime.combine(first, time(), settings.tz)
    return targets.target_changes(session, since=start, teams=principal.teams)


@router.get("/floor/plan", summary="The morning meeting's hand-down: every rep's targets")
def floor_plan(
    conn: ConnDep, settings: SettingsDep, principal: ReadPrincipal, day: Day | None = None
) -> dict:
    return targets.day_plan(
        conn,
        day=day or settings.today(),
        ramp=settings.ramp,
        stretch_pct=settings.stretch_pct,
        teams=principal.teams,
    )

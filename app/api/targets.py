"""Targets: read them with a read token, set them with an admin token; the day's plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import AdminPrincipal, ConnDep, ReadPrincipal, SessionDep, SettingsDep
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


@router.put("/targets", summary="Set or unset one target from a day on")
def put_target(
    body: TargetIn, session: SessionDep, settings: SettingsDep, _: AdminPrincipal
) -> dict:
    return targets.set_target(
        session,
        **body.model_dump(exclude={"valid_from"}),
        valid_from=body.valid_from or settings.today(),
    )


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

"""The evening plan per rep: the problem and the plan (leads, for their teams' reps), the
next day's follow-up (done or not), and the plans of a stretch of days for the reports."""

from __future__ import annotations

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
from app.models import utcnow
from app.services import plans

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    problem: Annotated[str, Field(max_length=1000, description="员工问题: what held the rep back")]
    plan: Annotated[str, Field(min_length=1, max_length=1000, description="改进计划: the fix")]


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    done: bool


@router.put("/{rep}/{day}", summary="Write a rep's problem and plan for a day (evening meeting)")
def put_plan(
    rep: str,
    day: Day,
    body: PlanIn,
    session: SessionDep,
    principal: LeadPrincipal,
    floor_changed: FloorChangedDep,
) -> dict:
    got = plans.save_plan(
        session.connection(),
        rep=rep,
        day=day,
        **body.model_dump(),
        by=principal.name,
        now=utcnow(),
        teams=principal.teams,
    )
    floor_changed(session)
    return got


@router.put("/{rep}/{day}/done", summary="Mark a rep's plan of a day done or not done")
def put_done(
    rep: str,
    day: Day,
    body: DoneIn,
    session: SessionDep,
    principal: LeadPrincipal,
    floor_changed: FloorChangedDep,
) -> dict:
    got = plans.follow_up(
        session.connection(),
        rep=rep,
        day=day,
        done=body.done,
        by=principal.name,
        now=utcnow(),
        teams=principal.teams,
    )
    floor_changed(session)
    return got


@router.get("", summary="The plans of a stretch of days with their follow-up")
def list_plans(
    conn: ConnDep,
    settings: SettingsDep,
    principal: ReadPrincipal,
    first: Day | None = None,
    last: Day | None = None,
) -> list[dict]:
    today = settings.today()
    return plans.plans_between(conn, first or today, last or today, teams=principal.teams)

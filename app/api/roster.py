"""Teams and reps: read with a read token, change with an admin token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import (
    AdminPrincipal,
    ConnDep,
    FloorChangedDep,
    IngestDep,
    LeadPrincipal,
    ReadPrincipal,
    SessionDep,
    SettingsDep,
    team_allowed,
)
from app.api.types import Day
from app.config import Settings
from app.floor.schedule import format_weekdays, format_windows
from app.services import agents, roster

router = APIRouter(prefix="/api/v1", tags=["roster"])

Name = Annotated[str, Field(min_length=1, max_length=100)]


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name
    timezone: str | None = None
    calling_windows: str | None = None
    working_days: str | None = None


class TeamPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name | None = None
    timezone: str | None = None
    calling_windows: str | None = None
    working_days: str | None = None


class RepIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: Name
    name: Annotated[str, Field(min_length=1, max_length=200)]
    team: Name
    hired_on: Day | None = None
    active: bool = True
    identifiers: list[Name] = []


class RepPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: Name | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    team: Name | None = None
    hired_on: Day | None = None
    active: bool | None = None
    identifiers: list[Name] | None = None


def _defaults(settings: Settings) -> tuple[str, str, str]:
    return (
        settings.timezone,
        format_windows(settings.calling_windows),
        format_weekdays(settings.working_days),
    )


@router.get("/teams")
def list_teams(session: SessionDep, principal: ReadPrincipal) -> list[dict]:
    return [t for t in roster.list_teams(session) if principal.sees_team(t["name"])]


@router.post("/teams", status_code=201)
def create_team(
    body: TeamIn, session: SessionDep, settings: SettingsDep, _: AdminPrincipal
) -> dict:
    team = roster.create_team(session, **body.model_dump(), defaults=_defaults(settings))
    return roster.team_view(session, team)


@router.patch("/teams/{name}")
def update_team(
    name: str, body: TeamPatch, session: SessionDep, settings: SettingsDep, _: AdminPrincipal
) -> dict:
    team = roster.update_team(
        session,
        name=name,
        changes=body.model_dump(exclude_unset=True),
        defaults=_defaults(settings),
    )
    return roster.team_view(session, team)


@router.get("/reps")
def list_reps(session: SessionDep, principal: ReadPrincipal, team: str | None = None) -> list[dict]:
    team = team_allowed(principal, team)
    return [r for r in roster.list_reps(session, team=team) if principal.sees_team(r["team"])]


@router.post("/reps", status_code=201)
def create_rep(body: RepIn, session: SessionDep, ingest: IngestDep, _: AdminPrincipal) -> dict:
    rep = roster.create_rep(session, **body.model_dump(), ingest=ingest)
    return roster.rep_view(session, rep)


@router.patch("/reps/{code}")
def update_rep(
    code: str, body: RepPatch, session: SessionDep, ingest: IngestDep, _: AdminPrincipal
) -> dict:
    changes = body.model_dump(exclude_unset=True)
    rep = roster.update_rep(session, code=code, changes=changes, ingest=ingest)
    return roster.rep_view(session, rep)


class MentorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    mentor: Annotated[
        str | None, Field(max_length=100, description="A rep of the same team; null unpins")
    ]


@router.put("/reps/{code}/mentor", summary="Pin a rep's mentor (admins, or the team's lead)")
def pin_mentor(
    code: str,
    body: MentorIn,
    session: SessionDep,
    principal: LeadPrincipal,
    floor_changed: FloorChangedDep,
) -> dict:
    got = roster.pin_mentor(session, code=code, mentor=body.mentor, teams=principal.teams)
    floor_changed(session)
    return got


@router.get("/agents/unresolved", summary="Calls kept under identifiers no rep has (admins)")
def unresolved_agents(conn: ConnDep, ingest: IngestDep, _: AdminPrincipal) -> dict:
    """The unresolved-agent bucket: calls and agents in all, the identifiers that may be shown
    (extensions, agent ids: never a phone number), and the calls of those that may not."""
    return agents.unresolved_summary(conn, ingest)

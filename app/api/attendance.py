"""Attendance: a rep's day away (leave, half day, sick, absent), set by an admin or the rep's
lead; a day's marks for whoever reads the floor."""

from __future__ import annotations

from typing import Annotated, Literal

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
from app.services import attendance

router = APIRouter(prefix="/api/v1/attendance", tags=["attendance"])


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Literal["present", "leave", "half_day", "sick", "absent"]
    half: Annotated[
        Literal["", "am", "pm"], Field(description="am or pm: which half a half day is")
    ] = ""
    note: Annotated[str, Field(max_length=500)] = ""


@router.put("/{rep}/{day}", summary="Set a rep's day: present, leave, half day, sick or absent")
def put_attendance(
    rep: str,
    day: Day,
    body: AttendanceIn,
    session: SessionDep,
    principal: LeadPrincipal,
    floor_changed: FloorChangedDep,
) -> dict:
    got = attendance.set_attendance(
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


@router.get("", summary="A day's attendance marks (reps not listed are present)")
def list_attendance(
    conn: ConnDep, settings: SettingsDep, principal: ReadPrincipal, day: Day | None = None
) -> list[dict]:
    return attendance.list_attendance(conn, day=day or settings.today(), teams=principal.teams)

"""The web admin: the ``/admin`` page and the JSON routes only admins call from it (users and
their teams, TV display links, API tokens, the roster CSV, the first-day checklist).

Roster, targets and attendance have their own routes (roster.py, targets.py, attendance.py),
which the page calls as they are. Secrets (a token, a display link) are in the answer that
creates them and nowhere else: listings carry the prefix that recognises them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import (
    AdminPrincipal,
    ConnDep,
    IngestDep,
    PrincipalLookupDep,
    SessionDep,
    SettingsDep,
    TokensDep,
    page_rule,
)
from app.api.rendering import Lang, Token, render_page
from app.api.types import RowId
from app.config import Settings
from app.floor.targets import PERIODS
from app.models import utcnow
from app.services import checklist, displays, roster, tokens, users
from app.services.errors import InputError

router = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)

Name = Annotated[str, Field(min_length=1, max_length=100)]
TeamName = Annotated[str, Field(min_length=1, max_length=100)]
Size = Literal["normal", "large"]
View = Literal["live", "today", "week", "month", "pk", "heatmap"]
ViewMetric = Literal["dials", "connects", "talk_seconds", "orders", "invites", "revenue"]
Rotate = Annotated[int, Field(ge=displays.ROTATE_SECONDS[0], le=displays.ROTATE_SECONDS[1])]
#: What a secret-free placeholder looks like in the commands shown after the secret is gone.
TOKEN_PLACEHOLDER = "<TOKEN>"


def public_base(request: Request, settings: Settings) -> str:
    """Where people reach this server: PACEBOARD_PUBLIC_URL, else the scheme and host this
    request came to (with the root path a proxy mounts us under). Never a guessed port."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


# --- the page --------------------------------------------------------------------------------


@pages.api_route(
    "/admin",
    methods=["GET", "HEAD"],
    response_class=HTMLResponse,
    dependencies=[Depends(page_rule("admin"))],
)
async def admin_page(
    request: Request,
    settings: SettingsDep,
    lookup: PrincipalLookupDep,
    token: Token = None,
    lang: Lang = None,
) -> HTMLResponse:
    """The admin's page: the first-day checklist, then roster, targets, users, TVs, tokens and
    attendance, each a section of one page (``#roster``…)."""

    def context(_: Any) -> dict[str, Any]:
        return {
            "origin": public_base(request, settings),
            "today": settings.today().isoformat(),
            "periods": PERIODS,
            "views": displays.VIEWS,
            "rotate_min": displays.ROTATE_SECONDS[0],
            "rotate_max": displays.ROTATE_SECONDS[1],
        }

    return await render_page(
        request,
        "admin.html",
        lookup=lookup,
        settings=settings,
        scope="admin",
        token=token,
        display=None,
        lang=lang,
        team=None,
        extra=context,
    )


# --- checklist -------------------------------------------------------------------------------


def _phone_commands(
    conn: Any, request: Request, settings: Settings, *, token: str, source: str | None
) -> dict[str, str]:
    record = checklist.sample_record(
        rep=checklist.sample_rep(conn) or "8001", now=utcnow(), timezone=settings.timezone
    )
    base = public_base(request, settings)
    return {
        "curl": checklist.curl_command(base_url=base, token=token, record=record),
        "import_command": checklist.import_command(source=source),
    }


@router.get("/admin/checklist", summary="The first-day checklist, each item from the database")
def get_checklist(
    request: Request, conn: ConnDep, settings: SettingsDep, _: AdminPrincipal
) -> dict[str, Any]:
    """Roster, a TV, the phone system (an ingest token, then a call), targets: each ``done`` or
    not, with the commands that connect a phone system (the token left as a placeholder)."""
    got = checklist.checklist(conn)
    got["commands"] = _phone_commands(conn, request, settings, token=TOKEN_PLACEHOLDER, source=None)
    return got


# --- users -----------------------------------------------------------------------------------


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(max_length=users.MAX_PASSWORD)]
    role: Literal["admin", "lead"]
    teams: list[TeamName] = []


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(max_length=users.MAX_PASSWORD)]


class TeamsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    teams: list[TeamName]


@router.get("/users", summary="Every user with their role, teams and state (admins)")
def list_users(session: SessionDep, _: AdminPrincipal) -> list[dict[str, Any]]:
    return users.list_users(session)


@router.post("/users", status_code=201, summary="Create an admin, or a lead of some teams")
def create_user(body: UserIn, session: SessionDep, _: AdminPrincipal) -> dict[str, Any]:
    user = users.create_user(
        session, username=body.username, password=body.password, role=body.role, teams=body.teams
    )
    return users.user_view(session, user)


@router.put("/users/{username}/password", summary="Set a user's password; signs them out")
def reset_password(
    username: str, body: PasswordIn, session: SessionDep, _: AdminPrincipal
) -> dict[str, Any]:
    user = users.set_password(session, username=username, password=body.password)
    return users.user_view(session, user)


@router.put("/users/{username}/teams", summary="Set the teams a lead leads")
def set_teams(
    username: str, body: TeamsIn, session: SessionDep, _: AdminPrincipal
) -> dict[str, Any]:
    user = users.set_user_teams(session, username=username, teams=body.teams)
    return users.user_view(session, user)


@router.post("/users/{username}/disable", summary="Disable a user and sign them out")
def disable_user(username: str, session: SessionDep, _: AdminPrincipal) -> dict[str, Any]:
    user = users.disable_user(session, username=username)
    return users.user_view(session, user)


# --- TV display links ------------------------------------------------------------------------


class DisplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name
    teams: list[TeamName] = Field(default=[], description="none: the whole floor")
    size: Size = "normal"
    views: Annotated[list[View], Field(min_length=1, max_length=len(displays.VIEWS))] = ["live"]
    rotate_seconds: Rotate = 30
    pin: View | None = None
    metric: ViewMetric = "revenue"


class DisplayPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name | None = None
    size: Size | None = None
    views: Annotated[list[View], Field(min_length=1, max_length=len(displays.VIEWS))] | None = None
    rotate_seconds: Rotate | None = None
    pin: View | None = None
    metric: ViewMetric | None = None


@router.get("/displays", summary="Every TV display link with its settings (never its secret)")
def list_displays(session: SessionDep, _: AdminPrincipal) -> list[dict[str, Any]]:
    return displays.list_displays(session)


@router.post(
    "/displays",
    status_code=201,
    summary="Create a TV display link: its URL and QR code are in this answer only",
)
def create_display(
    body: DisplayIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: AdminPrincipal,
) -> dict[str, Any]:
    row, secret = displays.create_display(
        session,
        name=body.name,
        teams=body.teams,
        settings=body.model_dump(include=set(displays.SETTING_KEYS)),
    )
    url = displays.display_url(public_base(request, settings), secret)
    return {"display": displays.display_view(session, row), "url": url, "qr": displays.link_qr(url)}


@router.patch("/displays/{display_id}", summary="Rename a TV link or change its settings")
def update_display(
    display_id: RowId, body: DisplayPatch, session: SessionDep, _: AdminPrincipal
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None and key != "pin":
            raise InputError(key, "may not be null")
    row = displays.update_display(session, display_id=display_id, changes=changes)
    return displays.display_view(session, row)


@router.post("/displays/{display_id}/revoke", summary="Revoke a TV link; its screen stops")
def revoke_display(display_id: RowId, session: SessionDep, _: AdminPrincipal) -> dict[str, Any]:
    if not displays.revoke_display(session, display_id=display_id):
        raise InputError("display_id", f"no active display link with id {display_id}", 404)
    return {"id": display_id, "revoked": True}


# --- API tokens ------------------------------------------------------------------------------


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Name
    scope: Literal["ingest", "read", "admin"]
    source: Annotated[str, Field(max_length=100)] | None = None


@router.get("/tokens", summary="Every API token (its prefix, never its secret)")
def list_tokens(session: SessionDep, _: AdminPrincipal) -> list[dict[str, Any]]:
    return [tokens.token_view(t) for t in tokens.list_tokens(session)]


@router.post(
    "/tokens", status_code=201, summary="Create an API token: its secret is in this answer only"
)
def create_token(
    body: TokenIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: AdminPrincipal,
) -> dict[str, Any]:
    """The token and its secret; for an ingest token also the curl command that posts a sample
    call with it and the ``paceboard import`` command for an export file."""
    source = body.source or None
    row, secret = tokens.create_token(session, name=body.name, scope=body.scope, source=source)
    got: dict[str, Any] = {"token": tokens.token_view(row), "secret": secret}
    if body.scope == "ingest":
        conn = session.connection()
        got |= _phone_commands(conn, request, settings, token=secret, source=source)
    return got


@router.post("/tokens/{token_id}/revoke", summary="Revoke an API token")
def revoke_token(
    token_id: RowId, session: SessionDep, verifier: TokensDep, _: AdminPrincipal
) -> dict[str, Any]:
    if not tokens.revoke_token(session, token_id=token_id):
        raise InputError("token_id", f"no active token with id {token_id}", 404)
    session.commit()  # before the cache is cleared, or a lookup could cache the live token
    verifier.forget()
    return {"id": token_id, "revoked": True}


# --- roster CSV ------------------------------------------------------------------------------

_ROW = re.compile(r"^row (\d+): (?:(code|name|team|hired_on|identifiers): )?(.*)$")


def _reject(text: str) -> dict[str, Any]:
    """One of ``read_roster_csv``'s messages as ``{line, field, reason}`` (a problem with the
    file as a whole names ``file``, with the header row ``header``)."""
    found = _ROW.match(text)
    if found is None:
        return {"line": None, "field": "file", "reason": text}
    line, field, reason = found.groups()
    return {"line": int(line), "field": field or "header", "reason": reason}


@router.post(
    "/roster/import",
    summary="Create or update reps from a roster CSV (as paceboard roster import)",
    responses={422: {"description": "Rejected rows, each with its line, field and reason"}},
)
def import_roster(
    session: SessionDep,
    ingest: IngestDep,
    _: AdminPrincipal,
    file: Annotated[UploadFile, File(description="code,name,team,hired_on[,identifiers…]")],
) -> Any:
    """All rows or none: a file with a bad row imports nothing and lists every bad row."""
    rows, errors = roster.read_roster_csv(file.file.read())
    if errors:
        items = [_reject(e) for e in errors]
        return JSONResponse(
            {"detail": f"{len(items)} row(s) rejected; nothing imported", "errors": items},
            status_code=422,
        )
    created = updated = unchanged = 0
    for rec in rows:
        try:
            got = roster.import_roster(session, [rec], ingest=ingest)
        except InputError as exc:
            raise InputError(exc.field, f"rep '{rec['code']}': {exc.reason}", exc.status) from None
        created, updated = created + got.created, updated + got.updated
        unchanged += got.unchanged
    return {"created": created, "updated": updated, "unchanged": unchanged}

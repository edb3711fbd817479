"""``POST /api/v1/imports``: upload a telephony export, the same import as ``paceboard import``;
``/api/v1/import-profiles``: the saved ways of reading one."""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.deps import (
    AdminPrincipal,
    AlertsDep,
    EngineDep,
    HubDep,
    IngestDep,
    OpenSessionDep,
    ReadPrincipal,
    SessionDep,
    SettingsDep,
)
from app.ingest.adapters import OptionError
from app.ingest.importer import import_file
from app.services import agents
from app.services import imports as service
from app.services.errors import InputError

router = APIRouter(prefix="/api/v1", tags=["imports"])

#: Rejected rows listed in the answer; the rest are counted (the CLI writes them all to a file).
MAX_LISTED_REJECTS = 1000


@router.post("/imports", summary="Import a telephony export file (multipart upload)")
async def upload(
    settings: SettingsDep,
    engine: EngineDep,
    ctx: IngestDep,
    hub: HubDep,
    alerts: AlertsDep,
    open_session: OpenSessionDep,
    _: AdminPrincipal,
    file: Annotated[UploadFile, File(description="The export, e.g. Asterisk Master.csv")],
    format: Annotated[  # noqa: A002 (the CLI's --format)
        str | None,
        Form(description="asterisk, asterisk-custom, freeswitch, csv or xlsx"),
    ] = None,
    source: Annotated[str | None, Form(max_length=100)] = None,
    timezone: Annotated[str | None, Form(description="Timezone of the file's times")] = None,
    rep_from: Annotated[str | None, Form(description="Column holding the rep")] = None,
    map: Annotated[  # noqa: A002 (the CLI's --map)
        list[str] | None, Form(description="csv/xlsx: FIELD=COLUMN, repeatable")
    ] = None,
    encoding: Annotated[str | None, Form(description="Text encoding, e.g. gb18030")] = None,
    profile: Annotated[str | None, Form(description="A saved import profile's name")] = None,
    strict: Annotated[
        bool, Form(description="Reject calls whose agent is on no rep's identifiers")
    ] = False,
) -> dict:
    def plan() -> service.ImportPlan:
        # A short session of its own: on SQLite a request session holds the write lock, which
        # the import's own transactions need.
        with open_session() as session:
            return service.plan_import(
                session,
                default_timezone=settings.tz,
                profile=profile,
                fmt=format,
                source=source,
                timezone=timezone,
                rep_from=rep_from,
                mapping=service.parse_map(map or []),
                encoding=encoding,
            )

    options = await run_in_threadpool(plan)

    def run() -> dict:
        # The upload is copied to disk in chunks and streamed from there: a big export never
        # sits in memory.
        with tempfile.TemporaryDirectory(prefix="paceboard-import-") as tmp:
            path = Path(tmp) / "upload"
            with path.open("wb") as out:
                shutil.copyfileobj(file.file, out, 1 << 20)
            try:
                summary = import_file(
                    path,
                    engine=engine,
                    ctx=ctx,
                    **options.kwargs(),
                    rejects_path=Path(tmp) / "rejects.csv",
                    minor_digits=settings.currency_minor_digits,
                    strict_agents=strict,
                )
            except OptionError as exc:
                raise InputError(exc.field, exc.reason) from None
            listed = []
            if summary.pop("rejects_path"):
                with (Path(tmp) / "rejects.csv").open(newline="", encoding="utf-8") as f:
                    for n, row in enumerate(csv.DictReader(f)):
                        if n >= MAX_LISTED_REJECTS:
                            break
                        listed.append({"row": int(row["row"]), "reason": row["reason"]})
            summary["unresolved"] = agents.import_view(summary["unresolved"], ctx)
            return {"file": file.filename, "format": options.fmt, **summary, "rejects": listed}

    result = await run_in_threadpool(run)
    # The import wrote beside the group-commit writer: tell the live views and alerts.
    hub.poke()
    alerts.poke()
    return result


class ProfileIn(BaseModel):
    format: str = Field(min_length=1, max_length=32)
    mapping: dict[str, str] = Field(default_factory=dict)
    encoding: str | None = Field(default=None, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)
    rep_from: str | None = Field(default=None, max_length=100)
    source: str | None = Field(default=None, max_length=100)


@router.get("/import-profiles", summary="Saved import profiles")
def list_profiles(session: SessionDep, _: ReadPrincipal) -> list[dict[str, Any]]:
    return service.list_profiles(session)


@router.put("/import-profiles/{name}", summary="Save or replace an import profile")
def put_profile(
    name: str, body: ProfileIn, session: SessionDep, _: AdminPrincipal
) -> dict[str, Any]:
    return service.save_profile(
        session,
        name=name,
        fmt=body.format,
        mapping=body.mapping,
        encoding=body.encoding,
        timezone=body.timezone,
        rep_from=body.rep_from,
        source=body.source,
    )


@router.delete("/import-profiles/{name}", status_code=204, summary="Forget an import profile")
def delete_profile(name: str, session: SessionDep, _: AdminPrincipal) -> None:
    service.delete_profile(session, name=name)

"""``POST /api/v1/imports``: upload a telephony export; the same import as ``paceboard import``."""

from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from app.api.deps import AdminPrincipal, SettingsDep
from app.ingest.adapters import FORMATS, PLANNED_FORMATS
from app.ingest.adapters.asterisk import ALL_COLUMNS
from app.ingest.importer import import_file
from app.services.errors import InputError

router = APIRouter(prefix="/api/v1", tags=["imports"])

#: Rejected rows listed in the answer; the rest are counted (the CLI writes them all to a file).
MAX_LISTED_REJECTS = 1000


@router.post("/imports", summary="Import a telephony export file (multipart upload)")
async def upload(
    request: Request,
    settings: SettingsDep,
    _: AdminPrincipal,
    file: Annotated[UploadFile, File(description="The export, e.g. Asterisk Master.csv")],
    format: Annotated[str, Form(description="asterisk")],  # noqa: A002 (the CLI's --format)
    source: Annotated[str, Form(min_length=1, max_length=100)] = "asterisk",
    timezone: Annotated[str | None, Form(description="Timezone of the file's times")] = None,
    rep_from: Annotated[str | None, Form(description="Column holding the rep")] = None,
) -> dict:
    if format not in FORMATS:
        why = "is not supported yet" if format in PLANNED_FORMATS else "is unknown"
        raise InputError("format", f"'{format}' {why} (supported: {', '.join(FORMATS)})")
    if rep_from is not None and rep_from not in ALL_COLUMNS:
        raise InputError("rep_from", f"'{rep_from}' is not a column")
    try:
        tz = ZoneInfo(timezone) if timezone else settings.tz
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("timezone", f"unknown IANA timezone '{timezone}'") from None
    app = request.app

    def run() -> dict:
        # The upload is copied to disk in chunks and streamed from there: a big export never
        # sits in memory.
        with tempfile.TemporaryDirectory(prefix="paceboard-import-") as tmp:
            path = Path(tmp) / "upload"
            with path.open("wb") as out:
                shutil.copyfileobj(file.file, out, 1 << 20)
            summary = import_file(
                path,
                engine=app.state.engine,
                ctx=app.state.ingest_ctx,
                fmt=format,
                source=source.strip(),
                timezone=tz,
                rep_from=rep_from,
                rejects_path=Path(tmp) / "rejects.csv",
                minor_digits=settings.currency_minor_digits,
            )
            listed = []
            if summary.pop("rejects_path"):
                with (Path(tmp) / "rejects.csv").open(newline="", encoding="utf-8") as f:
                    for n, row in enumerate(csv.DictReader(f)):
                        if n >= MAX_LISTED_REJECTS:
                            break
                        listed.append({"row": int(row["row"]), "reason": row["reason"]})
            return {"file": file.filename, **summary, "rejects": listed}

    result = await run_in_threadpool(run)
    # The import wrote beside the group-commit writer: tell the live views and alerts.
    app.state.hub.poke()
    app.state.alerts.poke()
    return result

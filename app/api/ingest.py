"""Call events in: ``POST /api/v1/calls`` (object, array or NDJSON) and ``PATCH`` corrections."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import IngestPrincipal, SettingsDep, WriterDep
from app.ingest.records import (
    BodyError,
    held_to_source,
    parse_body_lines,
    parse_patch,
    parse_record,
)
from app.services.errors import InputError

router = APIRouter(prefix="/api/v1", tags=["ingest"])

# Parsing a handful of records inline is cheaper than a thread hop; big batches go to a thread
# so they do not stall the event loop (and every WebSocket on it).
_INLINE_RECORDS = 50


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body is larger than {limit} bytes; split it into batches")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body is larger than {limit} bytes; split it into batches")
        chunks.append(chunk)
    return b"".join(chunks)


# The body is read by hand (object, array or NDJSON, streamed against the size limit), so the
# schema says what it may be; each record's own fields are in README "Ingest".
_CALLS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "Call records (README, Ingest). started_at, answered_at and "
                    "ended_at: ISO 8601 with an offset, 2000-01-01 to 2100-12-31; a record "
                    "outside is rejected alone.",
                    "oneOf": [
                        {"type": "object"},
                        # An item that is no record is rejected on its own, not the batch.
                        {"type": "array", "items": {}},
                    ],
                }
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/calls",
    summary="Post call records (one object, a JSON array, or NDJSON)",
    openapi_extra=_CALLS_BODY,
)
async def post_calls(
    request: Request, principal: IngestPrincipal, settings: SettingsDep, writer: WriterDep
) -> Response:
    body = await read_body(request, settings.max_body_bytes)
    try:
        pairs = parse_body_lines(body, request.headers.get("content-type", "application/json"))
    except BodyError as exc:
        raise HTTPException(400, f"body is not JSON or NDJSON: {exc}") from None
    lines = [line for line, _ in pairs]
    raw = [value for _, value in pairs]
    if len(raw) > settings.max_batch_records:
        raise HTTPException(
            413, f"{len(raw)} records in one request; at most {settings.max_batch_records}"
        )
    hasher, digits = request.app.state.ingest_ctx.hasher, settings.currency_minor_digits
    source = principal.source or "default"

    def parse() -> list:
        return [
            held_to_source(
                parse_record(r, i, default_source=source, hasher=hasher, minor_digits=digits),
                principal.source,
            )
            for i, r in enumerate(raw)
        ]

    items = parse() if len(raw) <= _INLINE_RECORDS else await run_in_threadpool(parse)
    outcome = await writer.submit(items)
    results = [r.as_dict() for r in outcome.results]
    for result in results:
        # NDJSON: the line a person would look at (blank lines are skipped, so not index + 1).
        if lines[result["index"]] is not None:
            result["line"] = lines[result["index"]]
    return json_response({**outcome.counts(), "results": results})


@router.patch(
    "/calls/{source}/{call_id}", summary="Correct a stored call (e.g. outcome at wrap-up)"
)
async def patch_call(
    source: str,
    call_id: str,
    request: Request,
    principal: IngestPrincipal,
    settings: SettingsDep,
    writer: WriterDep,
) -> Response:
    if principal.source is not None and source != principal.source:
        raise InputError(
            "source", f"this token corrects the calls of source '{principal.source}' only", 403
        )
    body = await read_body(request, settings.max_body_bytes)
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"body is not JSON: {exc.msg} at char {exc.pos}") from None
    item = parse_patch(
        raw,
        source=source,
        call_id=call_id,
        hasher=request.app.state.ingest_ctx.hasher,
        minor_digits=settings.currency_minor_digits,
    )
    outcome = await writer.submit([item], require_existing=True)
    result = outcome.results[0]
    if result.status == "not_found":
        raise HTTPException(404, f"no call '{call_id}' from source '{source}'")
    if result.status == "rejected":
        return json_response({"detail": "correction rejected", "errors": result.errors}, 422)
    return json_response(result.as_dict())

"""Call events in: ``POST /api/v1/calls`` (object, array or NDJSON) and ``PATCH`` corrections."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import IngestDep, IngestPrincipal, SettingsDep, WriterDep
from app.config import Settings
from app.ingest.agent_events import held_event_to_source, parse_event
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


def records_body(description: str) -> dict[str, Any]:
    """The OpenAPI request body of a records route: the body is read by hand (object, array or
    NDJSON, streamed against the size limit), so the schema says what it may be."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "description": description,
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


_CALLS_BODY = records_body(
    "Call records (README, Ingest). started_at, answered_at and ended_at: ISO 8601 with an "
    "offset, 2000-01-01 to 2100-12-31; a record outside is rejected alone."
)


@router.post(
    "/calls",
    summary="Post call records (one object, a JSON array, or NDJSON)",
    openapi_extra=_CALLS_BODY,
)
async def post_calls(
    request: Request,
    principal: IngestPrincipal,
    settings: SettingsDep,
    writer: WriterDep,
    ctx: IngestDep,
) -> Response:
    lines, raw = await read_records(request, settings)
    hasher, digits = ctx.hasher, settings.currency_minor_digits
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
    results = with_lines([r.as_dict() for r in outcome.results], lines)
    return json_response({**outcome.counts(), "results": results})


_EVENTS_BODY = records_body(
    "Agent-state events (README, Agent states): rep, state (logged_out, available, ringing, "
    "on_call, wrap_up, paused), reason (a pause's), at (ISO 8601 with an offset), optional "
    "source and event_id."
)


@router.post(
    "/agent-events",
    summary="Post agent-state events (one object, a JSON array, or NDJSON)",
    openapi_extra=_EVENTS_BODY,
)
async def post_agent_events(
    request: Request, principal: IngestPrincipal, settings: SettingsDep, writer: WriterDep
) -> Response:
    lines, raw = await read_records(request, settings)
    source = principal.source or "default"
    items = [
        held_event_to_source(parse_event(r, i, default_source=source), principal.source)
        for i, r in enumerate(raw)
    ]
    outcome = await writer.submit_events(items)
    return json_response({**outcome.counts(), "results": with_lines(outcome.results, lines)})


async def read_records(request: Request, settings: Settings) -> tuple[list[int | None], list]:
    """The posted records (object, array or NDJSON) and each one's NDJSON line; 400 for a body
    that is neither, 413 for too many records or bytes."""
    body = await read_body(request, settings.max_body_bytes)
    try:
        pairs = parse_body_lines(body, request.headers.get("content-type", "application/json"))
    except BodyError as exc:
        raise HTTPException(400, f"body is not JSON or NDJSON: {exc}") from None
    if len(pairs) > settings.max_batch_records:
        raise HTTPException(
            413, f"{len(pairs)} records in one request; at most {settings.max_batch_records}"
        )
    return [line for line, _ in pairs], [value for _, value in pairs]


def with_lines(results: list[dict[str, Any]], lines: list[int | None]) -> list[dict[str, Any]]:
    """Each result with its NDJSON line, the one a person would look at (blank lines are
    skipped, so not index + 1)."""
    for result in results:
        if lines[result["index"]] is not None:
            result["line"] = lines[result["index"]]
    return results


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
    ctx: IngestDep,
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
        hasher=ctx.hasher,
        minor_digits=settings.currency_minor_digits,
    )
    outcome = await writer.submit([item], require_existing=True)
    result = outcome.results[0]
    if result.status == "not_found":
        raise HTTPException(404, f"no call '{call_id}' from source '{source}'")
    if result.status == "rejected":
        return json_response({"detail": "correction rejected", "errors": result.errors}, 422)
    return json_response(result.as_dict())

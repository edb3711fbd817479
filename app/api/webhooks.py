"""Telephony webhooks: ``POST /api/v1/webhooks/twilio`` (call status callbacks → call records).

Twilio cannot send a Paceboard bearer token, so this route takes none: the X-Twilio-Signature,
made with ``PACEBOARD_TWILIO_AUTH_TOKEN``, is its authentication. Phone numbers never appear in
an answer or a log line. The rules of the translation are in :mod:`app.ingest.adapters.twilio`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from app.api.deps import IngestDep, SettingsDep, WriterDep, public
from app.api.ingest import json_response, read_body
from app.config import Settings
from app.ingest.adapters import twilio
from app.ingest.agent_events import parse_event
from app.ingest.records import FieldError, parse_record
from app.services.errors import InputError

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

_FORM = "application/x-www-form-urlencoded"
#: Twilio sends no bearer token: these routes are open, and :func:`signed_form` checks the
#: X-Twilio-Signature instead.
SIGNED = [Depends(public("Twilio sends no bearer token; the X-Twilio-Signature is checked"))]


def signed_url(request: Request, settings: Settings) -> str:
    """The URL Twilio signed: PACEBOARD_PUBLIC_URL + path and query behind a proxy, else the
    request's own."""
    if not settings.public_url:
        return str(request.url)
    query = request.url.query
    return settings.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            body.decode("ascii", errors="replace"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="replace",
            max_num_fields=1000,
        )
    except ValueError:
        raise HTTPException(400, "body is not a form (too many fields)") from None


def _rep(params: Mapping[str, str]) -> tuple[str, str, str | None]:
    """(rep identifier, the parameter it came from, customer number) of a callback. The ingest
    finds the rep by the identifier (a line in any spelling), or keeps the call under an
    unresolved agent (a phone number only as its keyed hash) until a rep has the line."""
    who = twilio.parties(params)
    if who.client is not None:
        return who.client, "client", who.customer
    return who.line or "", who.line_field, who.customer


async def signed_form(request: Request, settings: Settings) -> list[tuple[str, str]]:
    """The callback's form fields once its X-Twilio-Signature checks out (403 otherwise)."""
    token = settings.twilio_auth_token.get_secret_value()
    if not token:
        raise InputError(
            "X-Twilio-Signature",
            "the Twilio webhook is not configured (set PACEBOARD_TWILIO_AUTH_TOKEN)",
            403,
        )
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != _FORM:
        raise HTTPException(415, f"send the callback as {_FORM}")
    pairs = _form(await read_body(request, settings.max_body_bytes))
    given = request.headers.get("x-twilio-signature")
    if not given:
        raise InputError("X-Twilio-Signature", "missing; the request is not from Twilio", 403)
    if not twilio.valid_signature(signed_url(request, settings), pairs, token, given):
        raise InputError(
            "X-Twilio-Signature",
            "does not match this URL and body (check PACEBOARD_PUBLIC_URL and the auth token)",
            403,
        )
    return pairs


@router.post(
    "/twilio",
    summary="Twilio-compatible call status callback (form-encoded)",
    dependencies=SIGNED,
)
async def twilio_status(
    request: Request, settings: SettingsDep, writer: WriterDep, ctx: IngestDep
) -> Response:
    pairs = await signed_form(request, settings)
    params = dict(pairs)  # a repeated name: the last value, as Twilio never repeats one
    try:
        rep, column, customer = _rep(params)
        raw = twilio.to_record(params, rep=rep, customer=customer) | {"rep_column": column}
    except FieldError as exc:
        raise InputError(exc.field, exc.reason) from None
    item = parse_record(
        raw,
        0,
        default_source=twilio.SOURCE,
        hasher=ctx.hasher,
        minor_digits=settings.currency_minor_digits,
    )
    # The writer's commit hooks tell the live hub and the alert engine, as for POST /calls.
    result = (await writer.submit([item])).results[0]
    if result.status == "rejected":
        return json_response({"detail": "callback rejected", "errors": result.errors}, 422)
    return json_response({"call_id": result.call_id, "status": result.status})


@router.post(
    "/twilio/taskrouter",
    summary="Twilio TaskRouter event callback: worker activity → agent state (form-encoded)",
    dependencies=SIGNED,
)
async def taskrouter_event(request: Request, settings: SettingsDep, writer: WriterDep) -> Response:
    params = dict(await signed_form(request, settings))
    if params.get("EventType") != twilio.ACTIVITY_EVENT:
        return json_response({"status": "ignored", "event_type": params.get("EventType")})
    try:
        raw = twilio.activity_event(params, settings.taskrouter_activities)
    except FieldError as exc:
        raise InputError(exc.field, exc.reason) from None
    item = parse_event(raw, 0, default_source=twilio.SOURCE)
    result = (await writer.submit_events([item])).results[0]
    if result["status"] == "rejected":
        return json_response({"detail": "callback rejected", "errors": result["errors"]}, 422)
    return json_response({"event_id": result["event_id"], "status": result["status"]})

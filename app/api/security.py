"""HTTP hardening for every response and every request body, as pure ASGI middleware.

Pure ASGI on purpose: ``BaseHTTPMiddleware`` buffers through a task group and breaks streaming
answers and client-disconnect handling.

* :class:`SecurityHeaders` (outermost, so even the 500 page of Starlette's error middleware gets
  them): ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
  ``X-Frame-Options: DENY`` unless the response set its own, and a Content-Security-Policy on
  every response lacking one: ``default-src 'none'; frame-ancestors 'none'`` (JSON, files), or
  only ``frame-ancestors 'none'`` on HTML without a policy (FastAPI's /docs loads its assets
  from a CDN). The pages keep their own, stricter, policy.
* :class:`BodyLimit`: a request body above ``PACEBOARD_MAX_BODY_BYTES`` is refused with a JSON
  413 (``{"detail", "errors": [{"field": "body", "reason"}]}``): by its Content-Length before the
  app reads a byte, a chunked one as soon as the bytes received pass the limit. The ingest routes
  enforce the same limit themselves (``app.api.ingest.read_body``); here they get the same
  wording. ``POST /api/v1/imports`` (export files of hundreds of MB) is exempt: the multipart
  parser spools each file part over 1 MiB to a temporary file and the route copies it to a
  temporary directory in 1 MiB chunks, so an upload never sits in memory; and, because FastAPI
  parses a form *before* it resolves the route's dependencies, the credential (admin) is checked
  here before a byte of the upload is read, so nobody unauthenticated can fill the disk.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

import orjson
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import principal_before_route, require

FRAME_ONLY_CSP = "frame-ancestors 'none'"
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"
_DEFAULTS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

#: Routes exempt from the global body limit, with the scope checked before their body is read.
UPLOADS = {("POST", "/api/v1/imports"): "admin"}
#: Routes whose clients send batches: a refusal tells them how to fix it.
_BATCH_PREFIXES = ("/api/v1/calls", "/api/v1/webhooks/")


class SecurityHeaders:
    """Add the security headers to every HTTP response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_security_headers(message.get("headers", ()))}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``raw`` response headers plus those of the module docstring the response lacks."""
    headers = list(raw)
    present = {bytes(name).lower(): bytes(value) for name, value in headers}
    for name, value in _DEFAULTS:
        if name not in present:
            headers.append((name, value))
    if b"content-security-policy" not in present:
        html = present.get(b"content-type", b"").lower().startswith(b"text/html")
        headers.append(
            (b"content-security-policy", (FRAME_ONLY_CSP if html else STRICT_CSP).encode())
        )
    return headers


class BodyTooLarge(HTTPException):
    """The request body passed the limit while the app was reading it."""

    def __init__(self, limit: int, path: str) -> None:
        super().__init__(413, too_large_detail(limit, path))
        self.limit = limit


def too_large_detail(limit: int, path: str) -> str:
    # The same words as app.api.ingest.read_body, so an ingest client sees one message.
    hint = "; split it into batches" if path.startswith(_BATCH_PREFIXES) else ""
    return f"body is larger than {limit} bytes{hint}"


def too_large_response(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "errors": [{"field": "body", "reason": detail}]},
        status_code=413,
        headers={"Connection": "close"},
    )


def _route_path(scope: Scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit:
    """Refuse request bodies over ``settings.max_body_bytes`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limit: Callable[[Scope], int] | None = None) -> None:
        self.app = app
        self.limit = limit or (lambda scope: scope["app"].state.settings.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        upload_scope = UPLOADS.get((scope["method"], path))
        if upload_scope is not None:
            refusal = await _refuse_before_upload(scope, upload_scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return

        limit = self.limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await too_large_response(too_large_detail(limit, path))(scope, receive, send)
            return

        received, over, started = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLarge(limit, path)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(limit, path)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge as exc:
            # Normally the exception handler below answered already; this catches a read the
            # app did outside its handlers (a background read, a streaming answer).
            if started:
                raise
            await too_large_response(str(exc.detail))(scope, receive, send)


async def _refuse_before_upload(scope: Scope, needed: str) -> Response | None:
    """The JSON refusal for a caller who may not upload (None: go ahead)."""
    request = Request(scope)
    try:
        await require(needed)(await principal_before_route(request))
    except HTTPException as exc:
        return Response(
            orjson.dumps({"detail": exc.detail}),
            status_code=exc.status_code,
            media_type="application/json",
            headers=exc.headers,
        )
    return None


async def _body_too_large(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return too_large_response(str(exc.detail))


# Secrets that travel in a URL: API tokens (pb_), sessions (pbs_), display links (pbd_) and the
# setup link (pbsetup_). The access log writes every request's path and query.
_SECRET = re.compile(r"\b(pb(?:s|d|setup)?_)[A-Za-z0-9_\-]{4,}")


def redact(text: str) -> str:
    """``text`` with every credential secret cut to its prefix: ``pb_…``."""
    return _SECRET.sub(r"\1…", text)


class RedactSecrets(logging.Filter):
    """Keeps link secrets (``/wallboard?display=pbd_…``, ``?token=pb_…``) out of log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def _redact_access_log() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


def install(app: FastAPI) -> None:
    """Add the body limit (inside the error handlers) and the headers (outside everything);
    keep link secrets out of the server's access log."""
    _redact_access_log()
    app.add_middleware(BodyLimit)
    app.add_exception_handler(BodyTooLarge, _body_too_large)
    build = app.build_middleware_stack

    # Starlette puts its ServerErrorMiddleware outside every user middleware, so a 500 would
    # leave without the headers; wrapping the built stack puts them on every answer.
    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build())

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]

"""Every request gets an id (X-Request-ID: the caller's, if sane, else a new one), a line in the
access log (``paceboard.access``: method, path with secrets cut, status, milliseconds) and a
latency sample by route template (``/api/v1/calls/{source}/{call_id}``, never the raw path, so
the metric's label count stays bounded)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.security import redact
from app.logs import request_id
from app.metrics import Metrics

log = logging.getLogger("paceboard.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _SANE_ID.match(text):
                return text
    return uuid.uuid4().hex


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class Observe:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        token = request_id.set(rid)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                request_id.reset(token)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            took = time.perf_counter() - started
            method = scope.get("method", "")
            self.metrics.requests.labels(method, _route(scope), str(status)).observe(took)
            request_id.reset(token)
            # The hot path pays for the line only when someone reads it.
            if log.isEnabledFor(logging.INFO):
                _access_line(scope, rid, method, status, took)


def _access_line(scope: Scope, rid: str, method: str, status: int, took: float) -> None:
    path = scope.get("path", "")
    query = scope.get("query_string", b"").decode("latin-1")
    target = redact(path + ("?" + query if query else ""))
    client = (scope.get("client") or ("-",))[0]
    log.info(
        "%s %s %s",
        method,
        target,
        status,
        extra={
            "request_id": rid,
            "method": method,
            "path": target,
            "status": status,
            "duration_ms": round(took * 1000, 1),
            "client": client,
        },
    )

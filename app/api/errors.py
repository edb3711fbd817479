"""Every error is JSON: ``{"detail": ..., "errors": [{"field", "reason"}]}``, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse

from app.ingest.writer import WriterUnavailable
from app.services.errors import InputError

log = logging.getLogger("paceboard.api")


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")]
            errors.append({"field": ".".join(loc) or "body", "reason": e.get("msg", "invalid")})
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    @app.exception_handler(InputError)
    async def _roster(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(
            {
                "detail": f"{exc.field}: {exc.reason}",
                "errors": [{"field": exc.field, "reason": exc.reason}],
            },
            status_code=exc.status,
        )

    @app.exception_handler(WriterUnavailable)
    async def _writer(_: Request, exc: WriterUnavailable) -> JSONResponse:
        return JSONResponse(
            {"detail": f"{exc}; nothing was stored, send it again"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # The client hung up mid-body (a PBX timing out, a demo stopped): nothing was stored,
        # nobody reads the answer, and a traceback would only alarm whoever reads the log.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "client disconnected"}, status_code=400)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

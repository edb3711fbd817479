"""Every error is JSON: ``{"detail": ..., "errors": [{"field", "reason"}]}``, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse

from app.ingest.writer import WriterUnavailable
from app.services.errors import InputError

log = logging.getLogger("paceboard.api")


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every error answer: what went wrong, and for bad input each field with its reason."""

    detail: str
    errors: list[ErrorItem] = []


#: What any /api route may answer besides its own success (the body limit and the credential
#: checks wrap every route; the rest depend on the input).
COMMON_ERRORS = {
    "400": "The body or a parameter could not be read (not JSON, not NDJSON)",
    "401": "No credential, or an unknown, revoked or expired one",
    "403": "The credential may not do this (scope, team, CSRF token)",
    "404": "A named team, rep, call, alert or profile does not exist",
    "409": "It exists already",
    "413": "The body or the batch is over the limit",
    "422": "A field is invalid: each is named with its reason",
    "503": "Not stored: try again (the writer is busy or stopping)",
}


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI schema say what the error handlers really send: ``ErrorBody`` (not
    FastAPI's default validation shape) for every error an /api route can answer."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ErrorBody"] = body
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        components["HTTPValidationError"] = ref
        components.pop("ValidationError", None)
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, description in COMMON_ERRORS.items():
                    responses.setdefault(code, {"description": description})
                    responses[code]["content"] = {"application/json": {"schema": ref}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    document_errors(app)

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

    @app.exception_handler(sa_exc.DataError)
    async def _unstorable(request: Request, exc: sa_exc.DataError) -> JSONResponse:
        # A value the database refuses (a NUL character in text on PostgreSQL, a number out of
        # the column's range): the caller's input, not our crash. Nothing was stored.
        log.info("refused unstorable input on %s %s", request.method, request.url.path)
        reason = "holds a value the database cannot store (e.g. a NUL character)"
        return JSONResponse(
            {"detail": f"body: {reason}", "errors": [{"field": "body", "reason": reason}]},
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

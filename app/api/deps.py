"""FastAPI dependencies: settings, database sessions and the calling principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import session_scope
from app.ingest.writer import IngestWriter
from app.services.tokens import Principal


# Cheap dependencies are async so FastAPI runs them on the loop instead of the threadpool:
# on the single-record ingest path each threadpool hop costs more than the work itself.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


def get_session(engine: Annotated[sa.Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A session that commits when the route returns and rolls back if it raises."""
    with session_scope(engine) as session:
        yield session


def get_conn(engine: Annotated[sa.Engine, Depends(get_engine)]) -> Iterator[sa.Connection]:
    """A read-only connection (no commit) for read routes."""
    with engine.connect() as conn:
        yield conn


async def get_writer(request: Request) -> IngestWriter:
    return request.app.state.writer


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ConnDep = Annotated[sa.Connection, Depends(get_conn)]
WriterDep = Annotated[IngestWriter, Depends(get_writer)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def current_principal(request: Request) -> Principal:
    """The token's principal; 401 with no token or an unknown/revoked one."""
    secret = _bearer(request)
    if secret is None:
        raise HTTPException(
            401,
            "missing bearer token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tokens = request.app.state.tokens
    known, principal = tokens.cached(secret)
    if not known:
        principal = await run_in_threadpool(tokens.verify, secret)
    if principal is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return principal


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting tokens of ``scope`` (admin tokens pass every check); 403 otherwise."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.allows(scope):
            raise HTTPException(
                403,
                f"this route needs a token of scope '{scope}' (this token has '{principal.scope}')",
            )
        return principal

    return check


IngestPrincipal = Annotated[Principal, Depends(require("ingest"))]
ReadPrincipal = Annotated[Principal, Depends(require("read"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]

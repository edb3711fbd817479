"""Providers of the app's shared objects that the live socket needs as much as the routes:
settings, engine, hub, token verifier and the principal lookup.

They take an ``HTTPConnection`` so one provider serves an HTTP route and a WebSocket alike, and
a test's ``app.dependency_overrides`` replaces it for both. ``app/api/deps.py`` builds on them;
this module must not import ``app.api`` (live sits below the API)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Protocol

import sqlalchemy as sa
from fastapi import Depends
from starlette.requests import HTTPConnection

from app.config import Settings
from app.live.hub import Hub
from app.services.principals import resolve_principal
from app.services.tokens import Principal, TokenVerifier


# Cheap providers are async so FastAPI runs them on the loop instead of the threadpool: on the
# single-record ingest path each threadpool hop costs more than the work itself.
async def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


async def get_engine(conn: HTTPConnection) -> sa.Engine:
    return conn.app.state.engine


async def get_hub(conn: HTTPConnection) -> Hub:
    return conn.app.state.hub


async def get_tokens(conn: HTTPConnection) -> TokenVerifier:
    """The API token verifier (with its short cache of recent answers)."""
    return conn.app.state.tokens


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[sa.Engine, Depends(get_engine)]
HubDep = Annotated[Hub, Depends(get_hub)]
TokensDep = Annotated[TokenVerifier, Depends(get_tokens)]


class PrincipalLookup(Protocol):
    """Who this connection's caller is, with a link's ``token`` or ``display`` secret if the
    page or socket was opened with one; None when nobody valid."""

    def __call__(
        self, *, token: str | None = None, display: str | None = None
    ) -> Awaitable[Principal | None]: ...


async def get_principal_lookup(
    conn: HTTPConnection, settings: SettingsDep, engine: EngineDep, tokens: TokensDep
) -> PrincipalLookup:
    """The lookup for this connection (a socket calls it again to see its credential hold)."""

    def lookup(
        *, token: str | None = None, display: str | None = None
    ) -> Awaitable[Principal | None]:
        return resolve_principal(
            headers=conn.headers,
            cookies=conn.cookies,
            tokens=tokens,
            engine=engine,
            secret_key=settings.secret_key,
            token=token,
            display=display,
        )

    return lookup


PrincipalLookupDep = Annotated[PrincipalLookup, Depends(get_principal_lookup)]

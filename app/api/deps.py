"""FastAPI dependencies: settings, database sessions and the calling principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from app.config import Settings
from app.db import session_scope
from app.ingest.service import IngestContext
from app.ingest.writer import IngestWriter
from app.services.displays import display_principal
from app.services.tokens import Principal
from app.services.users import check_csrf, session_principal


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


async def get_ingest_context(request: Request) -> IngestContext:
    return request.app.state.ingest_ctx


async def get_floor_changed(request: Request) -> Callable[[Session], None]:
    """Commit a change of the floor no commit of calls says (attendance, targets, plans, a
    pinned mentor) and tell this process's screens and the other processes': each reads it
    again (after the commit, or it could read the floor as it was)."""
    hub, bus = request.app.state.hub, request.app.state.bus

    def changed(session: Session) -> None:
        session.commit()
        hub.poke()
        bus.changed()

    return changed


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the session commits (or rolls back) when the route returns, before the
# answer is sent. FastAPI's default ("request") runs the code after ``yield`` once the response
# has gone out, so a client could read before the write it was told succeeded was committed,
# and a failed commit would follow a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ConnDep = Annotated[sa.Connection, Depends(get_conn, scope="function")]
WriterDep = Annotated[IngestWriter, Depends(get_writer)]
#: The floor's ingest rules (timezone, customer hash): what moving or judging calls needs.
IngestDep = Annotated[IngestContext, Depends(get_ingest_context)]
FloorChangedDep = Annotated[Callable[[Session], None], Depends(get_floor_changed)]


#: The signed-in user's session cookie (HttpOnly, SameSite=Lax; Secure behind TLS).
SESSION_COOKIE = "paceboard_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _bearer(headers: Mapping[str, str]) -> str | None:
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def resolve_principal(
    conn: HTTPConnection, *, token: str | None = None, display: str | None = None
) -> Principal | None:
    """Who is calling: a bearer API token, else a link's ``token`` (API token) or ``display``
    secret (pages and sockets pass those), else the session cookie; None when nobody valid."""
    app = conn.app
    secret = _bearer(conn.headers) or (token or "").strip() or None
    if secret is not None:
        tokens = app.state.tokens
        known, principal = tokens.cached(secret)
        if not known:
            principal = await run_in_threadpool(tokens.verify, secret)
        return principal
    if display:
        return await run_in_threadpool(_display, app.state.engine, display.strip())
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        key = app.state.settings.secret_key
        return await run_in_threadpool(_session, app.state.engine, cookie, key)
    return None


def _display(engine: sa.Engine, secret: str) -> Principal | None:
    with Session(engine) as session:
        return display_principal(session, secret=secret)


def _session(engine: sa.Engine, secret: str, secret_key: str) -> Principal | None:
    with session_scope(engine) as session:
        return session_principal(
            session, secret=secret, now=datetime.now(UTC), secret_key=secret_key
        )


async def current_principal(request: Request) -> Principal:
    """The caller's principal; 401 with no credentials or unknown/revoked/expired ones.

    A signed-in user's state-changing request must carry the session's CSRF token in the
    X-CSRF-Token header (a bearer token is not sent by browsers on their own, so needs none)."""
    principal = await resolve_principal(request)
    if principal is None:
        has_bearer = _bearer(request.headers) is not None
        raise HTTPException(
            401,
            "invalid or revoked token"
            if has_bearer
            else "sign in, or send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if (
        principal.kind == "user"
        and request.method not in _SAFE_METHODS
        and not check_csrf(
            request.app.state.settings.secret_key,
            request.cookies.get(SESSION_COOKIE, ""),
            request.headers.get(CSRF_HEADER),
        )
    ):
        raise HTTPException(403, "missing or wrong X-CSRF-Token for this session")
    return principal


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting principals allowed ``scope`` (admins pass every check); 403
    otherwise. The route's rule is readable as ``check.policy`` (the access matrix test)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.allows(scope):
            raise HTTPException(
                403,
                f"this route needs scope '{scope}' (this credential has '{principal.scope}')",
            )
        return principal

    check.policy = scope  # type: ignore[attr-defined]
    return check


def public(reason: str) -> Callable[[], Awaitable[None]]:
    """Mark a route open to anyone on purpose (``reason`` says why): the access matrix test
    fails for a route with neither a scope nor this mark."""

    async def open_route() -> None:
        return None

    open_route.policy = "public"  # type: ignore[attr-defined]
    open_route.reason = reason  # type: ignore[attr-defined]
    return open_route


def page_rule(scope: str) -> Callable[[], Awaitable[None]]:
    """Mark a page's rule for the access matrix; the page itself checks it, answering with an
    HTML refusal instead of JSON."""

    async def page() -> None:
        return None

    page.policy = scope  # type: ignore[attr-defined]
    return page


def team_allowed(principal: Principal, team: str | None) -> str | None:
    """``team`` if the principal may see it (403 otherwise); a limited principal must name
    one of its teams or gets None meaning "all of mine" (callers filter with sees_team)."""
    if team is not None and not principal.sees_team(team):
        raise HTTPException(403, f"team '{team}' is not one of yours")
    return team


IngestPrincipal = Annotated[Principal, Depends(require("ingest"))]
ReadPrincipal = Annotated[Principal, Depends(require("read"))]
LeadPrincipal = Annotated[Principal, Depends(require("lead"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]

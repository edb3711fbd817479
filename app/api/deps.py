"""FastAPI dependencies: the app's shared objects, database sessions and the calling principal.

Only the ``get_*`` providers here (and in app/live/deps.py) read ``app.state`` or open sessions
for a route; routes take what they need as the typed ``…Dep`` aliases, so a test can replace any
of them with ``app.dependency_overrides``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from sqlmodel import Session
from starlette.requests import HTTPConnection

from app.api.limits import AttemptLimiter
from app.db import session_scope
from app.ingest.service import IngestContext
from app.ingest.writer import IngestWriter
from app.live.bus import Bus
from app.live.deps import (
    EngineDep,
    HubDep,
    PrincipalLookupDep,
    SettingsDep,
    TokensDep,
    get_engine,
    get_principal_lookup,
    get_settings,
    get_tokens,
)
from app.metrics import Metrics
from app.services.alert_engine import AlertEngine
from app.services.principals import SESSION_COOKIE, bearer
from app.services.tokens import Principal
from app.services.users import check_csrf

# The providers the live socket shares (settings, engine, hub, tokens, the principal lookup)
# live in app/live/deps.py, live being below the API; the routes take the same aliases.
__all__ = ["EngineDep", "HubDep", "PrincipalLookupDep", "SettingsDep", "TokensDep"]


def get_session(engine: EngineDep) -> Iterator[Session]:
    """A session that commits when the route returns and rolls back if it raises."""
    with session_scope(engine) as session:
        yield session


def get_conn(engine: EngineDep) -> Iterator[sa.Connection]:
    """A read-only connection (no commit) for read routes."""
    with engine.connect() as conn:
        yield conn


#: Opens a short session of its own (commits on leaving, rolls back on an error).
OpenSession = Callable[[], AbstractContextManager[Session]]


async def get_open_session(engine: EngineDep) -> OpenSession:
    """For work that needs its own short session rather than the request's: in a worker
    thread, or beside an import that takes SQLite's write lock itself."""
    return lambda: session_scope(engine)


async def get_writer(conn: HTTPConnection) -> IngestWriter:
    return conn.app.state.writer


async def get_ingest_context(conn: HTTPConnection) -> IngestContext:
    return conn.app.state.ingest_ctx


async def get_bus(conn: HTTPConnection) -> Bus:
    return conn.app.state.bus


async def get_metrics(conn: HTTPConnection) -> Metrics:
    return conn.app.state.metrics


async def get_alerts(conn: HTTPConnection) -> AlertEngine:
    return conn.app.state.alerts


async def get_login_limiter(conn: HTTPConnection) -> AttemptLimiter:
    """The app's per-address sign-in limiter (``create_app`` installs it; a test its own)."""
    return conn.app.state.login_limiter


BusDep = Annotated[Bus, Depends(get_bus)]


async def get_floor_changed(hub: HubDep, bus: BusDep) -> Callable[[Session], None]:
    """Commit a change of the floor no commit of calls says (attendance, targets, plans, a
    pinned mentor) and tell this process's screens and the other processes': each reads it
    again (after the commit, or it could read the floor as it was)."""

    def changed(session: Session) -> None:
        session.commit()
        hub.poke()
        bus.changed()

    return changed


# scope="function": the session commits (or rolls back) when the route returns, before the
# answer is sent. FastAPI's default ("request") runs the code after ``yield`` once the response
# has gone out, so a client could read before the write it was told succeeded was committed,
# and a failed commit would follow a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ConnDep = Annotated[sa.Connection, Depends(get_conn, scope="function")]
OpenSessionDep = Annotated[OpenSession, Depends(get_open_session)]
WriterDep = Annotated[IngestWriter, Depends(get_writer)]
#: The floor's ingest rules (timezone, customer hash): what moving or judging calls needs.
IngestDep = Annotated[IngestContext, Depends(get_ingest_context)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
AlertsDep = Annotated[AlertEngine, Depends(get_alerts)]
LimiterDep = Annotated[AttemptLimiter, Depends(get_login_limiter)]
FloorChangedDep = Annotated[Callable[[Session], None], Depends(get_floor_changed)]


CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def current_principal(
    request: Request, lookup: PrincipalLookupDep, settings: SettingsDep
) -> Principal:
    """The caller's principal; 401 with no credentials or unknown/revoked/expired ones.

    A signed-in user's state-changing request must carry the session's CSRF token in the
    X-CSRF-Token header (a bearer token is not sent by browsers on their own, so needs none)."""
    principal = await lookup()
    if principal is None:
        has_bearer = bearer(request.headers) is not None
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
            settings.secret_key,
            request.cookies.get(SESSION_COOKIE, ""),
            request.headers.get(CSRF_HEADER),
        )
    ):
        raise HTTPException(403, "missing or wrong X-CSRF-Token for this session")
    return principal


async def principal_before_route(request: Request) -> Principal:
    """:func:`current_principal` for middleware (which gets no dependencies): the same check,
    through this module's providers called directly."""
    settings = await get_settings(request)
    engine, tokens = await get_engine(request), await get_tokens(request)
    lookup = await get_principal_lookup(request, settings, engine, tokens)
    return await current_principal(request, lookup, settings)


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

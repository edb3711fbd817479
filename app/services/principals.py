"""Who is calling: a bearer or link API token, a display link's secret, or a signed-in user's
session cookie, read in that order. Shared by the HTTP routes and the live socket."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
from anyio import to_thread
from sqlmodel import Session

from app.db import session_scope
from app.services.displays import display_principal
from app.services.tokens import Principal, TokenVerifier
from app.services.users import session_principal

#: The signed-in user's session cookie (HttpOnly, SameSite=Lax; Secure behind TLS).
SESSION_COOKIE = "paceboard_session"


def bearer(headers: Mapping[str, str]) -> str | None:
    """The secret of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def resolve_principal(
    *,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    tokens: TokenVerifier,
    engine: sa.Engine,
    secret_key: str,
    token: str | None = None,
    display: str | None = None,
) -> Principal | None:
    """A bearer API token, else a link's ``token`` (API token) or ``display`` secret (pages
    and sockets pass those), else the session cookie; None when nobody valid.

    The database is read in a worker thread; a token the verifier has cached costs no hop."""
    secret = bearer(headers) or (token or "").strip() or None
    if secret is not None:
        known, principal = tokens.cached(secret)
        if not known:
            principal = await to_thread.run_sync(tokens.verify, secret)
        return principal
    if display:
        return await to_thread.run_sync(_display, engine, display.strip())
    cookie = cookies.get(SESSION_COOKIE)
    if cookie:
        return await to_thread.run_sync(_session, engine, cookie, secret_key)
    return None


def _display(engine: sa.Engine, secret: str) -> Principal | None:
    with Session(engine) as session:
        return display_principal(session, secret=secret)


def _session(engine: sa.Engine, secret: str, secret_key: str) -> Principal | None:
    # session_scope: a valid session's last-seen time is written as it is read.
    with session_scope(engine) as session:
        return session_principal(
            session, secret=secret, now=datetime.now(UTC), secret_key=secret_key
        )

"""API tokens: random secrets shown once, stored as SHA-256 hashes, checked by hash lookup."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import ApiToken, table_of, utcnow

SCOPES = ("ingest", "read", "admin")
_PREFIX = "pb_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API token, a signed-in user or a wallboard display link.

    ``scope`` is the token's scope (ingest | read | admin), the user's role (admin | lead) or
    ``display``; ``token_id`` the row id of the token, user or display link; ``teams`` the team
    names it is limited to (None: every team); ``csrf`` the form token of a user's session."""

    token_id: int
    name: str
    scope: str
    source: str | None
    kind: str = "token"  # token | user | display
    teams: frozenset[str] | None = None
    csrf: str | None = None

    def allows(self, scope: str) -> bool:
        """admin does everything; read: read tokens and leads; display (the wallboard and its
        socket): displays, read tokens and leads; lead: leads; otherwise an exact match."""
        if self.scope == "admin" or self.scope == scope:
            return True
        return scope in _ALSO.get(self.scope, ())

    def sees_team(self, team: str | None) -> bool:
        """Whether this principal may see ``team`` (None: the floor as a whole)."""
        if self.teams is None:
            return True
        return team is not None and team in self.teams

    @property
    def limited(self) -> bool:
        """True when it sees only some teams."""
        return self.teams is not None


# Scopes a principal's own scope implies beyond itself (admin implies every scope).
_ALSO: dict[str, tuple[str, ...]] = {
    "read": ("display",),
    "lead": ("read", "display"),
}


def hash_token(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no password stretching needed),
    # and a lookup by hash leaks nothing about the secret through timing.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, *, name: str, scope: str, source: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never stored or shown again."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    secret = _PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        scope=scope,
        source=source,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row, secret


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def token_view(row: ApiToken) -> dict[str, Any]:
    """A token as listings show it: never its secret or hash, only the prefix that recognises it."""
    return {
        "id": row.id,
        "name": row.name,
        "scope": row.scope,
        "source": row.source,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


def revoke_token(session: Session, *, token_id: int) -> bool:
    """Revoke a token by id; False when there is no such live token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    return True


class TokenVerifier:
    """Looks a presented secret up by hash, with a short cache so hot ingest paths skip the DB."""

    def __init__(self, engine: sa.Engine, ttl: float = 5.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def cached(self, secret: str) -> tuple[bool, Principal | None]:
        """``(True, principal)`` when the answer is known without the database (malformed or
        recently looked up), else ``(False, None)``; safe to call on the event loop."""
        if not secret.startswith(_PREFIX) or len(secret) > 200:
            return True, None
        with self._lock:
            hit = self._cache.get(hash_token(secret))
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def verify(self, secret: str) -> Principal | None:
        """The principal for ``secret``, or None for an unknown or revoked token."""
        known, principal = self.cached(secret)
        if known:
            return principal
        digest = hash_token(secret)
        now = time.monotonic()
        table = table_of(ApiToken)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table.c.id, table.c.name, table.c.scope, table.c.source).where(
                    table.c.token_hash == digest, table.c.revoked_at.is_(None)
                )
            ).first()
        principal = Principal(row.id, row.name, row.scope, row.source) if row else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self.ttl, principal)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

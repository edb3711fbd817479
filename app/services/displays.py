"""Wallboard display links: a secret URL a TV opens to show the board of some teams (or the whole
floor) and nothing else. Stored as SHA-256 hashes, like API tokens. Services never commit."""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session, col, select

from app.models import DisplayLink, DisplayTeam, Team, stored_id, utcnow
from app.services.errors import InputError
from app.services.tokens import Principal, hash_token
from app.services.users import team_ids

PREFIX = "pbd_"


def display_teams(session: Session, *, display_id: int) -> list[str]:
    """The names of the teams a display shows, alphabetically (empty: the whole floor)."""
    q = (
        select(Team.name)
        .join(DisplayTeam, col(DisplayTeam.team_id) == col(Team.id))
        .where(DisplayTeam.display_id == display_id)
        .order_by(Team.name)
    )
    return list(session.exec(q))


def create_display(session: Session, *, name: str, teams: list[str]) -> tuple[DisplayLink, str]:
    """Create a display link for ``teams`` (none: the whole floor); returns the row and its
    secret, which is never stored or shown again."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InputError("name", "1 to 100 characters")
    ids = team_ids(session, teams)
    secret = PREFIX + secrets.token_urlsafe(32)
    row = DisplayLink(
        name=name, token_hash=hash_token(secret), prefix=secret[:10], created_at=utcnow()
    )
    session.add(row)
    session.flush()
    for team_id in ids:
        session.add(DisplayTeam(display_id=stored_id(row), team_id=team_id))
    session.flush()
    return row, secret


def list_displays(session: Session) -> list[dict[str, Any]]:
    """Every display link with its teams (never its secret), by id."""
    rows = session.exec(select(DisplayLink).order_by(col(DisplayLink.id))).all()
    return [
        {
            "id": d.id,
            "name": d.name,
            "teams": display_teams(session, display_id=stored_id(d)),
            "prefix": d.prefix,
            "created_at": d.created_at,
            "revoked_at": d.revoked_at,
        }
        for d in rows
    ]


def revoke_display(session: Session, *, display_id: int) -> bool:
    """Revoke a display link by id; False when there is no such live link."""
    row = session.get(DisplayLink, display_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    session.flush()
    return True


def display_principal(session: Session, *, secret: str) -> Principal | None:
    """The display behind a link's secret, or None for an unknown or revoked link."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = session.exec(
        select(DisplayLink).where(
            DisplayLink.token_hash == hash_token(secret), col(DisplayLink.revoked_at).is_(None)
        )
    ).first()
    if row is None:
        return None
    teams = display_teams(session, display_id=stored_id(row))
    return Principal(
        token_id=stored_id(row),
        name=row.name,
        scope="display",
        source=None,
        kind="display",
        teams=frozenset(teams) if teams else None,
    )


def display_url(base_url: str, secret: str) -> str:
    """The address a TV opens: ``<base>/wallboard?display=<secret>``."""
    return base_url.rstrip("/") + "/wallboard?display=" + secret

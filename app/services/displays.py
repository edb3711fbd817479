"""Wallboard display links: a secret URL a TV opens to show the board of some teams (or the whole
floor) and nothing else. Stored as SHA-256 hashes, like API tokens. Services never commit."""

from __future__ import annotations

import secrets
from typing import Any

import segno
from sqlmodel import Session, col, select

from app.floor.targets import TARGET_METRICS
from app.models import DisplayLink, DisplayTeam, Team, stored_id, utcnow
from app.services.errors import InputError
from app.services.tokens import Principal, hash_token
from app.services.users import team_ids

PREFIX = "pbd_"

#: How a TV shows the board. ``views`` rotate in the order given, each for ``rotate_seconds``,
#: unless ``pin`` holds one of them; ``metric`` ranks the today/week/month leaderboards.
SIZES = ("normal", "large")
VIEWS = ("live", "today", "week", "month", "pk", "heatmap")
VIEW_METRICS = TARGET_METRICS
ROTATE_SECONDS = (5, 3600)  # the least and the most a view may stay on screen
SETTING_KEYS = ("size", "views", "rotate_seconds", "pin", "metric")
#: A link made before the settings existed (its columns null) shows what it always showed: the
#: live board at its normal size, nothing rotating.
DEFAULT_SETTINGS: dict[str, Any] = {
    "size": "normal",
    "views": ["live"],
    "rotate_seconds": 30,
    "pin": None,
    "metric": "revenue",
}


def display_teams(session: Session, *, display_id: int) -> list[str]:
    """The names of the teams a display shows, alphabetically (empty: the whole floor)."""
    q = (
        select(Team.name)
        .join(DisplayTeam, col(DisplayTeam.team_id) == col(Team.id))
        .where(DisplayTeam.display_id == display_id)
        .order_by(Team.name)
    )
    return list(session.exec(q))


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InputError("name", "1 to 100 characters")
    return name


def check_settings(
    *,
    size: str,
    views: list[str],
    rotate_seconds: int,
    pin: str | None,
    metric: str,
) -> dict[str, Any]:
    """The settings as stored and shown, or InputError naming the first field that is wrong."""
    if size not in SIZES:
        raise InputError("size", f"must be one of {', '.join(SIZES)}")
    wanted = list(dict.fromkeys(v.strip() for v in views))
    if not wanted:
        raise InputError("views", "choose at least one view")
    for view in wanted:
        if view not in VIEWS:
            raise InputError("views", f"'{view}' is not one of {', '.join(VIEWS)}")
    low, high = ROTATE_SECONDS
    if isinstance(rotate_seconds, bool) or not low <= rotate_seconds <= high:
        raise InputError("rotate_seconds", f"must be between {low} and {high} seconds")
    pin = pin or None
    if pin is not None and pin not in wanted:
        raise InputError("pin", f"must be one of the chosen views ({', '.join(wanted)}) or none")
    if metric not in VIEW_METRICS:
        raise InputError("metric", f"must be one of {', '.join(VIEW_METRICS)}")
    return {
        "size": size,
        "views": wanted,
        "rotate_seconds": rotate_seconds,
        "pin": pin,
        "metric": metric,
    }


def display_settings(row: DisplayLink) -> dict[str, Any]:
    """A link's view settings, each unset one at its default (see DEFAULT_SETTINGS)."""
    stored: dict[str, Any] = {
        "size": row.size,
        "views": [v for v in row.views.split(",") if v] if row.views else None,
        "rotate_seconds": row.rotate_seconds,
        "pin": row.pin,
        "metric": row.metric,
    }
    out: dict[str, Any] = {k: (DEFAULT_SETTINGS[k] if v is None else v) for k, v in stored.items()}
    out["views"] = list(out["views"])  # never the default's own list
    if out["pin"] is not None and out["pin"] not in out["views"]:
        out["pin"] = None  # cannot happen through check_settings; a hand-edited row
    return out


def _store_settings(row: DisplayLink, settings: dict[str, Any]) -> None:
    row.size = settings["size"]
    row.views = ",".join(settings["views"])
    row.rotate_seconds = settings["rotate_seconds"]
    row.pin = settings["pin"]
    row.metric = settings["metric"]


def create_display(
    session: Session,
    *,
    name: str,
    teams: list[str],
    settings: dict[str, Any] | None = None,
) -> tuple[DisplayLink, str]:
    """Create a display link for ``teams`` (none: the whole floor) showing the board as
    ``settings`` say (keys of SETTING_KEYS, any left out at its default; None: no settings
    stored, as links were before they existed); returns the row and its secret, which is never
    stored or shown again."""
    name = _check_name(name)
    checked = check_settings(**(DEFAULT_SETTINGS | settings)) if settings is not None else None
    ids = team_ids(session, teams)
    secret = PREFIX + secrets.token_urlsafe(32)
    row = DisplayLink(
        name=name, token_hash=hash_token(secret), prefix=secret[:10], created_at=utcnow()
    )
    if checked is not None:
        _store_settings(row, checked)
    session.add(row)
    session.flush()
    for team_id in ids:
        session.add(DisplayTeam(display_id=stored_id(row), team_id=team_id))
    session.flush()
    return row, secret


def display_view(session: Session, row: DisplayLink) -> dict[str, Any]:
    """A link as listings show it: never its secret, only the prefix that recognises it."""
    return {
        "id": row.id,
        "name": row.name,
        "teams": display_teams(session, display_id=stored_id(row)),
        "prefix": row.prefix,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "settings": display_settings(row),
    }


def list_displays(session: Session) -> list[dict[str, Any]]:
    """Every display link with its teams and settings (never its secret), by id."""
    rows = session.exec(select(DisplayLink).order_by(col(DisplayLink.id))).all()
    return [display_view(session, d) for d in rows]


def update_display(session: Session, *, display_id: int, changes: dict[str, Any]) -> DisplayLink:
    """Rename a live link or change its settings (``changes``: ``name`` and keys of
    SETTING_KEYS; those left out keep their values); 404 InputError for no such live link."""
    row = session.get(DisplayLink, display_id)
    if row is None or row.revoked_at is not None:
        raise InputError("display_id", f"no active display link with id {display_id}", 404)
    if changes.get("name") is not None:
        row.name = _check_name(changes["name"])
    given = {k: changes[k] for k in SETTING_KEYS if k in changes}
    if given:
        _store_settings(row, check_settings(**(display_settings(row) | given)))
    session.add(row)
    session.flush()
    return row


def view_settings(session: Session, *, display_id: int) -> dict[str, Any]:
    """The view settings of the display link ``display_id`` (the defaults for an unknown id)."""
    row = session.get(DisplayLink, display_id)
    if row is None:
        return DEFAULT_SETTINGS | {"views": list(DEFAULT_SETTINGS["views"])}
    return display_settings(row)


def link_qr(url: str) -> str:
    """``url`` as a QR code: an SVG ``data:`` URI an ``<img>`` shows (drawn here, so the page
    needs no QR script and the secret never leaves this server but to its own page)."""
    return segno.make(url, error="m").svg_data_uri(scale=6, border=2)


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

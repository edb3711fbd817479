"""People who sign in (admins and leads), their sessions, CSRF tokens and the one-time setup link.

Passwords are hashed with argon2id; session and setup secrets are random and stored as SHA-256
hashes, like API tokens. Services never commit: the caller's transaction does.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from app.models import (
    AppUser,
    SetupLink,
    Team,
    UserSession,
    UserTeam,
    stored_id,
    table_of,
    utcnow,
)
from app.services.errors import InputError
from app.services.tokens import Principal, hash_token

ROLES = ("admin", "lead")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; this keeps a request from buying minutes of CPU
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_PREFIX = "pbs_"
SETUP_PREFIX = "pbsetup_"
WRONG = "wrong username or password"
_USERNAME = re.compile(r"[\w.\-]{1,64}")  # letters (any script), digits, _ . -
_SEEN_EVERY = timedelta(minutes=1)

_hasher = PasswordHasher()
_dummy_hash: str | None = None


class LoginRefused(Exception):
    """A sign-in that did not succeed; ``reason`` is safe to show the person signing in."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- users -----------------------------------------------------------------------------------


def _check_username(username: str) -> str:
    name = unicodedata.normalize("NFC", username)
    if not _USERNAME.fullmatch(name):
        raise InputError(
            "username", "1 to 64 letters, digits, dots, dashes or underscores (no spaces)"
        )
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError("password", f"at most {MAX_PASSWORD} characters")


def _user(session: Session, username: str) -> AppUser | None:
    name = unicodedata.normalize("NFC", username)
    return session.exec(select(AppUser).where(AppUser.username == name)).first()


def _user_or_404(session: Session, username: str) -> AppUser:
    user = _user(session, username)
    if user is None:
        raise InputError("username", f"no user named '{username}'", 404)
    return user


def team_ids(session: Session, names: list[str]) -> list[int]:
    """The ids of the named teams, in order; 404 InputError naming the first unknown one."""
    wanted = list(dict.fromkeys(names))
    rows = session.exec(select(Team.name, Team.id).where(col(Team.name).in_(wanted))).all()
    found = cast("dict[str, int]", dict(rows))  # stored teams' ids: never None
    for name in wanted:
        if name not in found:
            raise InputError("team", f"no team named '{name}'", 404)
    return [found[name] for name in wanted]


def user_teams(session: Session, *, user_id: int) -> list[str]:
    """The names of the teams a user leads, alphabetically."""
    q = (
        select(Team.name)
        .join(UserTeam, col(UserTeam.team_id) == col(Team.id))
        .where(UserTeam.user_id == user_id)
        .order_by(Team.name)
    )
    return list(session.exec(q))


def create_user(
    session: Session, *, username: str, password: str, role: str, teams: list[str]
) -> AppUser:
    """Create an admin or a lead of ``teams``; the password is stored only as its argon2 hash."""
    name = _check_username(username)
    if role not in ROLES:
        raise InputError("role", f"must be one of {', '.join(ROLES)}")
    if role == "lead" and not teams:
        raise InputError("team", "a lead needs at least one team")
    if role == "admin" and teams:
        raise InputError("team", "an admin sees every team; give no teams")
    _check_password(password)
    if _user(session, name) is not None:
        raise InputError("username", f"a user named '{name}' already exists", 409)
    ids = team_ids(session, teams)
    user = AppUser(
        username=name,
        password_hash=_hasher.hash(password),
        role=role,
        created_at=utcnow(),
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    for team_id in ids:
        session.add(UserTeam(user_id=stored_id(user), team_id=team_id))
    session.flush()
    return user


def list_users(session: Session) -> list[dict[str, Any]]:
    """Every user with their teams (never a password hash), by username."""
    users = session.exec(select(AppUser).order_by(AppUser.username)).all()
    return [user_view(session, u) for u in users]


def set_user_teams(session: Session, *, username: str, teams: list[str]) -> AppUser:
    """Make ``teams`` exactly the teams a lead leads (at least one; 404 naming an unknown team);
    an admin sees every team and is given none. Takes effect at the lead's next request."""
    user = _user_or_404(session, username)
    if user.role != "lead":
        raise InputError("team", "an admin sees every team; only a lead has teams")
    if not teams:
        raise InputError("team", "a lead needs at least one team")
    ids = team_ids(session, teams)
    session.execute(sa.delete(UserTeam).where(col(UserTeam.user_id) == stored_id(user)))
    for team_id in ids:
        session.add(UserTeam(user_id=stored_id(user), team_id=team_id))
    session.flush()
    return user


def user_view(session: Session, user: AppUser) -> dict[str, Any]:
    """A user as listings show them: name, role, teams and state (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "teams": user_teams(session, user_id=stored_id(user)) if user.role == "lead" else [],
        "created_at": user.created_at,
        "disabled_at": user.disabled_at,
        "locked_until": user.locked_until,
    }


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(sa.delete(UserSession).where(col(UserSession.user_id) == user_id))


def set_password(session: Session, *, username: str, password: str) -> AppUser:
    """Replace a user's password; unlocks the account and signs out all its sessions."""
    user = _user_or_404(session, username)
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    _end_sessions(session, stored_id(user))
    session.flush()
    return user


def disable_user(session: Session, *, username: str, now: datetime | None = None) -> AppUser:
    """Disable a user and sign out its sessions; the last active admin cannot be disabled."""
    user = _user_or_404(session, username)
    if user.disabled_at is not None:
        raise InputError("username", f"user '{user.username}' is disabled already", 409)
    if user.role == "admin":
        admins = session.exec(
            select(sa.func.count())
            .select_from(AppUser)
            .where(AppUser.role == "admin", col(AppUser.disabled_at).is_(None))
        ).one()
        if admins <= 1:
            raise InputError("username", "the last active admin cannot be disabled", 409)
    user.disabled_at = now or utcnow()
    session.add(user)
    _end_sessions(session, stored_id(user))
    session.flush()
    return user


# --- signing in ------------------------------------------------------------------------------


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _burn(password: str) -> None:
    """Spend a real verification's time on a dummy hash, so unknown names take as long."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    _verify(_dummy_hash, password)


def _minutes(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds() / 60))


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> AppUser:
    """The user these credentials belong to, or LoginRefused.

    Failures are counted on the user row in ``session``: catch LoginRefused inside the
    transaction so the count is committed. Five failures in a row lock the account for 15
    minutes, during which even the right password is refused."""
    user = _user(session, username) if len(password) <= MAX_PASSWORD else None
    if user is None or user.disabled_at is not None:
        _burn(password[:MAX_PASSWORD])
        raise LoginRefused(WRONG)
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused(
            f"too many failed logins; try again in {_minutes(user.locked_until - now)} minutes"
        )
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        locked = user.failed_logins >= MAX_FAILURES
        if locked:
            user.failed_logins = 0
            user.locked_until = now + LOCKOUT
        session.add(user)
        session.flush()
        if locked:
            raise LoginRefused(f"too many failed logins; try again in {_minutes(LOCKOUT)} minutes")
        raise LoginRefused(WRONG)
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.add(user)
    session.flush()
    return user


# --- sessions --------------------------------------------------------------------------------


def start_session(
    session: Session, *, user: AppUser, now: datetime, lifetime: timedelta = timedelta(hours=12)
) -> str:
    """Open a session for ``user``; returns its secret (the cookie), stored only as a hash."""
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=hash_token(secret),
            user_id=stored_id(user),
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
    )
    session.flush()
    return secret


def _well_formed(secret: str | None, prefix: str) -> bool:
    return bool(secret and secret.startswith(prefix) and len(secret) <= 200)


def session_principal(
    session: Session, *, secret: str, now: datetime, secret_key: str | None = None
) -> Principal | None:
    """The signed-in user behind a session secret, or None (unknown, expired, user disabled).

    With ``secret_key`` the principal carries the session's CSRF token."""
    if not _well_formed(secret, SESSION_PREFIX):
        return None
    row = session.get(UserSession, hash_token(secret))
    if row is None:
        return None
    if row.expires_at <= now:
        session.delete(row)
        session.flush()
        return None
    user = session.get(AppUser, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - row.last_seen_at >= _SEEN_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.flush()
    teams = frozenset(user_teams(session, user_id=stored_id(user))) if user.role == "lead" else None
    return Principal(
        token_id=stored_id(user),
        name=user.username,
        scope=user.role,
        source=None,
        kind="user",
        teams=teams,
        csrf=csrf_token(secret_key, secret) if secret_key else None,
    )


def end_session(session: Session, *, secret: str) -> bool:
    """Sign a session out; False when there was no such session."""
    if not _well_formed(secret, SESSION_PREFIX):
        return False
    row = session.get(UserSession, hash_token(secret))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def csrf_token(secret_key: str, session_secret: str) -> str:
    """The form token of a session: HMAC-SHA256 of its stored hash under the server key."""
    return hmac.new(
        secret_key.encode(), hash_token(session_secret).encode(), hashlib.sha256
    ).hexdigest()


def check_csrf(secret_key: str, session_secret: str, given: str | None) -> bool:
    """Whether ``given`` is the session's form token (constant-time comparison)."""
    if not given or not session_secret:
        return False
    expected = csrf_token(secret_key, session_secret).encode()
    return hmac.compare_digest(expected, given.encode("utf-8", "replace"))


# --- first run -------------------------------------------------------------------------------


def needs_setup(session: Session) -> bool:
    """True while there is no user at all (the first admin is made through a setup link)."""
    return session.exec(select(AppUser.id).limit(1)).first() is None


def create_setup_link(
    session: Session, *, now: datetime, lifetime: timedelta = timedelta(hours=24)
) -> str:
    """A one-time secret that creates the first admin; only while there are no users."""
    if not needs_setup(session):
        raise InputError("setup", "users exist already; an admin creates the others", 409)
    secret = SETUP_PREFIX + secrets.token_urlsafe(32)
    session.add(SetupLink(token_hash=hash_token(secret), created_at=now, expires_at=now + lifetime))
    session.flush()
    return secret


def use_setup_link(
    session: Session, *, secret: str, username: str, password: str, now: datetime
) -> AppUser:
    """Create the first admin with a setup link, which is then used up."""
    refused = InputError("token", "this setup link is unknown, used or expired", 403)
    if not _well_formed(secret, SETUP_PREFIX) or not needs_setup(session):
        raise refused
    digest = hash_token(secret)
    link = session.get(SetupLink, digest)
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise refused
    user = create_user(session, username=username, password=password, role="admin", teams=[])
    # Conditional update: of two concurrent uses of one link, only one succeeds.
    table = table_of(SetupLink)
    # An UPDATE gives a CursorResult; SQLModel's Session.execute is typed as returning Result.
    claimed = cast(
        "sa.CursorResult[Any]",
        session.execute(
            sa.update(table)
            .where(table.c.token_hash == digest, table.c.used_at.is_(None))
            .values(used_at=now)
        ),
    ).rowcount
    if claimed != 1:
        raise refused
    session.expire(link)
    return user

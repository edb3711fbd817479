"""Users, sign-in, sessions, CSRF and the setup link; who may do what (Principal)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.db import session_scope
from app.models import AppUser, UserSession
from app.services.errors import InputError
from app.services.roster import ensure_team
from app.services.tokens import Principal
from app.services.users import (
    LoginRefused,
    authenticate,
    check_csrf,
    create_setup_link,
    create_user,
    csrf_token,
    disable_user,
    end_session,
    list_users,
    needs_setup,
    session_principal,
    set_password,
    start_session,
    use_setup_link,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
KEY = "server-secret-key"


@pytest.fixture
def teams(engine):
    with session_scope(engine) as s:
        for name in ("一组", "二组", "三组"):
            ensure_team(s, name)


def make_user(engine, username="wang.fang", role="lead", teams=("一组", "二组"), password=PASSWORD):
    with session_scope(engine) as s:
        return create_user(s, username=username, password=password, role=role, teams=list(teams)).id


def login(engine, username="wang.fang", password=PASSWORD, now=NOW) -> AppUser | str:
    """The user, or the refusal's message; the failure count is committed either way."""
    with session_scope(engine) as s:
        try:
            return authenticate(s, username=username, password=password, now=now)
        except LoginRefused as exc:
            return exc.reason


def refused(engine, fn, **kw) -> InputError:
    """The InputError ``fn(session, **kw)`` raises."""
    with pytest.raises(InputError) as info, session_scope(engine) as s:
        fn(s, **kw)
    return info.value


# --- users -----------------------------------------------------------------------------------


def test_password_is_stored_only_as_an_argon2_hash(engine, teams):
    user_id = make_user(engine)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(AppUser.password_hash).where(AppUser.id == user_id)
        ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_lead_needs_a_team_and_the_teams_must_exist(engine, teams):
    err = refused(engine, create_user, username="li", password=PASSWORD, role="lead", teams=[])
    assert (err.field, err.status) == ("team", 422)
    err = refused(
        engine, create_user, username="li", password=PASSWORD, role="lead", teams=["九组"]
    )
    assert (err.field, err.status) == ("team", 404) and "九组" in err.reason
    assert needs_setup_now(engine)


def needs_setup_now(engine) -> bool:
    with session_scope(engine) as s:
        return needs_setup(s)


@pytest.mark.parametrize(
    ("username", "password", "role", "field"),
    [
        ("", PASSWORD, "admin", "username"),
        ("has space", PASSWORD, "admin", "username"),
        ("x" * 65, PASSWORD, "admin", "username"),
        ("ok", "short", "admin", "password"),
        ("ok", PASSWORD, "owner", "role"),
    ],
)
def test_bad_usernames_short_passwords_and_unknown_roles_are_refused(
    engine, username, password, role, field
):
    err = refused(engine, create_user, username=username, password=password, role=role, teams=[])
    assert (err.field, err.status) == (field, 422)


def test_a_taken_username_is_a_409(engine, teams):
    make_user(engine)
    err = refused(
        engine, create_user, username="wang.fang", password=PASSWORD, role="admin", teams=[]
    )
    assert (err.field, err.status) == ("username", 409)


def test_list_users_shows_roles_and_teams_but_no_hashes(engine, teams):
    make_user(engine, "boss", role="admin", teams=())
    make_user(engine)
    with session_scope(engine) as s:
        rows = {u["username"]: u for u in list_users(s)}
    assert rows["boss"]["role"] == "admin" and rows["boss"]["teams"] == []
    assert rows["wang.fang"]["teams"] == ["一组", "二组"]
    assert all("password_hash" not in u for u in rows.values())


# --- signing in ------------------------------------------------------------------------------


def test_right_password_signs_in(engine, teams):
    make_user(engine)
    user = login(engine)
    assert isinstance(user, AppUser) and user.username == "wang.fang"


def test_wrong_password_and_unknown_user_get_the_same_message(engine, teams):
    make_user(engine)
    assert login(engine, password="wrong password!") == "wrong username or password"
    assert login(engine, username="nobody") == "wrong username or password"


def test_five_failures_lock_the_account_even_for_the_right_password_until_time_passes(
    engine, teams
):
    make_user(engine)
    messages = [login(engine, password=f"wrong-{i}-password") for i in range(5)]
    assert messages[:4] == ["wrong username or password"] * 4
    assert messages[4] == "too many failed logins; try again in 15 minutes"
    assert login(engine, now=NOW + timedelta(minutes=5)) == (
        "too many failed logins; try again in 10 minutes"
    )
    user = login(engine, now=NOW + timedelta(minutes=15, seconds=1))
    assert isinstance(user, AppUser)
    assert user.failed_logins == 0 and user.locked_until is None


def test_a_success_resets_the_failure_count(engine, teams):
    make_user(engine)
    for i in range(4):
        login(engine, password=f"wrong-{i}-password")
    assert isinstance(login(engine), AppUser)
    for i in range(4):
        assert login(engine, password=f"wrong-{i}-password") == "wrong username or password"
    assert isinstance(login(engine), AppUser)


def test_a_disabled_user_cannot_sign_in(engine, teams):
    make_user(engine, "boss", role="admin", teams=())
    make_user(engine)
    with session_scope(engine) as s:
        disable_user(s, username="wang.fang")
    assert login(engine) == "wrong username or password"


def test_the_last_active_admin_cannot_be_disabled(engine):
    make_user(engine, "boss", role="admin", teams=())
    err = refused(engine, disable_user, username="boss")
    assert err.status == 409


def test_set_password_replaces_it_unlocks_and_signs_out(engine, teams):
    make_user(engine)
    secret = _start(engine)
    for i in range(5):
        login(engine, password=f"wrong-{i}-password")
    with session_scope(engine) as s:
        set_password(s, username="wang.fang", password="a brand new password")
    assert login(engine, password=PASSWORD) == "wrong username or password"
    assert isinstance(login(engine, password="a brand new password"), AppUser)
    with session_scope(engine) as s:
        assert session_principal(s, secret=secret, now=NOW) is None


def _by_name(s, username: str) -> AppUser:
    return s.exec(sa.select(AppUser).where(AppUser.username == username)).scalar_one()


# --- sessions --------------------------------------------------------------------------------


def _start(engine, username="wang.fang", **kw) -> str:
    with session_scope(engine) as s:
        return start_session(s, user=_by_name(s, username), now=NOW, **kw)


def _principal(engine, secret: str, now=NOW, **kw) -> Principal | None:
    with session_scope(engine) as s:
        return session_principal(s, secret=secret, now=now, **kw)


def test_a_session_is_stored_as_a_hash_and_names_a_lead_limited_to_their_teams(engine, teams):
    make_user(engine)
    secret = _start(engine)
    assert secret.startswith("pbs_") and len(secret) > 40
    with engine.connect() as conn:
        stored = conn.execute(sa.select(UserSession.token_hash)).scalar_one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    p = _principal(engine, secret, secret_key=KEY)
    assert (p.kind, p.name, p.scope, p.source) == ("user", "wang.fang", "lead", None)
    assert p.teams == frozenset({"一组", "二组"}) and p.limited
    assert p.sees_team("一组") and not p.sees_team("三组")
    assert p.csrf == csrf_token(KEY, secret)


def test_an_admin_session_sees_every_team(engine):
    make_user(engine, "boss", role="admin", teams=())
    p = _principal(engine, _start(engine, "boss"))
    assert p.teams is None and not p.limited and p.sees_team("三组") and p.allows("ingest")


def test_sessions_expire(engine, teams):
    make_user(engine)
    secret = _start(engine, lifetime=timedelta(hours=12))
    assert _principal(engine, secret, now=NOW + timedelta(hours=11, minutes=59)) is not None
    assert _principal(engine, secret, now=NOW + timedelta(hours=12)) is None


def test_a_disabled_users_session_is_refused(engine, teams):
    make_user(engine, "boss", role="admin", teams=())
    make_user(engine)
    secret = _start(engine)
    with session_scope(engine) as s:
        disable_user(s, username="wang.fang", now=NOW)
    assert _principal(engine, secret) is None


def test_unknown_and_ended_sessions_are_refused(engine, teams):
    make_user(engine)
    secret = _start(engine)
    assert _principal(engine, "pbs_not-a-session") is None
    assert _principal(engine, "") is None
    with session_scope(engine) as s:
        assert end_session(s, secret=secret)
    assert _principal(engine, secret) is None


def test_last_seen_is_bumped_at_most_once_a_minute(engine, teams):
    make_user(engine)
    secret = _start(engine)

    def seen():
        with engine.connect() as conn:
            return conn.execute(sa.select(UserSession.last_seen_at)).scalar_one()

    _principal(engine, secret, now=NOW + timedelta(seconds=30))
    assert seen() == NOW
    _principal(engine, secret, now=NOW + timedelta(seconds=90))
    assert seen() == NOW + timedelta(seconds=90)


def test_csrf_token_belongs_to_its_session_and_key():
    token = csrf_token(KEY, "pbs_one")
    assert check_csrf(KEY, "pbs_one", token)
    assert not check_csrf(KEY, "pbs_two", token)
    assert not check_csrf("another-key", "pbs_one", token)
    assert not check_csrf(KEY, "pbs_one", "")
    assert not check_csrf(KEY, "pbs_one", None)
    assert not check_csrf(KEY, "pbs_one", "é" * 64)


# --- first run -------------------------------------------------------------------------------


def test_a_setup_link_creates_the_first_admin_once(engine):
    assert needs_setup_now(engine)
    with session_scope(engine) as s:
        secret = create_setup_link(s, now=NOW)
    with session_scope(engine) as s:
        user = use_setup_link(s, secret=secret, username="boss", password=PASSWORD, now=NOW)
        assert user.role == "admin"
    assert not needs_setup_now(engine)
    err = refused(
        engine, use_setup_link, secret=secret, username="boss2", password=PASSWORD, now=NOW
    )
    assert (err.field, err.status) == ("token", 403)
    err = refused(engine, create_setup_link, now=NOW)
    assert err.status == 409


def test_an_expired_or_unknown_setup_link_is_refused(engine):
    with session_scope(engine) as s:
        secret = create_setup_link(s, now=NOW, lifetime=timedelta(hours=24))
    for bad, at in [(secret, NOW + timedelta(hours=24)), ("pbsetup_unknown", NOW), ("", NOW)]:
        err = refused(
            engine, use_setup_link, secret=bad, username="boss", password=PASSWORD, now=at
        )
        assert (err.field, err.status) == ("token", 403)
    assert needs_setup_now(engine)


def test_a_setup_link_with_a_bad_password_stays_usable(engine):
    with session_scope(engine) as s:
        secret = create_setup_link(s, now=NOW)
    err = refused(engine, use_setup_link, secret=secret, username="boss", password="x", now=NOW)
    assert err.field == "password"
    with session_scope(engine) as s:
        use_setup_link(s, secret=secret, username="boss", password=PASSWORD, now=NOW)


# --- who may do what -------------------------------------------------------------------------


def _p(scope: str, kind: str = "token") -> Principal:
    return Principal(1, "x", scope, None, kind=kind)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (_p("admin"), {"admin", "ingest", "read", "lead", "display"}),
        (_p("admin", "user"), {"admin", "ingest", "read", "lead", "display"}),
        (_p("ingest"), {"ingest"}),
        (_p("read"), {"read", "display"}),
        (_p("lead", "user"), {"lead", "read", "display"}),
        (_p("display", "display"), {"display"}),
    ],
)
def test_principal_scopes(who, allowed):
    for scope in ("admin", "ingest", "read", "lead", "display"):
        assert who.allows(scope) == (scope in allowed), (who.scope, scope)


def test_principal_defaults_keep_old_tokens_unlimited():
    p = Principal(3, "reader", "read", None)
    assert p.kind == "token" and p.teams is None and p.csrf is None
    assert not p.limited and p.sees_team("一组") and p.sees_team(None)
    limited = Principal(3, "lead", "lead", None, kind="user", teams=frozenset({"一组"}))
    assert limited.limited and limited.sees_team("一组")
    assert not limited.sees_team("二组") and not limited.sees_team(None)

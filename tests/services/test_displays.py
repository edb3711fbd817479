"""Wallboard display links: secrets stored hashed, limited to their teams, revocable."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from app.db import session_scope
from app.models import DisplayLink
from app.services.displays import (
    create_display,
    display_principal,
    display_url,
    list_displays,
    revoke_display,
)
from app.services.errors import InputError
from app.services.roster import ensure_team


@pytest.fixture
def teams(engine):
    with session_scope(engine) as s:
        for name in ("一组", "二组", "三组"):
            ensure_team(s, name)


def _create(engine, name="Floor 3 TV", teams=("一组", "二组")) -> tuple[int, str]:
    with session_scope(engine) as s:
        row, secret = create_display(s, name=name, teams=list(teams))
        return row.id, secret


def _principal(engine, secret):
    with session_scope(engine) as s:
        return display_principal(s, secret=secret)


def test_a_display_secret_is_stored_only_as_its_hash(engine, teams):
    _, secret = _create(engine)
    assert secret.startswith("pbd_") and len(secret) > 40
    with engine.connect() as conn:
        stored, prefix = conn.execute(sa.select(DisplayLink.token_hash, DisplayLink.prefix)).one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and prefix == secret[:10]


def test_a_display_sees_only_its_teams_and_only_the_wallboard(engine, teams):
    display_id, secret = _create(engine)
    p = _principal(engine, secret)
    assert (p.kind, p.scope, p.name, p.token_id) == ("display", "display", "Floor 3 TV", display_id)
    assert p.teams == frozenset({"一组", "二组"}) and p.limited
    assert p.sees_team("一组") and not p.sees_team("三组") and not p.sees_team(None)
    assert p.allows("display")
    assert not any(p.allows(s) for s in ("read", "ingest", "lead", "admin"))


def test_a_display_without_teams_shows_the_whole_floor(engine, teams):
    _, secret = _create(engine, "Lobby", teams=())
    p = _principal(engine, secret)
    assert p.teams is None and not p.limited and p.sees_team("三组")


def test_a_revoked_display_is_refused(engine, teams):
    display_id, secret = _create(engine)
    with session_scope(engine) as s:
        assert revoke_display(s, display_id=display_id)
    assert _principal(engine, secret) is None
    with session_scope(engine) as s:
        assert not revoke_display(s, display_id=display_id)
        assert not revoke_display(s, display_id=999)
        [row] = list_displays(s)
    assert row["revoked_at"] is not None and row["teams"] == ["一组", "二组"]


def test_unknown_or_malformed_display_secrets_are_refused(engine, teams):
    _create(engine)
    for secret in ("", "pbd_unknown", "pb_" + "x" * 43, "pbd_" + "x" * 300):
        assert _principal(engine, secret) is None


def test_a_display_for_an_unknown_team_is_a_404_naming_it(engine, teams):
    with pytest.raises(InputError) as info, session_scope(engine) as s:
        create_display(s, name="TV", teams=["一组", "九组"])
    assert (info.value.field, info.value.status) == ("team", 404) and "九组" in info.value.reason
    with session_scope(engine) as s:
        assert list_displays(s) == []


def test_a_display_needs_a_name(engine):
    with pytest.raises(InputError) as info, session_scope(engine) as s:
        create_display(s, name="  ", teams=[])
    assert info.value.field == "name"


def test_display_url_joins_the_base_and_the_secret():
    assert display_url("https://pb.example.com/", "pbd_x") == (
        "https://pb.example.com/wallboard?display=pbd_x"
    )
    assert display_url("http://127.0.0.1:8000", "pbd_y") == (
        "http://127.0.0.1:8000/wallboard?display=pbd_y"
    )

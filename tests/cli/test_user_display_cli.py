"""paceboard user … and paceboard display … as an admin runs them."""

from __future__ import annotations

import hashlib

import httpx
import pytest
import sqlalchemy as sa

from app.db import session_scope
from app.models import AppUser, DisplayLink
from app.services.roster import ensure_team
from tests.conftest import run_cli, sqlite_db

PASSWORD = "correct horse battery"


@pytest.fixture
def db_url(sqlite_template, tmp_path) -> str:
    """SQLite only: these commands call the services tests/services runs on both engines, and a
    command process per step on each engine cost CI most of a minute."""
    return sqlite_db(sqlite_template, tmp_path)


def _teams(engine, *names):
    with session_scope(engine) as s:
        for name in names:
            ensure_team(s, name)


def test_user_create_reads_the_password_from_stdin_and_stores_an_argon2_hash(cli, engine):
    _teams(engine, "一组", "二组")
    out = cli(
        "user",
        "create",
        "wang.fang",
        "--role",
        "lead",
        "--team",
        "一组",
        "--team",
        "二组",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "user wang.fang created (lead of 一组, 二组)"
    with engine.connect() as conn:
        stored = conn.execute(sa.select(AppUser.password_hash)).scalar_one()
    assert stored.startswith("$argon2") and PASSWORD not in stored
    listed = cli("user", "list")
    assert "wang.fang" in listed.stdout and "一组, 二组" in listed.stdout
    assert stored not in listed.stdout


def test_user_create_errors_name_the_option(cli, engine):
    _teams(engine, "一组")
    out = cli("user", "create", "li", "--role", "lead", "--password-stdin", stdin=PASSWORD)
    assert out.returncode == 2 and "--team" in out.stderr
    out = cli("user", "create", "li", "--role", "owner", "--password-stdin", stdin=PASSWORD)
    assert out.returncode == 2 and "--role" in out.stderr
    out = cli("user", "create", "li", "--role", "lead", "--team", " ", "--password-stdin")
    assert out.returncode == 2 and "--team" in out.stderr
    out = cli("user", "create", "li", "--role", "admin", "--password-stdin", stdin="short\n")
    assert out.returncode == 2 and "password" in out.stderr
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(AppUser)).scalar_one() == 0


def test_user_password_and_disable(cli, engine):
    for name in ("boss", "deputy"):
        out = cli("user", "create", name, "--role", "admin", "--password-stdin", stdin=PASSWORD)
        assert out.returncode == 0, out.stderr
    out = cli("user", "password", "deputy", "--password-stdin", stdin="another long password\n")
    assert out.returncode == 0, out.stderr
    out = cli("user", "disable", "deputy")
    assert out.returncode == 0, out.stderr
    assert "disabled" in [ln for ln in cli("user", "list").stdout.splitlines() if "deputy" in ln][0]
    out = cli("user", "disable", "boss")
    assert out.returncode == 1 and "last active admin" in out.stderr
    out = cli("user", "disable", "nobody")
    assert out.returncode == 1 and "nobody" in out.stderr


def test_display_create_without_a_public_url_prints_the_path_and_how_to_complete_it(
    cli, engine, server_env
):
    _teams(engine, "一组")
    out = cli("display", "create", "--name", "Floor 3 TV", "--team", "一组")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert "Floor 3 TV" in lines[0] and "一组" in lines[0]
    # No guessed address: the command cannot know where the TV reaches the server.
    assert server_env["PACEBOARD_PORT"] not in out.stdout and "http://127" not in out.stdout
    [hint] = lines[1:-1]
    assert "server's address" in hint and "PACEBOARD_PUBLIC_URL" in hint
    path = lines[-1]
    assert path.startswith("/wallboard?display=pbd_") and " " not in path
    secret = path.split("display=", 1)[1]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(DisplayLink.token_hash)).scalar_one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()


def test_display_url_starts_with_the_public_url_when_set(server_env):
    env = {**server_env, "PACEBOARD_PUBLIC_URL": "https://board.example.com/pb"}
    out = run_cli(env, "display", "create", "--name", "Lobby")
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("https://board.example.com/pb/wallboard?display=pbd_")
    assert "whole floor" in out.stdout


def test_the_printed_path_opens_the_wallboard_on_the_running_server(live_server):
    live_server.start()
    out = live_server.cli("display", "create", "--name", "Lobby")
    assert out.returncode == 0, out.stderr
    path = out.stdout.strip().splitlines()[-1]
    resp = httpx.get(live_server.url + path, timeout=10)  # the server's address + the path
    assert resp.status_code == 200 and 'data-display="pbd_' in resp.text


# --- a lead's team that does not exist yet (the README's order) -------------------------------


def test_user_create_creates_a_leads_new_team_and_says_so(cli, engine):
    _teams(engine, "一组")
    out = cli(
        "user", "create", "wang.fang", "--role", "lead", "--team", "一组", "--team", "三组",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == [
        "created team 三组",
        "user wang.fang created (lead of 一组, 三组)",
    ]
    with engine.connect() as conn:
        teams = conn.execute(sa.text("SELECT name FROM team ORDER BY name")).scalars().all()
    assert sorted(teams) == sorted(["一组", "三组"])
    assert "一组, 三组" in cli("user", "list").stdout


def test_a_refused_user_leaves_no_new_team_behind(cli, engine):
    first = cli("user", "create", "li", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert first.returncode == 0, first.stderr
    out = cli(
        "user", "create", "li", "--role", "lead", "--team", "九组", "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    assert out.returncode == 1 and "already exists" in out.stderr
    assert "created team" not in out.stdout
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM team")).scalar_one() == 0


def test_display_revoke_then_list_shows_it_revoked(cli, engine):
    _teams(engine, "一组")
    out = cli("display", "create", "--name", "Floor 3 TV", "--team", "一组")
    secret = out.stdout.strip().splitlines()[-1].split("display=", 1)[1]
    out = cli("display", "revoke", "1")
    assert out.returncode == 0 and "revoked" in out.stdout, out.stderr
    listed = cli("display", "list")
    [line] = [ln for ln in listed.stdout.splitlines() if "Floor 3 TV" in ln]
    assert "revoked" in line and "一组" in line and secret[:10] in line and secret not in line
    out = cli("display", "revoke", "1")
    assert out.returncode == 1 and "no active display" in out.stderr


def test_display_create_for_an_unknown_team_names_the_option(cli):
    out = cli("display", "create", "--name", "TV", "--team", "九组")
    assert out.returncode == 2 and "--team" in out.stderr and "九组" in out.stderr

"""``paceboard user …``: the people who sign in (admins and leads of some teams)."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

from app.commands.common import command_session, command_settings, fail
from app.floor.schedule import format_weekdays, format_windows
from app.services.errors import InputError

users_cli = typer.Typer(help="People who sign in: admins and team leads.", no_args_is_help=True)

MAX_TEAM_NAME = 100  # as the API's team names
_OPTION = {"username": "USERNAME", "role": "--role", "team": "--team", "password": "password"}


def _refuse(exc) -> NoReturn:
    """Report a service's InputError naming the option; 2 for a bad option, 1 for a clash."""
    fail(f"{_OPTION.get(exc.field, exc.field)}: {exc.reason}", code=1 if exc.status == 409 else 2)


def _refuse_plain(exc) -> NoReturn:
    """Report a service's InputError by its reason alone, exit 1."""
    fail(exc.reason, code=1)


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, else asked twice with the input hidden."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: no password on standard input", code=2)
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="The sign-in name, e.g. wang.fang")],
    role: Annotated[str, typer.Option(help="admin (everything) | lead (their teams)")],
    teams: Annotated[
        list[str] | None,
        typer.Option("--team", help="A team a lead sees (repeatable; created if new)"),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password as one line of stdin")
    ] = False,
) -> None:
    """Create a user; the password is asked twice (hidden) unless --password-stdin. A lead's
    team that does not exist yet is created (and said so): the roster can come after."""
    from app.services.users import ROLES, create_user  # lazy: the database stack

    teams = list(dict.fromkeys(t.strip() for t in teams or []))
    # Refuse bad options before asking for a password.
    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}", code=2)
    if role == "lead" and not teams:
        fail("--team: a lead needs at least one team", code=2)
    if any(not t or len(t) > MAX_TEAM_NAME for t in teams):
        fail(f"--team: a team name is 1 to {MAX_TEAM_NAME} characters", code=2)
    if role == "admin" and teams:
        fail("--team: an admin sees every team; give no --team", code=2)
    settings = command_settings()  # a bad setting is reported before the password is asked
    password = _read_password(password_stdin)
    try:
        with command_session(settings) as session:
            created = _create_missing_teams(session, teams, settings)
            user = create_user(
                session, username=username, password=password, role=role, teams=teams
            )
            name = user.username
    except InputError as exc:
        _refuse(exc)  # nothing is kept: the new teams roll back with the user
    for team in created:
        typer.echo(f"created team {team}")
    what = f"lead of {', '.join(teams)}" if role == "lead" else "admin"
    typer.echo(f"user {name} created ({what})")


def _create_missing_teams(session, names: list[str], settings) -> list[str]:
    """Create the teams of ``names`` that do not exist (on the floor's schedule); their names."""
    # lazy: the database stack (see app/commands/__init__.py)
    from sqlmodel import col, select

    from app.models import Team
    from app.services.roster import create_team

    floor = (
        settings.timezone,
        format_windows(settings.calling_windows),
        format_weekdays(settings.working_days),
    )
    known = set(session.exec(select(Team.name).where(col(Team.name).in_(names))))
    missing = [n for n in names if n not in known]
    for name in missing:
        create_team(session, name=name, defaults=floor)
    return missing


@users_cli.command("list")
def user_list() -> None:
    """Every user, their role and teams, and whether they are disabled or locked."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.models import utcnow
    from app.services.users import list_users

    with command_session() as session:
        rows = list_users(session)
    if not rows:
        typer.echo("no users (paceboard user create NAME --role admin)")
    now = utcnow()
    for u in rows:
        if u["disabled_at"]:
            state = f"disabled {u['disabled_at']:%Y-%m-%d %H:%M}"
        elif u["locked_until"] and u["locked_until"] > now:
            state = f"locked until {u['locked_until']:%H:%M} UTC"
        else:
            state = "active"
        teams = ", ".join(u["teams"]) or ("all teams" if u["role"] == "admin" else "-")
        typer.echo(f"{u['id']:>4}  {u['username']:<20}  {u['role']:<5}  {state:<22}  {teams}")


@users_cli.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="The user's sign-in name")]) -> None:
    """Disable a user; their sessions end at once."""
    from app.services.users import disable_user  # lazy: the database stack

    try:
        with command_session() as session:
            disable_user(session, username=username)
    except InputError as exc:
        _refuse_plain(exc)
    typer.echo(f"user {username} disabled")


@users_cli.command("password")
def user_password(
    username: Annotated[str, typer.Argument(help="The user's sign-in name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password as one line of stdin")
    ] = False,
) -> None:
    """Set a user's password; unlocks the account and ends its sessions."""
    from app.services.users import set_password  # lazy: the database stack

    settings = command_settings()  # a bad setting is reported before the password is asked
    password = _read_password(password_stdin)
    try:
        with command_session(settings) as session:
            set_password(session, username=username, password=password)
    except InputError as exc:
        if exc.status == 404:
            _refuse_plain(exc)
        _refuse(exc)
    typer.echo(f"password of {username} changed; their sessions were signed out")

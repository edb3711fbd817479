"""``paceboard display …``: secret links that show the wallboard on a TV, and nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from app.commands.common import command_session, command_settings, fail
from app.services.errors import InputError

displays_cli = typer.Typer(
    help="Wallboard display links for TVs (view only, some teams or the whole floor).",
    no_args_is_help=True,
)


@displays_cli.command("create")
def display_create(
    name: Annotated[str, typer.Option(help="What it is, e.g. 'Floor 3 TV'")],
    teams: Annotated[
        list[str] | None,
        typer.Option("--team", help="A team it shows (repeatable; none: the whole floor)"),
    ] = None,
) -> None:
    """Create a display link; its URL is printed once, alone on the last line: whole when
    PACEBOARD_PUBLIC_URL is set, else the path to put after the server's address (a command
    cannot know the address the TV reaches the server at, so it does not guess one)."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.services.displays import create_display, display_url

    settings = command_settings()
    try:
        with command_session(settings) as session:
            row, secret = create_display(session, name=name, teams=teams or [])
            display_id, shown = row.id, row.name
    except InputError as exc:
        fail(f"--{exc.field}: {exc.reason}", code=2)
    what = ", ".join(dict.fromkeys(teams)) if teams else "the whole floor"
    typer.echo(f"display {display_id} '{shown}' shows {what}")
    if settings.public_url:
        typer.echo("Open this URL on the screen; it is stored hashed and cannot be shown again:")
        typer.echo(display_url(settings.public_url, secret))
        return
    typer.echo(
        "Open the server's address followed by this path on the screen "
        "(http://<server>:<port>/wallboard?display=…), or set PACEBOARD_PUBLIC_URL to have the "
        "whole link printed; it is stored hashed and cannot be shown again:"
    )
    typer.echo(display_url("", secret))


@displays_cli.command("list")
def display_list() -> None:
    """Every display link (never its secret): id, name, teams, prefix, created, revoked."""
    from app.services.displays import list_displays  # lazy: the database stack

    with command_session() as session:
        rows = list_displays(session)
    if not rows:
        typer.echo('no display links (paceboard display create --name "Floor 3 TV")')
    for d in rows:
        state = f"revoked {d['revoked_at']:%Y-%m-%d %H:%M}" if d["revoked_at"] else "active"
        teams = ", ".join(d["teams"]) or "whole floor"
        typer.echo(
            f"{d['id']:>4}  {d['name']:<20}  {teams:<20}  {d['prefix']}…  "
            f"created {d['created_at']:%Y-%m-%d %H:%M}  {state}"
        )


@displays_cli.command("revoke")
def display_revoke(display_id: Annotated[int, typer.Argument(help="The link's id")]) -> None:
    """Revoke a display link by id; the screen showing it stops at its next check."""
    from app.services.displays import revoke_display  # lazy: the database stack

    with command_session() as session:
        ok = revoke_display(session, display_id=display_id)
    if not ok:
        fail(f"no active display link with id {display_id}")
    typer.echo(f"display {display_id} revoked")

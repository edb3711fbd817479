"""``paceboard roster …``: teams and reps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.commands.common import command_session, command_settings
from app.services.errors import InputError

roster_cli = typer.Typer(help="Teams and reps.", no_args_is_help=True)


@roster_cli.command("import")
def roster_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Create or update reps from a CSV with columns code,name,team,hired_on and optionally
    identifiers (or extension, sip_peer, accountcode, agent_id, client) (UTF-8, BOM ok)."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.ingest.service import context_for
    from app.services.roster import import_roster, read_roster_csv

    rows, errors = read_roster_csv(file.read_bytes())
    if errors:
        for e in errors:
            typer.echo(f"{file.name}: {e}", err=True)
        typer.echo("nothing imported; fix the rows above and run again", err=True)
        raise typer.Exit(1)
    settings = command_settings()
    try:
        with command_session(settings) as session:
            result = import_roster(session, rows, ingest=context_for(settings))
    except InputError as exc:
        typer.echo(f"{file.name}: {exc.field}: {exc.reason}; nothing imported", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"reps: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
    )

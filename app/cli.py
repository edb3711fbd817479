"""The ``paceboard`` command: the root that assembles the sub-commands of app/commands/."""

from __future__ import annotations

import sys

import typer

from app.commands.attendance import attendance_cli
from app.commands.backup import backup
from app.commands.displays import displays_cli
from app.commands.imports import import_calls
from app.commands.listen import listen_cli
from app.commands.profiles import profile_cli
from app.commands.reports import report_cli
from app.commands.roster import roster_cli
from app.commands.server import demo, migrate, serve
from app.commands.targets import target_cli
from app.commands.tokens import token_cli
from app.commands.totals import rebuild_totals
from app.commands.users import users_cli
from app.config import SettingsError

cli = typer.Typer(
    help="Paceboard: live hour-by-hour pacing for telesales floors.",
    no_args_is_help=True,
    add_completion=False,
)
# `paceboard --help` lists the commands, then the groups, each in the order registered here.
cli.command("backup")(backup)
cli.command()(migrate)
cli.command()(serve)
cli.command()(demo)
cli.command("import")(import_calls)
cli.command("rebuild-totals")(rebuild_totals)
cli.add_typer(token_cli, name="token")
cli.add_typer(roster_cli, name="roster")
cli.add_typer(target_cli, name="target")
cli.add_typer(profile_cli, name="profile")
cli.add_typer(users_cli, name="user")
cli.add_typer(displays_cli, name="display")
cli.add_typer(report_cli, name="report")
cli.add_typer(listen_cli, name="listen")
cli.add_typer(attendance_cli, name="attendance")


def main() -> None:
    """The console script: run the command line, exit 2 on a settings error."""
    try:
        cli()
    except SettingsError as exc:  # pragma: no cover - command_settings already reports these
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""``paceboard profile …``: saved ways of reading an export, for ``import --profile NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from app.commands.common import command_session, fail, option_flag
from app.services.errors import InputError

profile_cli = typer.Typer(
    help="Saved ways of reading an export (format, column mapping, encoding).",
    no_args_is_help=True,
)


@profile_cli.command("save")
def profile_save(
    name: Annotated[str, typer.Argument(help="The profile's name, e.g. 话单")],
    fmt: Annotated[str, typer.Option("--format", help="The format it reads")],
    maps: Annotated[
        list[str] | None, typer.Option("--map", help="FIELD=COLUMN (repeatable)")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding")] = None,
    timezone: Annotated[str | None, typer.Option(help="Timezone of the file's times")] = None,
    rep_from: Annotated[str | None, typer.Option("--rep-from", help="Column of the rep")] = None,
    source: Annotated[str | None, typer.Option(help="Source the calls belong to")] = None,
) -> None:
    """Save (or replace) a named way of reading an export, for import --profile NAME."""
    from app.services.imports import parse_map, save_profile  # lazy: the database stack

    try:
        with command_session() as session:
            view = save_profile(
                session,
                name=name,
                fmt=fmt,
                mapping=parse_map(maps or []),
                encoding=encoding,
                timezone=timezone,
                rep_from=rep_from,
                source=source,
            )
    except InputError as exc:
        fail(f"{option_flag(exc.field)}: {exc.reason}", code=2)
    mapped = ", ".join(f"{k}={v}" for k, v in view["mapping"].items()) or "no mapping"
    typer.echo(f"profile {view['name']} saved: {view['format']}, {mapped}")


@profile_cli.command("list")
def profile_list() -> None:
    """The saved import profiles."""
    from app.services.imports import list_profiles  # lazy: the database stack

    with command_session() as session:
        rows = list_profiles(session)
    if not rows:
        typer.echo("no import profiles (paceboard profile save NAME --format … --map …)")
    for view in rows:
        mapped = ", ".join(f"{k}={v}" for k, v in view["mapping"].items()) or "-"
        extras = " ".join(
            f"{k}={view[k]}" for k in ("encoding", "timezone", "rep_from", "source") if view[k]
        )
        typer.echo(f"{view['name']}\t{view['format']}\t{mapped}\t{extras}".rstrip())


@profile_cli.command("delete")
def profile_delete(name: Annotated[str, typer.Argument(help="The profile's name")]) -> None:
    """Forget a saved import profile."""
    from app.services.imports import delete_profile  # lazy: the database stack

    try:
        with command_session() as session:
            delete_profile(session, name=name)
    except InputError as exc:
        fail(f"{exc.reason}")
    typer.echo(f"profile {name} deleted")

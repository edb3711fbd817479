"""``paceboard attendance …``: a rep's day away (leave, half day, sick, absent), and a day's."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from app.commands.common import command_session, command_settings, fail
from app.services.errors import InputError

attendance_cli = typer.Typer(
    help="Attendance: leave, half days, sick and absent days (they reduce a rep's targets).",
    no_args_is_help=True,
)


@attendance_cli.command("set")
def attendance_set(
    rep: Annotated[str, typer.Argument(help="The rep's code")],
    day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD")],
    status: Annotated[
        str, typer.Option(help="present | leave | half_day | sick | absent (present clears it)")
    ],
    half: Annotated[str, typer.Option(help="am or pm, for a half day")] = "",
    note: Annotated[str, typer.Option(help="A note (why, who covers)")] = "",
) -> None:
    """Set a rep's day; the screens read the floor again within a minute."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.models import utcnow
    from app.services.attendance import set_attendance

    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        fail(f"DAY: '{day}' is not a date (YYYY-MM-DD)", code=2)
    try:
        with command_session() as session:
            got = set_attendance(
                session.connection(),
                rep=rep,
                day=the_day,
                status=status,
                half=half,
                note=note,
                by="cli",
                now=utcnow(),
            )
    except InputError as exc:
        fail(f"{exc.field}: {exc.reason}", code=2)
    half_text = f" ({got['half']})" if got["half"] else ""
    typer.echo(f"{got['rep']} ({got['team']}) {got['day']}: {got['status']}{half_text}")


@attendance_cli.command("list")
def attendance_list(
    day: Annotated[str | None, typer.Option(help="The day (default: today, floor time)")] = None,
) -> None:
    """A day's marks: rep, team, status, half, note (reps not listed are present)."""
    from app.services.attendance import list_attendance  # lazy: the database stack

    settings = command_settings()
    try:
        the_day = date.fromisoformat(day) if day else settings.today()
    except ValueError:
        fail(f"--day: '{day}' is not a date (YYYY-MM-DD)", code=2)
    with command_session(settings) as session:
        rows = list_attendance(session.connection(), day=the_day)
    for r in rows:
        typer.echo(f"{r['rep']}\t{r['team']}\t{r['status']}\t{r['half']}\t{r['note']}")
    if not rows:
        typer.echo(f"everyone present on {the_day}")

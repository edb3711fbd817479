"""``paceboard rebuild-totals``: the stored totals against the calls and agent events they
summarise, checked or repaired."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from app.commands.common import command_engine, command_settings
from app.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def rebuild_totals(
    day: Annotated[str | None, typer.Option(help="Only this local day (YYYY-MM-DD)")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Compare only; exit 1 on a difference")
    ] = False,
) -> None:
    """Recompute hourly totals from the stored calls (and time in state from the agent
    events); --check reports differing cells."""
    try:
        the_day = date.fromisoformat(day) if day else None
    except ValueError:
        typer.echo(f"error: --day: '{day}' is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    settings = command_settings()
    engine = command_engine(settings)
    scope = f"day {the_day}" if the_day else "all days"
    try:
        if check:
            differences = check_totals(engine, settings, the_day)
            if differences:
                typer.echo(
                    f"{differences} cell(s) differ ({scope}); run without --check to repair",
                    err=True,
                )
                raise typer.Exit(1)
            typer.echo(f"totals agree with the calls and the agent events ({scope})")
        else:
            cells, states = repair_totals(engine, settings, the_day)
            typer.echo(
                f"rebuilt {cells} cell(s) from the calls and {states} from the agent events "
                f"({scope})"
            )
    finally:
        engine.dispose()


def check_totals(engine: Engine, settings: Settings, the_day: date | None) -> int:
    """Print every stored cell that differs from the calls or the agent events; how many."""
    # lazy: the database stack (see app/commands/__init__.py)
    import sqlalchemy as sa

    from app.ingest import rebuild
    from app.models import METRICS, Rep, table_of

    with engine.connect() as conn:
        diffs = rebuild.check(conn, the_day)
        codes = dict(conn.execute(sa.select(table_of(Rep).c.id, table_of(Rep).c.code)).all())
    for d in diffs:
        rep_id, dd, hour = d.cell
        parts = [
            f"{m} {a}≠{b}" for m, a, b in zip(METRICS, d.stored, d.expected, strict=True) if a != b
        ]
        typer.echo(
            f"rep {codes.get(rep_id, rep_id)} {dd} {hour:02d}h: stored≠calls: " + ", ".join(parts)
        )
    with engine.connect() as conn:
        state_diffs = rebuild.check_states(conn, settings.tz, the_day)
        now_diffs = rebuild.check_now(conn)
    for (rep_id, dd, hour, state, reason), got, want in state_diffs:
        what = f"{state}/{reason}" if reason else state
        typer.echo(
            f"rep {codes.get(rep_id, rep_id)} {dd} {hour:02d}h: stored≠events: "
            f"{what} {got}≠{want} s"
        )
    for rep_id, held, latest in now_diffs:
        typer.echo(
            f"rep {codes.get(rep_id, rep_id)}: present state stored≠events: "
            f"{present(held)}≠{present(latest)}"
        )
    return len(diffs) + len(state_diffs) + len(now_diffs)


def repair_totals(engine: Engine, settings: Settings, the_day: date | None) -> tuple[int, int]:
    """Rewrite the cells that differ; how many from the calls and from the agent events."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.db import writer
    from app.ingest import rebuild

    with writer(engine).begin() as conn:
        cells = rebuild.repair(conn, the_day)
        states = rebuild.repair_states(conn, settings.tz, the_day)
        rebuild.repair_now(conn)  # the present is one row per rep, whatever the day
    return cells, states


def present(row: tuple | None) -> str:
    """A stored present state as the check prints it: "paused/lunch since 2026-…"."""
    if row is None:
        return "none"
    _source, _key, state, reason, at = row
    what = f"{state}/{reason}" if reason else state
    return f"{what} since {at.isoformat()}"

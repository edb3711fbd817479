"""``paceboard import FILE…``: call records from telephony export files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, TaskID

from app.commands.common import (
    command_engine,
    command_settings,
    fail,
    option_flag,
    upgrade_database,
)
from app.config import Settings
from app.ingest.adapters import OptionError
from app.services.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from app.ingest.service import IngestContext
    from app.services.imports import ImportPlan


def import_calls(
    files: Annotated[list[Path], typer.Argument(help="Export files to import", show_default=False)],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="asterisk (cdr_csv Master.csv), asterisk-custom (cdr_custom), freeswitch "
            "(mod_cdr_csv), csv or xlsx (a header row; see --map)",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Source the calls belong to (ids are unique per source)"),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(help="Timezone of the file's times (default PACEBOARD_TIMEZONE)"),
    ] = None,
    rep_from: Annotated[
        str | None,
        typer.Option("--rep-from", help="Column holding the rep (default: the channel's peer)"),
    ] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option("--map", help="csv/xlsx: FIELD=COLUMN, e.g. started_at=开始时间 (repeatable)"),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding, e.g. gb18030 (default: UTF-8, else GB18030 for csv)"),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(help="A saved profile's options (paceboard profile save); flags override"),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Rejects CSV path, or a folder (default: <FILE>.rejects.csv)"),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Reject calls whose agent is on no rep's identifiers (default: keep them "
            "under unresolved agents, off the board, until the roster names them)",
        ),
    ] = False,
) -> None:
    """Import call records from telephony export files (streamed; re-importing changes nothing)."""
    settings = command_settings()
    if rejects is not None and len(files) > 1 and not rejects.is_dir():
        fail("--rejects must be a folder when importing several files", code=2)
    upgrade_database(settings)
    engine = command_engine(settings)
    try:
        plan = read_plan(
            engine,
            settings,
            profile=profile,
            fmt=fmt,
            source=source,
            timezone=timezone,
            rep_from=rep_from,
            maps=maps or [],
            encoding=encoding,
        )
        pairs = rejects_paths(files, rejects)
        failed = import_all(engine, settings, plan, pairs, strict=strict)
    finally:
        engine.dispose()
    if failed:
        raise typer.Exit(1)


def read_plan(engine: Engine, settings: Settings, *, maps: list[str], **options: Any) -> ImportPlan:
    """The checked import options (a profile's, overridden by the flags); exits 2 if refused."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.db import session_scope
    from app.services.imports import parse_map, plan_import

    try:
        with session_scope(engine) as session:
            return plan_import(
                session, default_timezone=settings.tz, mapping=parse_map(maps), **options
            )
    except InputError as exc:
        fail(f"{option_flag(exc.field)}: {exc.reason}", code=2)


def rejects_paths(files: list[Path], rejects: Path | None) -> list[tuple[Path, Path]]:
    """Each file with where its rejects go; exits 1, nothing imported, on a file that cannot be
    read or a rejects folder that cannot be written."""
    from app.ingest.importer import default_rejects_path  # lazy: the database stack

    pairs: list[tuple[Path, Path]] = []
    for file in files:
        if not file.is_file() or not os.access(file, os.R_OK):
            why = "no such file" if not file.exists() else "not a readable file"
            fail(f"{file}: {why}; nothing imported")
        if rejects is None:
            target = default_rejects_path(file)
        else:
            target = rejects / (file.name + ".rejects.csv") if rejects.is_dir() else rejects
        if not os.access(target.parent, os.W_OK):
            fail(f"cannot write rejects to {target.parent}; use --rejects PATH")
        pairs.append((file, target))
    return pairs


def import_all(
    engine: Engine,
    settings: Settings,
    plan: ImportPlan,
    pairs: list[tuple[Path, Path]],
    *,
    strict: bool,
) -> bool:
    """Import each file in turn, printing its summary; True if any file failed (the others
    are still imported)."""
    from app.ingest.service import context_for  # lazy: the database stack

    ctx = context_for(settings)
    failed = False
    for file, target in pairs:
        options = dict(
            engine=engine,
            ctx=ctx,
            **plan.kwargs(),
            rejects_path=target,
            minor_digits=settings.currency_minor_digits,
            strict_agents=strict,
        )
        try:
            summary = import_one(file, options)
        except OptionError as exc:
            # The file's own shape refuses the options (a mapped column not in its header).
            typer.echo(f"error: {file}: {option_flag(exc.field)}: {exc.reason}", err=True)
            failed = True
            continue
        except OSError as exc:
            typer.echo(f"error: {file}: {exc.strerror or exc}", err=True)
            failed = True
            continue
        for line in summary_lines(file, summary, ctx):
            typer.echo(line)
    return failed


def import_one(file: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Import one file with ``options``, under a progress bar when stdout is a terminal."""
    from app.ingest.importer import import_file  # lazy: the database stack

    if not sys.stdout.isatty():
        return import_file(file, **options)
    with Progress(transient=True) as bar:
        task = bar.add_task(file.name, total=file.stat().st_size or 1)
        return import_file(file, **options, progress=advancer(bar, task))


def advancer(bar: Progress, task: TaskID) -> Callable[[int], None]:
    """The progress callback that moves ``task`` to the bytes read so far."""

    def advance(n: int) -> None:
        bar.update(task, completed=n)

    return advance


def summary_lines(file: Path, summary: dict[str, Any], ctx: IngestContext) -> list[str]:
    """What an import prints for a file: its counts, skipped legs and unresolved agents."""
    from app.services.agents import describe  # lazy: the database stack

    counts = ", ".join(f"{k} {summary[k]:,}" for k in ("created", "updated", "duplicate", "stale"))
    line = f"{file.name}: {summary['rows']:,} rows → {counts}, rejected {summary['rejected']:,}"
    if summary["skipped"]:
        line += f", skipped {summary['skipped']:,}"
    if summary["rejects_path"]:
        line += f"; rejects in {summary['rejects_path']}"
    lines = [line]
    for reason, n in sorted(summary["skipped_reasons"].items()):
        lines.append(f"  skipped {n:,}: {reason}")
    unresolved = describe(summary["unresolved"], ctx)
    if unresolved:
        lines.append(f"  {unresolved}; add them to reps (roster import) to count them")
    return lines

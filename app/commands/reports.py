"""``paceboard report …``: the evening report and the week's and month's assessment as files,
the same as the report pages' downloads (for a scheduled job or the back office)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from app.commands.common import command_engine, command_settings, fail, upgrade_database
from app.reports.files import filename, report_file
from app.services.errors import InputError

report_cli = typer.Typer(
    help="The evening report (daily) and the assessment (weekly, monthly) as CSV, xlsx or JSON.",
    no_args_is_help=True,
)


class Fmt(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


class Lang(StrEnum):
    zh = "zh"
    en = "en"


DayOpt = Annotated[
    str | None, typer.Option(help="The day, or any day of the period (YYYY-MM-DD; default today)")
]
TeamOpt = Annotated[str | None, typer.Option(help="One team (default: the whole floor)")]
FmtOpt = Annotated[Fmt, typer.Option("--format", help="csv (UTF-8 with BOM), xlsx or json")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write here (default: paceboard-daily-2026-11-27.csv…)"),
]
LangOpt = Annotated[Lang, typer.Option(help="Language of the column headers")]
MetricOpt = Annotated[str, typer.Option(help="The metric of the per-day attainment columns")]


def _write(
    kind: str,
    *,
    day: date | None,
    team: str | None,
    fmt: Fmt,
    output: Path | None,
    lang: Lang,
    metric: str = "dials",
) -> None:
    """Write the ``kind`` report as a file and say where; a refused option exits 2."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.models import utcnow
    from app.services.reports import report as build_report

    settings = command_settings()
    upgrade_database(settings)
    engine = command_engine(settings)
    try:
        with engine.connect() as conn:
            report = build_report(
                conn, settings, kind=kind, day=day, now=utcnow(), team=team, metric=metric
            )
    except InputError as exc:
        fail(f"--{exc.field}: {exc.reason}", code=2)
    finally:
        engine.dispose()
    if fmt is Fmt.json:
        body = orjson.dumps(report, option=orjson.OPT_INDENT_2)
    else:
        body = report_file(
            report, fmt.value, lang=lang.value, minor_digits=settings.currency_minor_digits
        )
    path = output or Path(filename(report, fmt.value))
    try:
        path.write_bytes(body)
    except OSError as exc:
        fail(f"--output: cannot write {path}: {exc.strerror}", code=2)
    rows = len(report["reps"])
    when = report.get("day") or report["label"]
    typer.echo(f"{kind} report {when}: {rows} reps → {path}")


def _day(value: str | None) -> date | None:
    """--day as a date (None for today); a bad one exits 2."""
    from app.services.reports import parse_day  # lazy: the database stack

    try:
        return parse_day(value)
    except InputError as exc:
        fail(f"--{exc.field}: {exc.reason}", code=2)


@report_cli.command("daily")
def report_daily(
    day: DayOpt = None,
    team: TeamOpt = None,
    fmt: FmtOpt = Fmt.csv,
    output: OutOpt = None,
    lang: LangOpt = Lang.zh,
) -> None:
    """The evening report of a day: every rep's figures, attainment, hours behind, alerts."""
    _write("daily", day=_day(day), team=team, fmt=fmt, output=output, lang=lang)


def _period(kind: str, parse, value: str | None, day: str | None, **options) -> None:
    """A weekly or monthly report: the period parsed from ``value`` (--week/--month) or --day."""
    try:
        when = parse(value) or _day(day)
    except InputError as exc:
        fail(f"--{exc.field}: {exc.reason}", code=2)
    _write(kind, day=when, **options)


@report_cli.command("weekly")
def report_weekly(
    day: DayOpt = None,
    week: Annotated[str | None, typer.Option(help="Or the ISO week, e.g. 2026-W48")] = None,
    team: TeamOpt = None,
    fmt: FmtOpt = Fmt.csv,
    output: OutOpt = None,
    lang: LangOpt = Lang.zh,
    metric: MetricOpt = "dials",
) -> None:
    """The week's assessment: week to date, weekly invites, attainment per day, projection."""
    from app.services.reports import parse_week  # lazy: the database stack

    _period(
        "weekly", parse_week, week, day, team=team, fmt=fmt, output=output, lang=lang, metric=metric
    )


@report_cli.command("monthly")
def report_monthly(
    day: DayOpt = None,
    month: Annotated[str | None, typer.Option(help="Or the month, e.g. 2026-11")] = None,
    team: TeamOpt = None,
    fmt: FmtOpt = Fmt.csv,
    output: OutOpt = None,
    lang: LangOpt = Lang.zh,
    metric: MetricOpt = "dials",
) -> None:
    """The month's assessment: month to date against target with projection, the review list."""
    from app.services.reports import parse_month  # lazy: the database stack

    _period(
        "monthly",
        parse_month,
        month,
        day,
        team=team,
        fmt=fmt,
        output=output,
        lang=lang,
        metric=metric,
    )

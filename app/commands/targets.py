"""``paceboard target …``: daily, weekly and monthly targets of the floor, a team or a rep."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from app.commands.common import command_session, command_settings, fail
from app.ingest.records import to_minor_units
from app.services.errors import InputError

target_cli = typer.Typer(help="Daily, weekly and monthly targets.", no_args_is_help=True)

#: What each count metric's target is counted in, as ``target list`` prints it.
_TARGET_UNITS = {
    "dials": "dials",
    "connects": "connects",
    "orders": "orders",
    "invites": "invites",
}


def target_figure(metric: str, value: int | None, minor_digits: int) -> str:
    """A target as people read it, with its unit: revenue in yuan (stored in minor units),
    talk time in seconds and H:MM:SS, counts with what they count; "unset" for None."""
    if value is None:
        return "unset"
    if metric == "revenue":
        return f"¥{Decimal(value).scaleb(-minor_digits):,.{minor_digits}f}"
    if metric == "talk_seconds":
        hours, rest = divmod(value, 3600)
        return f"{value:,} s ({hours}:{rest // 60:02d}:{rest % 60:02d})"
    return f"{value:,} {_TARGET_UNITS.get(metric, '')}".rstrip()


def target_amount(metric: str, value: str, minor_digits: int) -> int | None:
    """--value as stored: revenue in minor units, other metrics whole; None for 'none'."""
    if value.strip().lower() in ("none", "null", "-"):
        return None
    try:
        number = Decimal(value.replace(",", ""))
    except InvalidOperation:
        fail(f"--value: '{value}' is not a number")
    if metric == "revenue":
        return to_minor_units(number, minor_digits)
    if number != number.to_integral_value():
        fail(f"--value: {metric} targets are whole numbers")
    return int(number)


@target_cli.command("set")
def target_set(
    metric: Annotated[str, typer.Option(help="dials|connects|talk_seconds|orders|invites|revenue")],
    per: Annotated[str, typer.Option(help="day|week|month")],
    value: Annotated[
        str, typer.Option(help="The target; revenue in major units (yuan); 'none' unsets it")
    ],
    team: Annotated[str | None, typer.Option(help="Only this team")] = None,
    rep: Annotated[str | None, typer.Option(help="Only this rep (code)")] = None,
    valid_from: Annotated[
        str | None, typer.Option("--from", help="First day it applies (YYYY-MM-DD; default today)")
    ] = None,
) -> None:
    """Set a floor default, team or rep target from a day on (rep beats team beats floor).
    Revenue is given in yuan (major units: 5000 is ¥5,000.00); the API takes minor units."""
    from app.services.targets import set_target  # lazy: the database stack

    settings = command_settings()
    amount = target_amount(metric, value, settings.currency_minor_digits)
    try:
        day = date.fromisoformat(valid_from) if valid_from else settings.today()
    except ValueError:
        fail(f"--from: '{valid_from}' is not a date (YYYY-MM-DD)")
    try:
        with command_session(settings) as session:
            view = set_target(
                session,
                metric=metric,
                period=per,
                value=amount,
                valid_from=day,
                team=team,
                rep=rep,
                by="cli",
            )
    except InputError as exc:
        name = {"metric": "--metric", "per": "--per", "value": "--value"}.get(
            exc.field, f"--{exc.field}"
        )
        fail(f"{name}: {exc.reason}")
    who = view["team"] or view["rep"] or "floor default"
    shown = target_figure(metric, amount, settings.currency_minor_digits)
    typer.echo(f"target {metric}/{per} for {who} from {view['valid_from']}: {shown}")


@target_cli.command("list")
def target_list() -> None:
    """Every target rule in force or planned, each with its unit (revenue in yuan)."""
    from app.services.targets import list_targets  # lazy: the database stack

    settings = command_settings()
    with command_session(settings) as session:
        for t in list_targets(session):
            who = t["team"] or t["rep"] or "floor"
            value = target_figure(t["metric"], t["value"], settings.currency_minor_digits)
            typer.echo(
                f"{who:<16} {t['metric']:<13} {t['period']:<6} {value:>24}  from {t['valid_from']}"
            )

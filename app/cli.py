"""The ``paceboard`` command: serve, migrate, demo, token, import, profile, target, roster,
rebuild-totals, listen."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from app.commands import command_session
from app.commands.attendance import attendance_cli
from app.commands.backup import backup
from app.commands.displays import displays_cli
from app.commands.reports import report_cli
from app.commands.users import users_cli
from app.config import Settings, SettingsError, load_settings
from app.labels import set_labels
from app.listen import listen_cli

cli = typer.Typer(
    help="Paceboard: live hour-by-hour pacing for telesales floors.",
    no_args_is_help=True,
    add_completion=False,
)
token_cli = typer.Typer(
    help="API tokens for telephony sources, readers and admins.", no_args_is_help=True
)
roster_cli = typer.Typer(help="Teams and reps.", no_args_is_help=True)
cli.add_typer(token_cli, name="token")
target_cli = typer.Typer(help="Daily, weekly and monthly targets.", no_args_is_help=True)
cli.add_typer(roster_cli, name="roster")
cli.add_typer(target_cli, name="target")
profile_cli = typer.Typer(
    help="Saved ways of reading an export (format, column mapping, encoding).",
    no_args_is_help=True,
)
cli.add_typer(profile_cli, name="profile")
cli.add_typer(users_cli, name="user")
cli.add_typer(displays_cli, name="display")
cli.add_typer(report_cli, name="report")
cli.add_typer(listen_cli, name="listen")
cli.add_typer(attendance_cli, name="attendance")
cli.command("backup")(backup)


def _settings(**overrides) -> Settings:
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings.ensure_secret_key()
    set_labels(settings.labels)  # one floor per run: its exports use the floor's own labels
    return settings


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _engine(settings: Settings):
    from app.db import make_engine

    return make_engine(settings.resolved_database_url)


def _migrate(settings: Settings) -> None:
    from app.migrate import upgrade

    engine = _engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@cli.command()
def migrate() -> None:
    """Apply database migrations (the only way the schema changes)."""
    settings = _settings()
    _migrate(settings)
    typer.echo(f"database is current: {_safe_url(settings)}")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def _base_url(settings: Settings) -> str:
    """Where people reach this server: PUBLIC_URL, else the bound address (0.0.0.0 and ::
    mean "every interface": this machine's loopback is the one address sure to answer)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def setup_notice(settings: Settings) -> str | None:
    """While there is no user, a new one-time setup link and the line that announces it."""
    from datetime import UTC, datetime

    from app.db import session_scope
    from app.services.users import create_setup_link, needs_setup

    engine = _engine(settings)
    try:
        with session_scope(engine) as session:
            if not needs_setup(session):
                return None
            secret = create_setup_link(session, now=datetime.now(UTC))
    finally:
        engine.dispose()
    return (
        "No users yet. Create the first admin within 24 hours: "
        f"{_base_url(settings)}/setup?token={secret}"
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (PACEBOARD_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PACEBOARD_PORT)")] = None,
) -> None:
    """Migrate the database, then run the server."""
    import uvicorn

    from app import logs
    from app.main import create_app
    from app.serving import tune_interpreter, uvicorn_options

    settings = _settings(host=host, port=port)
    _migrate(settings)
    typer.echo(
        f"Paceboard on http://{settings.host}:{settings.port}  (database {_safe_url(settings)})"
    )
    notice = setup_notice(settings)
    if notice:
        typer.echo(notice)
    tune_interpreter()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=logs.config(settings.log_level, settings.log_format),
        access_log=False,  # paceboard.access writes it, with the request id and the route
        **uvicorn_options(settings),
    )


@cli.command()
def demo(
    speed: Annotated[
        float,
        typer.Option(
            help="Live call-rate multiplier (timestamps stay real; 1 = a real floor's pace)"
        ),
    ] = 1.0,
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated floor")] = 7,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
) -> None:
    """Run the server with a demo floor: 3 teams x 8 reps, today backfilled, live calls posted."""
    from app.demo.runner import run_demo

    settings = _settings(host=host, port=port)
    raise typer.Exit(run_demo(settings, speed=speed, seed=seed, duration=duration))


# --- tokens ----------------------------------------------------------------------------------


@token_cli.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'asterisk-floor3'")],
    scope: Annotated[str, typer.Option(help="ingest | read | admin")],
    source: Annotated[str | None, typer.Option(help="Default source for records it posts")] = None,
) -> None:
    """Create a token; its secret is printed once, alone on the last line."""
    from app.db import session_scope
    from app.services.tokens import SCOPES, create_token

    if scope not in SCOPES:
        typer.echo(f"error: --scope must be one of {', '.join(SCOPES)}", err=True)
        raise typer.Exit(2)
    settings = _settings()
    _migrate(settings)
    engine = _engine(settings)
    with session_scope(engine) as session:
        row, secret = create_token(session, name=name, scope=scope, source=source)
        token_id = row.id
    engine.dispose()
    typer.echo(f"token {token_id} '{name}' scope={scope}" + (f" source={source}" if source else ""))
    typer.echo("Keep this secret now; it is stored hashed and cannot be shown again:")
    typer.echo(secret)


@token_cli.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from sqlmodel import Session

    from app.services.tokens import list_tokens

    settings = _settings()
    engine = _engine(settings)
    with Session(engine) as session:
        for t in list_tokens(session):
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            typer.echo(
                f"{t.id:>4}  {t.prefix}…  {t.scope:<6}  {t.source or '-':<12}  "
                f"{state:<22}  {t.name}"
            )
    engine.dispose()


@token_cli.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token by id."""
    from app.db import session_scope
    from app.services.tokens import revoke_token

    engine = _engine(_settings())
    with session_scope(engine) as session:
        ok = revoke_token(session, token_id=token_id)
    engine.dispose()
    if not ok:
        typer.echo(f"error: no active token with id {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {token_id} revoked")


@cli.command("import")
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
    import os

    from app.db import session_scope
    from app.ingest.adapters import OptionError
    from app.ingest.importer import default_rejects_path, import_file
    from app.ingest.service import context_for
    from app.services.agents import describe
    from app.services.errors import InputError
    from app.services.imports import parse_map, plan_import

    settings = _settings()
    if rejects is not None and len(files) > 1 and not rejects.is_dir():
        _fail("--rejects must be a folder when importing several files", code=2)
    _migrate(settings)
    engine = _engine(settings)
    try:
        with session_scope(engine) as session:
            plan = plan_import(
                session,
                default_timezone=settings.tz,
                profile=profile,
                fmt=fmt,
                source=source,
                timezone=timezone,
                rep_from=rep_from,
                mapping=parse_map(maps or []),
                encoding=encoding,
            )
    except InputError as exc:
        engine.dispose()
        _fail(f"{_option(exc.field)}: {exc.reason}", code=2)
    plan_files: list[tuple[Path, Path]] = []
    for file in files:
        if not file.is_file() or not os.access(file, os.R_OK):
            why = "no such file" if not file.exists() else "not a readable file"
            engine.dispose()
            _fail(f"{file}: {why}; nothing imported")
        if rejects is None:
            target = default_rejects_path(file)
        else:
            target = rejects / (file.name + ".rejects.csv") if rejects.is_dir() else rejects
        if not os.access(target.parent, os.W_OK):
            engine.dispose()
            _fail(f"cannot write rejects to {target.parent}; use --rejects PATH")
        plan_files.append((file, target))

    ctx = context_for(settings)
    failed = False
    try:
        for file, target in plan_files:
            kwargs = dict(
                engine=engine,
                ctx=ctx,
                **plan.kwargs(),
                rejects_path=target,
                minor_digits=settings.currency_minor_digits,
                strict_agents=strict,
            )
            try:
                if sys.stdout.isatty():
                    from rich.progress import Progress, TaskID

                    with Progress(transient=True) as bar:
                        task = bar.add_task(file.name, total=file.stat().st_size or 1)

                        def advance(n: int, t: TaskID = task) -> None:
                            bar.update(t, completed=n)

                        summary = import_file(file, **kwargs, progress=advance)
                else:
                    summary = import_file(file, **kwargs)
            except OptionError as exc:
                # The file's own shape refuses the options (a mapped column not in its header).
                typer.echo(f"error: {file}: {_option(exc.field)}: {exc.reason}", err=True)
                failed = True
                continue
            except OSError as exc:
                typer.echo(f"error: {file}: {exc.strerror or exc}", err=True)
                failed = True
                continue
            counts = ", ".join(
                f"{k} {summary[k]:,}" for k in ("created", "updated", "duplicate", "stale")
            )
            line = (
                f"{file.name}: {summary['rows']:,} rows → {counts}, "
                f"rejected {summary['rejected']:,}"
            )
            if summary["skipped"]:
                line += f", skipped {summary['skipped']:,}"
            if summary["rejects_path"]:
                line += f"; rejects in {summary['rejects_path']}"
            typer.echo(line)
            for reason, n in sorted(summary["skipped_reasons"].items()):
                typer.echo(f"  skipped {n:,}: {reason}")
            unresolved = describe(summary["unresolved"], ctx)
            if unresolved:
                typer.echo(f"  {unresolved}; add them to reps (roster import) to count them")
    finally:
        engine.dispose()
    if failed:
        raise typer.Exit(1)


def _option(field: str) -> str:
    """The CLI option a service's field name stands for."""
    return "--" + {"fmt": "format", "mapping": "map"}.get(field, field).replace("_", "-")


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
    from app.services.errors import InputError
    from app.services.imports import parse_map, save_profile

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
        _fail(f"{_option(exc.field)}: {exc.reason}", code=2)
    mapped = ", ".join(f"{k}={v}" for k, v in view["mapping"].items()) or "no mapping"
    typer.echo(f"profile {view['name']} saved: {view['format']}, {mapped}")


@profile_cli.command("list")
def profile_list() -> None:
    """The saved import profiles."""
    from app.services.imports import list_profiles

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
    from app.services.errors import InputError
    from app.services.imports import delete_profile

    try:
        with command_session() as session:
            delete_profile(session, name=name)
    except InputError as exc:
        _fail(f"{exc.reason}")
    typer.echo(f"profile {name} deleted")


# --- targets ---------------------------------------------------------------------------------

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
    from datetime import date
    from decimal import Decimal, InvalidOperation

    from app.ingest.records import to_minor_units
    from app.services.errors import InputError
    from app.services.targets import set_target

    settings = _settings()
    amount: int | None = None
    if value.strip().lower() not in ("none", "null", "-"):
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            _fail(f"--value: '{value}' is not a number")
        if metric == "revenue":
            amount = to_minor_units(number, settings.currency_minor_digits)
        elif number != number.to_integral_value():
            _fail(f"--value: {metric} targets are whole numbers")
        else:
            amount = int(number)
    try:
        day = date.fromisoformat(valid_from) if valid_from else settings.today()
    except ValueError:
        _fail(f"--from: '{valid_from}' is not a date (YYYY-MM-DD)")
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
        _fail(f"{name}: {exc.reason}")
    who = view["team"] or view["rep"] or "floor default"
    shown = target_figure(metric, amount, settings.currency_minor_digits)
    typer.echo(f"target {metric}/{per} for {who} from {view['valid_from']}: {shown}")


@target_cli.command("list")
def target_list() -> None:
    """Every target rule in force or planned, each with its unit (revenue in yuan)."""
    from app.db import session_scope
    from app.services.targets import list_targets

    settings = _settings()
    _migrate(settings)
    engine = _engine(settings)
    with session_scope(engine) as session:
        for t in list_targets(session):
            who = t["team"] or t["rep"] or "floor"
            value = target_figure(t["metric"], t["value"], settings.currency_minor_digits)
            typer.echo(
                f"{who:<16} {t['metric']:<13} {t['period']:<6} {value:>24}  from {t['valid_from']}"
            )
    engine.dispose()


# --- roster ----------------------------------------------------------------------------------


@roster_cli.command("import")
def roster_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Create or update reps from a CSV with columns code,name,team,hired_on and optionally
    identifiers (or extension, sip_peer, accountcode, agent_id, client) (UTF-8, BOM ok)."""
    from app.ingest.service import context_for
    from app.services.errors import InputError
    from app.services.roster import import_roster, read_roster_csv

    rows, errors = read_roster_csv(file.read_bytes())
    if errors:
        for e in errors:
            typer.echo(f"{file.name}: {e}", err=True)
        typer.echo("nothing imported; fix the rows above and run again", err=True)
        raise typer.Exit(1)
    settings = _settings()
    try:
        with command_session(settings) as session:
            result = import_roster(session, rows, ingest=context_for(settings))
    except InputError as exc:
        typer.echo(f"{file.name}: {exc.field}: {exc.reason}; nothing imported", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"reps: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
    )


# --- totals ----------------------------------------------------------------------------------


@cli.command("rebuild-totals")
def rebuild_totals(
    day: Annotated[str | None, typer.Option(help="Only this local day (YYYY-MM-DD)")] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Compare only; exit 1 on a difference")
    ] = False,
) -> None:
    """Recompute hourly totals from the stored calls (and time in state from the agent
    events); --check reports differing cells."""
    import sqlalchemy as sa

    from app.db import writer
    from app.ingest import rebuild
    from app.models import METRICS, Rep, table_of

    try:
        the_day = date.fromisoformat(day) if day else None
    except ValueError:
        typer.echo(f"error: --day: '{day}' is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    settings = _settings()
    engine = _engine(settings)
    scope = f"day {the_day}" if the_day else "all days"
    try:
        if check:
            with engine.connect() as conn:
                diffs = rebuild.check(conn, the_day)
                codes = dict(
                    conn.execute(sa.select(table_of(Rep).c.id, table_of(Rep).c.code)).all()
                )
            for d in diffs:
                rep_id, dd, hour = d.cell
                parts = [
                    f"{m} {a}≠{b}"
                    for m, a, b in zip(METRICS, d.stored, d.expected, strict=True)
                    if a != b
                ]
                typer.echo(
                    f"rep {codes.get(rep_id, rep_id)} {dd} {hour:02d}h: stored≠calls: "
                    + ", ".join(parts)
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
                    f"{_present(held)}≠{_present(latest)}"
                )
            if diffs or state_diffs or now_diffs:
                typer.echo(
                    f"{len(diffs) + len(state_diffs) + len(now_diffs)} cell(s) differ ({scope}); "
                    "run without --check to repair",
                    err=True,
                )
                raise typer.Exit(1)
            typer.echo(f"totals agree with the calls and the agent events ({scope})")
        else:
            with writer(engine).begin() as conn:
                n = rebuild.repair(conn, the_day)
                states = rebuild.repair_states(conn, settings.tz, the_day)
                rebuild.repair_now(conn)  # the present is one row per rep, whatever the day
            typer.echo(
                f"rebuilt {n} cell(s) from the calls and {states} from the agent events ({scope})"
            )
    finally:
        engine.dispose()


def _present(row: tuple | None) -> str:
    """A stored present state as the check prints it: "paused/lunch since 2026-…"."""
    if row is None:
        return "none"
    _source, _key, state, reason, at = row
    what = f"{state}/{reason}" if reason else state
    return f"{what} since {at.isoformat()}"


def main() -> None:
    try:
        cli()
    except SettingsError as exc:  # pragma: no cover - _settings already reports these
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

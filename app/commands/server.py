"""``paceboard serve``, ``migrate`` and ``demo``: the schema, the server and the demo floor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from app import logs
from app.commands.common import command_engine, command_settings, upgrade_database
from app.config import Settings


def migrate() -> None:
    """Apply database migrations (the only way the schema changes)."""
    settings = command_settings()
    upgrade_database(settings)
    typer.echo(f"database is current: {safe_url(settings)}")


def safe_url(settings: Settings) -> str:
    """The database URL with its password hidden, fit to print."""
    from sqlalchemy.engine import make_url  # lazy: SQLAlchemy (see app/commands/__init__.py)

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def base_url(settings: Settings) -> str:
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
    # lazy: the database stack (see app/commands/__init__.py)
    from app.db import session_scope
    from app.services.users import create_setup_link, needs_setup

    engine = command_engine(settings)
    try:
        with session_scope(engine) as session:
            if not needs_setup(session):
                return None
            secret = create_setup_link(session, now=datetime.now(UTC))
    finally:
        engine.dispose()
    return (
        "No users yet. Create the first admin within 24 hours: "
        f"{base_url(settings)}/setup?token={secret}"
    )


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (PACEBOARD_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PACEBOARD_PORT)")] = None,
) -> None:
    """Migrate the database, then run the server."""
    # lazy: the web server and the app (see app/commands/__init__.py)
    import uvicorn

    from app.main import create_app
    from app.serving import tune_interpreter, uvicorn_options

    settings = command_settings(host=host, port=port)
    upgrade_database(settings)
    typer.echo(
        f"Paceboard on http://{settings.host}:{settings.port}  (database {safe_url(settings)})"
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
    from app.demo.runner import run_demo  # lazy: the whole app (see app/commands/__init__.py)

    settings = command_settings(host=host, port=port)
    raise typer.Exit(run_demo(settings, speed=speed, seed=seed, duration=duration))

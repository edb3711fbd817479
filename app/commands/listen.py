"""``paceboard listen …``: processes that follow a phone system live and post what its agents do
to a Paceboard server (README, "Agent states")."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Annotated

import typer

from app import logs
from app.config import SettingsError, load_settings

#: An agent is an extension of two to six digits unless --agent-pattern says otherwise.
DEFAULT_AGENT_PATTERN = r"\d{2,6}"

listen_cli = typer.Typer(
    help="Follow a phone system and post its agents' states to a Paceboard server.",
    no_args_is_help=True,
)

_AGENT_HELP = (
    "Regular expression an agent's extension matches in full (after 'PJSIP/1001-0000002a' "
    "or 'Local/1001@agents' is reduced to '1001'); other channels give no event"
)


@listen_cli.command("ami")
def ami(
    username: Annotated[str, typer.Option(help="AMI user (manager.conf, read=agent,call)")],
    secret: Annotated[
        str,
        typer.Option(envvar="PACEBOARD_AMI_SECRET", help="AMI user's secret", show_default=False),
    ],
    token: Annotated[
        str,
        typer.Option(
            envvar="PACEBOARD_TOKEN",
            help="Ingest token of the Paceboard server (paceboard token create --scope ingest)",
            show_default=False,
        ),
    ],
    host: Annotated[str, typer.Option(help="Asterisk's address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="AMI port")] = 5038,
    url: Annotated[str, typer.Option(help="The Paceboard server")] = "http://127.0.0.1:8000",
    source: Annotated[
        str, typer.Option(help="Source of the events (a token bound to a source needs it)")
    ] = "ami",
    agent_pattern: Annotated[str, typer.Option(help=_AGENT_HELP)] = DEFAULT_AGENT_PATTERN,
) -> None:
    """Log in to Asterisk's manager interface and post agent states as they change
    (reconnects with backoff; runs until stopped)."""
    # lazy: httpx and panoramisk add ~0.12 s CPU to every `paceboard` command at module top
    from app.listen.ami import AmiAddress, listen, rules_for

    try:
        settings = load_settings()  # the floor's pause reasons and the log settings
        rules = rules_for(agent_pattern, settings.pause_reasons)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except re.error as exc:
        typer.echo(f"error: --agent-pattern: {exc}", err=True)
        raise typer.Exit(2) from None
    if not url.startswith(("http://", "https://")):
        typer.echo("error: --url must start with http:// or https://", err=True)
        raise typer.Exit(2)
    logs.configure(settings.log_level, settings.log_format)
    address = AmiAddress(host, port, username, secret)
    # Stopped by Ctrl-C or SIGTERM: what was queued has had its chance to be posted.
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(listen(address, rules, url=url, token=token, source=source))

"""``paceboard token …``: API tokens for telephony sources, readers and admins."""

from __future__ import annotations

from typing import Annotated

import typer

from app.commands.common import command_engine, command_session, command_settings, fail

token_cli = typer.Typer(
    help="API tokens for telephony sources, readers and admins.", no_args_is_help=True
)


@token_cli.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'asterisk-floor3'")],
    scope: Annotated[str, typer.Option(help="ingest | read | admin")],
    source: Annotated[str | None, typer.Option(help="Default source for records it posts")] = None,
) -> None:
    """Create a token; its secret is printed once, alone on the last line."""
    # lazy: the database stack (see app/commands/__init__.py)
    from app.services.tokens import SCOPES, create_token

    if scope not in SCOPES:
        fail(f"--scope must be one of {', '.join(SCOPES)}", code=2)
    with command_session() as session:
        row, secret = create_token(session, name=name, scope=scope, source=source)
        token_id = row.id
    typer.echo(f"token {token_id} '{name}' scope={scope}" + (f" source={source}" if source else ""))
    typer.echo("Keep this secret now; it is stored hashed and cannot be shown again:")
    typer.echo(secret)


@token_cli.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    # lazy: the database stack (see app/commands/__init__.py)
    from sqlmodel import Session

    from app.services.tokens import list_tokens

    engine = command_engine(command_settings())
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
    # lazy: the database stack (see app/commands/__init__.py)
    from app.db import session_scope
    from app.services.tokens import revoke_token

    engine = command_engine(command_settings())
    with session_scope(engine) as session:
        ok = revoke_token(session, token_id=token_id)
    engine.dispose()
    if not ok:
        fail(f"no active token with id {token_id}")
    typer.echo(f"token {token_id} revoked")

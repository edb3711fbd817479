"""What the command modules share: settings, errors, the engine, a migrated session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

from app.config import Settings, SettingsError, load_settings
from app.labels import set_labels

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session


def command_settings(**overrides) -> Settings:
    """The floor's settings (None overrides ignored); a bad setting exits 2 with its message."""
    try:
        loaded = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    loaded.ensure_secret_key()
    set_labels(loaded.labels)  # one floor per run: its exports use the floor's own labels
    return loaded


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def command_engine(settings: Settings) -> Engine:
    """A new engine on the floor's database; the caller disposes of it."""
    from app.db import make_engine  # lazy: the database stack (see app/commands/__init__.py)

    return make_engine(settings.resolved_database_url)


def upgrade_database(settings: Settings) -> None:
    """Apply the migrations the database lacks."""
    from app.migrate import upgrade  # lazy: the database stack (see app/commands/__init__.py)

    db = command_engine(settings)
    try:
        upgrade(db)
    finally:
        db.dispose()


def option_flag(field: str) -> str:
    """The CLI option a service's field name stands for."""
    return "--" + {"fmt": "format", "mapping": "map"}.get(field, field).replace("_", "-")


@contextmanager
def command_session(floor: Settings | None = None) -> Iterator[Session]:
    """What a database command starts with: settings, a migrated database and a session that
    commits when the block ends (rolls back if it raises); the engine is disposed after."""
    from app.db import session_scope  # lazy: the database stack (see app/commands/__init__.py)

    floor = floor or command_settings()
    upgrade_database(floor)
    db = command_engine(floor)
    try:
        with session_scope(db) as session:
            yield session
    finally:
        db.dispose()

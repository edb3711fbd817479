"""Sub-commands of ``paceboard`` kept out of app/cli.py: users and display links."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.config import Settings


@contextmanager
def command_session(settings: Settings | None = None) -> Iterator[Session]:
    """What a database command starts with: settings, a migrated database and a session that
    commits when the block ends (rolls back if it raises); the engine is disposed after."""
    from app.cli import _engine, _migrate, _settings
    from app.db import session_scope

    settings = settings or _settings()
    _migrate(settings)
    engine = _engine(settings)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()

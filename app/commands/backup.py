"""``paceboard backup FILE``: a consistent copy of a running SQLite floor (the online backup API:
the server keeps taking calls while it copies), checked before it is called done."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer

from app.commands.common import command_settings, fail


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy (a new .db file)")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists")] = False,
) -> None:
    """Copy the SQLite database while the server runs; PostgreSQL floors use pg_dump."""
    from sqlalchemy.engine import make_url  # lazy: SQLAlchemy (see app/commands/__init__.py)

    settings = command_settings()
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite":
        fail(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (see docs/deployment.md)",
            code=2,
        )
    source = Path(url.database or "")
    if not source.is_file():
        fail(f"no database at {source}", code=2)
    if file.resolve() == source.resolve():
        fail("FILE is the live database itself; choose another path", code=2)
    if file.exists() and not force:
        fail(f"{file} exists; add --force to replace it", code=2)
    if not file.parent.is_dir():
        fail(f"no folder {file.parent}", code=2)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        # Page by page, yielding between steps, so writers are never held up for long.
        src.backup(dst, pages=1024, sleep=0.005)
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        calls = dst.execute("SELECT count(*) FROM call").fetchone()[0]
        version = dst.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except sqlite3.Error as exc:
        dst.close()
        partial.unlink(missing_ok=True)
        fail(f"backup failed: {exc}")
    finally:
        src.close()
    dst.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        fail(f"the copy failed its integrity check: {check}")
    partial.replace(file)  # only a checked copy ever carries the name
    size = file.stat().st_size / 1024 / 1024
    typer.echo(f"backup: {file} ({size:.1f} MiB, {calls:,} calls, schema {version}), checked")

"""Apply the Alembic migrations: the only way the schema changes."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


def _migrations_dir() -> Path:
    # Beside the package in a checkout or editable install; in the working directory when the
    # package was installed into site-packages (the Docker image runs from /app).
    beside = Path(__file__).resolve().parent.parent / "migrations"
    for candidate in (beside, Path.cwd() / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("migrations/ not found beside the app package or in the working directory")


MIGRATIONS = _migrations_dir()


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest)."""
    _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the database back to ``revision`` (for tests of a migration's data step)."""
    _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


def _migrate(engine: sa.Engine, step: Callable[[Config], None]) -> None:
    cfg = _config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a column by rebuilding its table, which foreign keys to it forbid
            # (DROP TABLE of a referenced table fails); the pragma only takes effect outside a
            # transaction. The keys are checked before the commit instead.
            driver = conn.connection.driver_connection
            assert driver is not None  # None only once the connection is closed
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if not sqlite:
                    # Several servers started together (systemd, a rolling deploy) take turns:
                    # the first migrates, the others then find the schema current. Released at
                    # commit.
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext('paceboard.migrate'))")
                    )
                cfg.attributes["connection"] = conn
                step(cfg)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                driver = conn.connection.driver_connection
                assert driver is not None  # None only once the connection is closed
                driver.execute("PRAGMA foreign_keys=ON")


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    # The migration files ship with the code: read once per process (readiness asks often).
    return ScriptDirectory.from_config(_config("sqlite://"))


def pending(engine: sa.Engine) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    script = _script()
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    head = script.get_current_head()
    if head is None or head in current:  # None: no revisions at all, none to apply
        return []
    missing = []
    for rev in script.walk_revisions("base", head):  # newest first, down the one branch
        if rev.revision in current:
            break
        missing.append(rev.revision)
    return missing[::-1]  # oldest first: the order they would be applied in

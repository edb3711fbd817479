"""The migrations are the schema: applying them yields exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401 (registers the tables)
from app.migrate import pending


def test_migrated_database_matches_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert pending(engine) == []


def test_migration_seeds_the_floor_default_targets(engine):
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT metric, period, scope, value FROM target ORDER BY metric"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("dials", "day", "floor", 300),
        ("invites", "week", "floor", 5),
        ("talk_seconds", "day", "floor", 13000),
    ]

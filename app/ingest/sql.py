"""Driver-specific SQL shared by the ingest modules."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: sa.Connection, table: sa.Table):
    """An INSERT with the dialect's ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table: sa.Table):
    """:func:`dialect_insert` by the dialect's name (for statements built once per dialect)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

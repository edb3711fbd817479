"""Driver-specific SQL shared by the ingest modules."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: sa.Connection, table: sa.Table):
    """An INSERT with the dialect's ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)

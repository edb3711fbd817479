"""Engine and sessions. SQLite gets WAL, a busy timeout and foreign keys on every connection."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged write survives power loss, not only a process crash; group commit
    # keeps the fsync cost per request small.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    # The bulk path stages each batch in a temporary table: keep it off the disk.
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()
    # Hand transaction control to SQLAlchemy's begin event (see _sqlite_begin).
    dbapi_conn.isolation_level = None


#: How long a writer polls for SQLite's write lock before waiting on SQLite's own busy handler.
WRITE_LOCK_POLL_SECONDS = 5.0


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite would defer BEGIN and a read-then-write transaction could then fail on the lock
    # upgrade (SQLITE_BUSY_SNAPSHOT, which busy_timeout does not cover). Writers say so up front.
    if conn.get_execution_options().get("write"):
        _take_write_lock(conn.connection.driver_connection)
        if not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits on busy_timeout, then raises
    else:
        conn.exec_driver_sql("BEGIN")


def _take_write_lock(driver: Any) -> None:
    """Try for the write lock every millisecond (for up to WRITE_LOCK_POLL_SECONDS).

    SQLite's busy handler sleeps ever longer between tries (up to 100 ms), so a writer that
    waits on it misses the short gaps between another process's transactions: behind an import
    committing batch after batch, a posted call waited over a second. Polling takes the first gap.
    """
    driver.execute("PRAGMA busy_timeout=0")
    deadline = time.monotonic() + WRITE_LOCK_POLL_SECONDS
    try:
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    return  # the caller's BEGIN IMMEDIATE waits, or raises as SQLAlchemy's
            time.sleep(0.001)
    finally:
        driver.execute("PRAGMA busy_timeout=10000")


def writer(engine: sa.Engine) -> sa.Engine:
    """The same engine, for transactions that will write (SQLite takes the write lock at BEGIN)."""
    return engine.execution_options(write=True)


def make_engine(url: str) -> sa.Engine:
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_size=8
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error; callers never commit."""
    with Session(writer(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

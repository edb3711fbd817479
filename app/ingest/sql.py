"""The driver-specific SQL of ingest, in one place: every branch on PostgreSQL versus SQLite
(inserts with ON CONFLICT, ``COPY``, row and advisory locks, collations, per-transaction
durability, temporary tables) and the hot statements run through the driver itself, with the
date and time binding that path needs on SQLite. The ingest modules call these by name."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.models import METRICS, Call, table_of

LeadKey = tuple[int, date, str]  # (rep_id, local day, customer key)

#: The columns of ``call`` an insert fills (all but the generated id), in table order.
INSERT_COLS = [c.name for c in table_of(Call).columns if c.name != "id"]
#: The positions of the date and time values in a row of :data:`INSERT_COLS`.
CALL_TEMPORAL = [
    i
    for i, c in enumerate(INSERT_COLS)
    if c in ("started_at", "answered_at", "ended_at", "received_at", "updated_at", "local_day")
]


def _postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def dialect_insert(conn: sa.Connection, table: sa.Table):
    """An INSERT with the dialect's ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    return insert_for(conn.dialect.name, table)


def insert_for(dialect: str, table: sa.Table):
    """:func:`dialect_insert` by the dialect's name (for statements built once per dialect)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# --- the driver's own statements: the batch hot path -------------------------------------------


def driver_sql(conn: sa.Connection, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the driver's own paramstyle."""
    return sql if conn.dialect.name == "sqlite" else sql.replace("?", "%s")


def executemany(
    conn: sa.Connection, sql: str, rows: list[tuple], *, temporal: Sequence[int] = ()
) -> None:
    """Run ``sql`` (``?`` placeholders) for each row through the driver; on SQLite the values at
    positions ``temporal`` are converted to SQLAlchemy's stored text first. The batch hot path:
    SQLAlchemy's per-row processing costs more than the database."""
    if temporal and conn.dialect.name == "sqlite":
        rows = sqlite_rows(rows, temporal)
    sql = driver_sql(conn, sql)
    for start in range(0, len(rows), 1000):
        conn.exec_driver_sql(sql, rows[start : start + 1000])


def sqlite_rows(rows: list[tuple], positions: Sequence[int]) -> list[tuple]:
    """Convert only the date/time columns at ``positions`` (cheaper than testing every value)."""
    out = []
    memo: dict[Any, Any] = {}  # received_at / updated_at are one instant for the whole batch
    for src in rows:
        r = list(src)
        for i in positions:
            v = r[i]
            if v is not None:
                c = memo.get(v)
                if c is None:
                    c = memo[v] = _sqlite_value(v)
                r[i] = c
        out.append(tuple(r))
    return out


def _sqlite_value(v: Any) -> Any:
    # The text forms SQLAlchemy's SQLite Date/DateTime read back (instants as naive UTC).
    t = type(v)
    if t is datetime:
        if v.tzinfo is not UTC:  # parse_record already gives UTC; skip the conversion then
            v = v.astimezone(UTC)
        return v.isoformat(sep=" ", timespec="microseconds")[:26]
    if t is date:
        return v.isoformat()
    return v


_INSERT_CALL = (
    f"INSERT INTO call ({', '.join(INSERT_COLS)}) VALUES ({', '.join('?' for _ in INSERT_COLS)})"
)


def insert_calls(conn: sa.Connection, rows: list[tuple]) -> None:
    """Insert new calls, each a tuple of :data:`INSERT_COLS`."""
    executemany(conn, _INSERT_CALL, rows, temporal=CALL_TEMPORAL)


def stored_call_ids(conn: sa.Connection, source: str, ids: Sequence[str]) -> list[str]:
    """Which of ``ids`` (at most 900) are stored calls of ``source``: a bare probe of the
    unique index."""
    marks = ", ".join("?" * len(ids))
    probe = driver_sql(
        conn, f"SELECT external_id FROM call WHERE source = ? AND external_id IN ({marks})"
    )
    return [r[0] for r in conn.exec_driver_sql(probe, (source, *ids))]


_TOTALS_UPSERT = (
    f"INSERT INTO hourly_total (rep_id, day, hour, {', '.join(METRICS)})"
    f" VALUES (?, ?, ?, {', '.join('?' for _ in METRICS)})"
    " ON CONFLICT (rep_id, day, hour) DO UPDATE SET "
    + ", ".join(f"{m} = hourly_total.{m} + excluded.{m}" for m in METRICS)
)


def add_to_totals(conn: sa.Connection, rows: list[tuple]) -> None:
    """Add each (rep_id, day, hour, *METRICS) row to its hourly total, atomically."""
    executemany(conn, _TOTALS_UPSERT, rows, temporal=(1,))


# Only ever moves forward: a late or corrected older call does not make a rep look idle.
_ACTIVITY_UPSERT = (
    "INSERT INTO rep_activity (rep_id, day, last_dial_at) VALUES (?, ?, ?)"
    " ON CONFLICT (rep_id, day) DO UPDATE SET last_dial_at = CASE"
    " WHEN excluded.last_dial_at > rep_activity.last_dial_at THEN excluded.last_dial_at"
    " ELSE rep_activity.last_dial_at END"
)


def advance_last_dials(conn: sa.Connection, rows: list[tuple]) -> None:
    """Move each (rep_id, day, last_dial_at) row's last dial forward (never back)."""
    executemany(conn, _ACTIVITY_UPSERT, rows, temporal=(1, 2))


def stored_leads(
    conn: sa.Connection, customer_keys: Sequence[str]
) -> Iterator[tuple[LeadKey, int, int | None]]:
    """The lead rows of ``customer_keys``: (rep, day, customer), first-dial and first-connect
    hour."""
    for start in range(0, len(customer_keys), 900):
        chunk = customer_keys[start : start + 900]
        sql = driver_sql(
            conn,
            "SELECT rep_id, day, customer_key, first_dial_hour, first_connect_hour FROM lead_day"
            f" WHERE customer_key IN ({', '.join('?' * len(chunk))})",
        )
        for rep_id, day, ckey, fd, fc in conn.exec_driver_sql(sql, tuple(chunk)):
            # SQLite's driver gives the day as its stored text.
            yield (rep_id, date.fromisoformat(day) if type(day) is str else day, ckey), fd, fc


_LEAD_UPSERT = (
    "INSERT INTO lead_day (rep_id, day, customer_key, first_dial_hour, first_connect_hour)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rep_id, day, customer_key) DO UPDATE SET"
    " first_dial_hour = excluded.first_dial_hour,"
    " first_connect_hour = excluded.first_connect_hour"
)


def write_leads(conn: sa.Connection, rows: list[tuple]) -> None:
    """Store each (rep_id, day, customer_key, first dial hour, first connect hour) lead row."""
    executemany(conn, _LEAD_UPSERT, rows, temporal=(1,))


# --- locks -------------------------------------------------------------------------------------


def locked(
    conn: sa.Connection, q: sa.Select, *, read: bool = False, key_share: bool = False
) -> sa.Select:
    """``q`` with its rows held until commit on PostgreSQL (``FOR UPDATE``, or with ``read``
    and ``key_share`` ``FOR KEY SHARE``); SQLite has one writer at a time already."""
    return q.with_for_update(read=read, key_share=key_share) if _postgres(conn) else q


def lock_leads(conn: sa.Connection, keys: Sequence[LeadKey]) -> None:
    """Hold each (rep, day, customer) until commit before its lead row is read (PostgreSQL).

    The row is read, merged and written back; two processes counting the same new lead at once
    would each see no row and each count it (the four-writer test caught it: leads one too
    many). A transaction-scoped advisory lock per key, taken in one sorted order (no deadlock),
    makes the second wait for the first to commit, and its read then sees the row. SQLite has
    one writer at a time already: nothing to do.
    """
    if not _postgres(conn):
        return
    ids = sorted(
        {
            int.from_bytes(
                hashlib.blake2b(f"{r}|{d}|{k}".encode(), digest_size=8).digest(), signed=True
            )
            for r, d, k in keys
        }
    )
    if ids:
        # unnest yields the array in its order: the locks are taken sorted.
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(x) FROM unnest(CAST(:ids AS bigint[])) AS x"),
            {"ids": ids},
        )


def lock_leads_of(conn: sa.Connection, keys: sa.Select) -> None:
    """:func:`lock_leads` for the (rep, day, customer) rows ``keys`` selects (PostgreSQL only:
    SQLite does not run the query)."""
    if _postgres(conn):
        lock_leads(conn, conn.execute(keys).all())


#: The advisory-lock namespace of agent states (a lead's locks use single bigint keys).
_STATE_LOCK_SPACE = 0x5A7E


def lock_reps(conn: sa.Connection, reps: list[int]) -> None:
    """Hold each rep's state until commit (PostgreSQL: two processes storing events of one rep
    would each read the same present state); sorted, so no deadlock. SQLite has one writer."""
    if _postgres(conn):
        conn.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(:space, x) FROM unnest(CAST(:ids AS int[])) AS x"
            ),
            {"space": _STATE_LOCK_SPACE, "ids": reps},
        )


# --- collation, staging, durability ------------------------------------------------------------


def binary_collation(conn: sa.Connection) -> str:
    """The collation that compares text by code point, as Python's sort does."""
    return "C" if _postgres(conn) else "BINARY"


def temp_table(name: str, metadata: sa.MetaData, *columns: sa.Column) -> sa.Table:
    """A per-session temporary table (emptied at each commit on PostgreSQL)."""
    return sa.Table(
        name, metadata, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS"
    )


def load_rows(
    conn: sa.Connection, table: sa.Table, rows: list[tuple[Any, ...]], temporal: Sequence[int]
) -> None:
    """Load ``rows`` (every column of ``table``, in order) into ``table``: ``COPY`` on
    PostgreSQL, ``executemany`` on SQLite (the values at ``temporal`` bound as its text)."""
    cols = ", ".join(c.name for c in table.columns)
    if _postgres(conn):
        driver = conn.connection.driver_connection
        with (
            driver.cursor() as cur,  # type: ignore[union-attr]
            cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in table.columns)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", sqlite_rows(rows, temporal)
    )


@contextmanager
def lazy_commit(conn: sa.Connection) -> Iterator[None]:
    """A transaction on ``conn`` committed without waiting for the disk (SQLite's
    ``synchronous=NORMAL`` in WAL mode with a 32 MiB page cache, PostgreSQL's
    ``synchronous_commit = off``). SQLite's settings belong to the connection: they are put
    back (SQLite's defaults, as app.db leaves them) before it returns to the pool."""
    driver: Any = conn.connection.driver_connection
    lite = conn.dialect.name == "sqlite"
    if lite:  # not inside a transaction: SQLite refuses that
        driver.execute("PRAGMA synchronous = NORMAL")
        driver.execute("PRAGMA cache_size = -32768")
    try:
        with conn.begin():
            if not lite:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield
    finally:
        if lite:
            driver.execute("PRAGMA synchronous = FULL")
            driver.execute("PRAGMA cache_size = -2000")

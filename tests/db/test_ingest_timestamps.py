"""Every date and time column ingest writes reads back as the value written, on both engines.

Ingest binds instants and days itself on its hot paths (text on SQLite, ``COPY`` on
PostgreSQL: :mod:`app.ingest.sql`), beside SQLAlchemy's own binding. The columns are found from
the tables the ingest modules hold, so a new column cannot go untested.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import app.ingest
from app.db import make_engine, writer
from app.floor.agent_state import StateEvent
from app.ingest.batch import apply_batch
from app.ingest.records import CustomerHasher, parse_record
from app.ingest.service import IngestContext
from app.ingest.states import ResolvedEvent, store_events
from app.models import UTCDateTime
from tests.conftest import enrol, fresh_database, record

#: Tables the ingest modules only read.
READ_ONLY = {"team", "schedule"}
#: Columns of those tables ingest leaves unset (an unresolved agent has no hire day).
NOT_WRITTEN = {("rep", "hired_on")}
#: Instants whose writers keep whole seconds (app.floor.agent_state.StateEvent's contract).
WHOLE_SECONDS = {("agent_event", "at"), ("agent_now", "at")}
_INGEST_MODULES = [
    importlib.import_module(m.name)
    for m in pkgutil.walk_packages(app.ingest.__path__, "app.ingest.")
]


def ingest_tables() -> list[sa.Table]:
    """The stored tables the ingest modules hold (as module-level Core tables), but those they
    only read."""
    held = {
        v.name
        for m in _INGEST_MODULES
        for v in vars(m).values()
        if isinstance(v, sa.Table) and v.name in SQLModel.metadata.tables
    }
    return [SQLModel.metadata.tables[n] for n in sorted(held - READ_ONLY)]


TEMPORAL = [
    (t.name, c.name)
    for t in ingest_tables()
    for c in t.columns
    if isinstance(c.type, UTCDateTime | sa.DateTime | sa.Date)
    and (t.name, c.name) not in NOT_WRITTEN
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 2, 30, 1, 250001, tzinfo=UTC)
STARTED = datetime(2026, 11, 26, 10, 5, 0, 123456, tzinfo=SHANGHAI)
ANSWERED = datetime(2026, 11, 26, 10, 5, 7, 654321, tzinfo=SHANGHAI)
ENDED = datetime(2026, 11, 26, 10, 6, 7, 1, tzinfo=SHANGHAI)
DAY = date(2026, 11, 26)  # the calls' and the events' local day in Shanghai
#: A rep's state events: the first two in one batch, the middle one late (placed between).
AT_FIRST = datetime(2026, 11, 26, 1, 0, 5, tzinfo=UTC)
AT_LATE = datetime(2026, 11, 26, 1, 30, 7, tzinfo=UTC)
AT_LAST = datetime(2026, 11, 26, 1, 59, 9, tzinfo=UTC)  # one local hour: one on_call row


def _post_calls(engine: sa.Engine, bulk: bool) -> None:
    """A sale by a rep on the roster, a call of an unknown agent and an unreadable record."""
    hasher = CustomerHasher("x" * 32, "86")
    raws = [
        record(
            "c1",
            rep="r1",
            customer="13800000001",
            started_at=STARTED.isoformat(),
            answered_at=ANSWERED.isoformat(),
            ended_at=ENDED.isoformat(),
            outcome="sale",
            order_value=12,
        ),
        record("c2", rep="x9", started_at=STARTED.isoformat()),
        record("c3", started_at="not a time"),
    ]
    items = [
        parse_record(r, i, default_source="t", hasher=hasher, minor_digits=2)
        for i, r in enumerate(raws)
    ]
    with writer(engine).begin() as conn:
        apply_batch(conn, items, ctx=IngestContext(SHANGHAI, hasher), now=NOW, bulk=bulk)


def _store_states(engine: sa.Engine, rep_id: int) -> None:
    def event(at: datetime, key: str, state: str) -> ResolvedEvent:
        return ResolvedEvent(rep_id, StateEvent(at, "pbx", key, state))

    tzs = {rep_id: SHANGHAI}
    with writer(engine).begin() as conn:
        store_events(
            conn, [event(AT_FIRST, "a", "available"), event(AT_LAST, "c", "paused")], tzs, NOW
        )
    with writer(engine).begin() as conn:
        store_events(conn, [event(AT_LATE, "b", "on_call")], tzs, NOW)


def _written(rep_id: int, agent_id: int) -> dict[tuple[str, str], tuple[dict[str, Any], Any]]:
    """(table, column) -> (which row, the value written to it)."""
    mine, call = {"rep_id": rep_id}, {"external_id": "c1"}
    return {
        ("call", "started_at"): (call, STARTED),
        ("call", "answered_at"): (call, ANSWERED),
        ("call", "ended_at"): (call, ENDED),
        ("call", "received_at"): (call, NOW),
        ("call", "updated_at"): (call, NOW),
        ("call", "local_day"): (call, DAY),
        ("hourly_total", "day"): (mine, DAY),
        ("lead_day", "day"): (mine, DAY),
        ("rep_activity", "day"): (mine, DAY),
        ("rep_activity", "last_dial_at"): (mine, STARTED),
        ("ingest_reject", "received_at"): ({"call_id": "c3"}, NOW),
        ("rep", "created_at"): ({"id": agent_id}, NOW),
        ("agent_event", "at"): ({"event_key": "b"}, AT_LATE),
        ("agent_event", "received_at"): ({"event_key": "b"}, NOW),
        ("agent_now", "at"): (mine, AT_LAST),
        ("state_total", "day"): ({"rep_id": rep_id, "state": "on_call"}, DAY),
    }


def test_the_temporal_columns_found_include_the_hot_paths():
    """The enumeration itself: a table dropped from it would silently go untested."""
    tables = {t for t, _ in TEMPORAL}
    assert {"call", "hourly_total", "lead_day", "rep_activity", "ingest_reject"} <= tables
    assert {"agent_event", "agent_now", "state_total", "rep"} <= tables


@pytest.fixture(
    scope="module",
    params=[("sqlite", "each"), ("sqlite", "bulk"), ("postgres", "each"), ("postgres", "bulk")],
    ids="-".join,
)
def stored(request, tmp_path_factory) -> Iterator[tuple[sa.Engine, dict]]:
    """A database each engine and ingest path wrote once (one database per pair, shared by the
    column tests), and what was written where."""
    kind, path = request.param
    for url in fresh_database(request, tmp_path_factory.mktemp("db"), kind):
        engine = make_engine(url)
        enrol(engine, {"r1"})
        _post_calls(engine, bulk=path == "bulk")
        rep = SQLModel.metadata.tables["rep"]
        with engine.connect() as conn:
            rep_id = conn.execute(sa.select(rep.c.id).where(rep.c.code == "r1")).scalar_one()
            agent_id = conn.execute(sa.select(rep.c.id).where(rep.c.code == "x9")).scalar_one()
        _store_states(engine, rep_id)
        yield engine, _written(rep_id, agent_id)
        engine.dispose()


@pytest.mark.parametrize(("table", "column"), TEMPORAL)
def test_a_date_or_time_ingest_writes_reads_back_equal_and_aware(stored, table, column):
    engine, written = stored
    assert (table, column) in written, f"no round trip for {table}.{column}: add it to _written"
    where, value = written[(table, column)]
    t = SQLModel.metadata.tables
    with engine.connect() as conn:
        q = sa.select(t[table].c[column]).where(*(t[table].c[k] == v for k, v in where.items()))
        got = conn.execute(q).scalars().all()
    assert got == [value]
    if isinstance(value, datetime):
        assert got[0].tzinfo is not None
        assert got[0].microsecond == value.microsecond
        whole = (table, column) in WHOLE_SECONDS
        assert (value.microsecond == 0) == whole  # the value tests what the column keeps
    else:
        assert type(got[0]) is date

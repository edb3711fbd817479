"""Agent-state events stored once each, the present state and the time in state moved by the
difference each makes (app.floor.agent_state), for events whose rep is already known: posted
ones (app.ingest.agent_events) and those a call in progress implies (app.ingest.service)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.floor.agent_state import StateEvent, insertion_deltas
from app.ingest.sql import dialect_insert
from app.models import AgentEvent, AgentNow, StateTotal, table_of

EVENT = table_of(AgentEvent)
STATE_TOTAL = table_of(StateTotal)
NOW = table_of(AgentNow)

#: The source of the events a call in progress implies (on a call from its start to its end).
CALL_SOURCE = "call"


@dataclass(frozen=True, slots=True)
class ResolvedEvent:
    """An event of a rep on the roster (or an unresolved agent's bucket)."""

    rep_id: int
    event: StateEvent


def store_events(
    conn: sa.Connection, events: Sequence[ResolvedEvent], tzs: dict[int, ZoneInfo], now: datetime
) -> list[bool]:
    """Store each event unless its (source, key) is stored, keep the rep's present state and
    move ``state_total`` by what it changes; per event, whether it was new. The caller's
    transaction."""
    deltas: dict[tuple, int] = defaultdict(int)
    created = []
    for ev in events:
        new = _store(conn, ev, now)
        created.append(new)
        if not new:
            continue
        before, after = _neighbours(conn, ev.rep_id, ev.event)
        if after is None:  # the latest in event order: the rep's present state
            _set_now(conn, ev)
        for cell, s in insertion_deltas(ev.event, before, after, tzs[ev.rep_id]).items():
            deltas[(ev.rep_id, *cell)] += s
    _apply(conn, deltas)
    return created


def _row(ev: ResolvedEvent) -> dict[str, Any]:
    e = ev.event
    return {
        "rep_id": ev.rep_id,
        "source": e.source,
        "event_key": e.key,
        "state": e.state,
        "reason": e.reason,
        "at": e.at,
    }


def _store(conn: sa.Connection, ev: ResolvedEvent, now: datetime) -> bool:
    row = {**_row(ev), "received_at": now}
    stmt = (
        dialect_insert(conn, EVENT)
        .on_conflict_do_nothing(index_elements=["source", "event_key"])
        .returning(EVENT.c.id)  # rowcount is -1 here on psycopg: ask for the row instead
    )
    return conn.execute(stmt, row).first() is not None


def _set_now(conn: sa.Connection, ev: ResolvedEvent) -> None:
    row = _row(ev)
    stmt = dialect_insert(conn, NOW)
    stmt = stmt.on_conflict_do_update(
        index_elements=["rep_id"], set_={k: stmt.excluded[k] for k in row if k != "rep_id"}
    )
    conn.execute(stmt, row)


def _neighbours(
    conn: sa.Connection, rep_id: int, e: StateEvent
) -> tuple[StateEvent | None, StateEvent | None]:
    """The rep's stored events just before and just after ``e`` in event order."""
    # Text compares by code point, as Python's sort does (event_order): PostgreSQL's default
    # collation would order "~…" and "e9" otherwise, and the totals would drift from a rebuild.
    binary = "C" if conn.dialect.name == "postgresql" else "BINARY"
    order = (EVENT.c.at, EVENT.c.source.collate(binary), EVENT.c.event_key.collate(binary))
    key = sa.tuple_(*order)
    me = sa.tuple_(
        sa.literal(e.at, EVENT.c.at.type),
        sa.literal(e.source).collate(binary),
        sa.literal(e.key).collate(binary),
    )
    cols = (EVENT.c.at, EVENT.c.source, EVENT.c.event_key, EVENT.c.state, EVENT.c.reason)
    mine = sa.select(*cols).where(EVENT.c.rep_id == rep_id)
    before = conn.execute(
        mine.where(key < me).order_by(*(c.desc() for c in order)).limit(1)
    ).first()
    after = conn.execute(mine.where(key > me).order_by(*order).limit(1)).first()
    return (
        StateEvent(*before) if before is not None else None,
        StateEvent(*after) if after is not None else None,
    )


def _apply(conn: sa.Connection, deltas: dict[tuple, int]) -> None:
    """Add each cell's seconds to ``state_total``, in key order (no deadlocks)."""
    rows = [
        dict(zip(("rep_id", "day", "hour", "state", "reason"), cell, strict=True), seconds=s)
        for cell, s in sorted(deltas.items())
        if s
    ]
    if not rows:
        return
    stmt = dialect_insert(conn, STATE_TOTAL)
    stmt = stmt.on_conflict_do_update(
        index_elements=["rep_id", "day", "hour", "state", "reason"],
        set_={"seconds": STATE_TOTAL.c.seconds + stmt.excluded.seconds},
    )
    conn.execute(stmt, rows)

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

from app.floor.agent_state import StateEvent, event_order, insertion_deltas
from app.ingest.sql import binary_collation, dialect_insert, lock_reps
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
    transaction.

    A live feed's events are newer than their rep's present state: those are stored in one
    statement and each closes the interval of the one before it, in memory. An event older
    than the present (a late one, or a resend) takes its place among the stored events one by
    one, first, so the store holds exactly the events already accounted for when it looks."""
    if not events:
        return []
    reps = sorted({ev.rep_id for ev in events})
    lock_reps(conn, reps)
    present = _present(conn, reps)
    first: dict[tuple[str, str], int] = {}  # (source, key) -> first position in ``events``
    for i, ev in enumerate(events):
        first.setdefault((ev.event.source, ev.event.key), i)
    order = sorted(first.values(), key=lambda i: (events[i].rep_id, event_order(events[i].event)))
    late = [i for i in order if _not_after(events[i], present)]
    fresh = [i for i in order if not _not_after(events[i], present)]
    created = [False] * len(events)
    deltas: dict[tuple, int] = defaultdict(int)
    for i in late:
        created[i] = _place_late(conn, events[i], tzs, now, deltas)
    for i in _insert_all(conn, [events[i] for i in fresh], now, fresh):
        created[i] = True
        ev = events[i]
        before = present.get(ev.rep_id)
        for cell, s in insertion_deltas(ev.event, before, None, tzs[ev.rep_id]).items():
            deltas[(ev.rep_id, *cell)] += s
        present[ev.rep_id] = ev.event
    newest = {events[i].rep_id: events[i] for i in fresh if created[i]}  # the last one wins
    _set_now(conn, list(newest.values()))
    _apply(conn, deltas)
    return created


def _not_after(ev: ResolvedEvent, present: dict[int, StateEvent]) -> bool:
    held = present.get(ev.rep_id)
    return held is not None and event_order(ev.event) <= event_order(held)


def _present(conn: sa.Connection, reps: list[int]) -> dict[int, StateEvent]:
    cols = (NOW.c.rep_id, NOW.c.at, NOW.c.source, NOW.c.event_key, NOW.c.state, NOW.c.reason)
    rows = conn.execute(sa.select(*cols).where(NOW.c.rep_id.in_(reps)))
    return {rep_id: StateEvent(*rest) for rep_id, *rest in rows}


def _place_late(
    conn: sa.Connection,
    ev: ResolvedEvent,
    tzs: dict[int, ZoneInfo],
    now: datetime,
    deltas: dict[tuple, int],
) -> bool:
    """Store one event older than the rep's present state (or a resend) between its stored
    neighbours: the interval it falls into is split. Whether it was new."""
    if not _insert_all(conn, [ev], now, [0]):
        return False
    before, after = _neighbours(conn, ev.rep_id, ev.event)
    for cell, s in insertion_deltas(ev.event, before, after, tzs[ev.rep_id]).items():
        deltas[(ev.rep_id, *cell)] += s
    return True


def _insert_all(
    conn: sa.Connection, events: list[ResolvedEvent], now: datetime, ids: list[int]
) -> list[int]:
    """Insert ``events`` (ids: their positions) in one statement per chunk; the positions of
    those that were new, in the order given."""
    stored: set[tuple[str, str]] = set()
    for start in range(0, len(events), _CHUNK):
        chunk = events[start : start + _CHUNK]
        stmt = (
            dialect_insert(conn, EVENT)
            .values([{**_row(ev), "received_at": now} for ev in chunk])
            .on_conflict_do_nothing(index_elements=["source", "event_key"])
            # rowcount is -1 here on psycopg: ask for the rows instead
            .returning(EVENT.c.source, EVENT.c.event_key)
        )
        stored |= {(src, key) for src, key in conn.execute(stmt)}
    return [
        i for i, ev in zip(ids, events, strict=True) if (ev.event.source, ev.event.key) in stored
    ]


#: Events per INSERT (7 parameters each: far below either engine's limit).
_CHUNK = 500


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


def _set_now(conn: sa.Connection, events: list[ResolvedEvent]) -> None:
    """Each rep's present state is the event given for it (the newest stored)."""
    if not events:
        return
    stmt = dialect_insert(conn, NOW)
    names = ("source", "event_key", "state", "reason", "at")
    stmt = stmt.on_conflict_do_update(
        index_elements=["rep_id"], set_={k: stmt.excluded[k] for k in names}
    )
    conn.execute(stmt, [_row(ev) for ev in sorted(events, key=lambda e: e.rep_id)])


def _neighbours(
    conn: sa.Connection, rep_id: int, e: StateEvent
) -> tuple[StateEvent | None, StateEvent | None]:
    """The rep's stored events just before and just after ``e`` in event order."""
    # Text compares by code point, as Python's sort does (event_order): PostgreSQL's default
    # collation would order "~…" and "e9" otherwise, and the totals would drift from a rebuild.
    binary = binary_collation(conn)
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

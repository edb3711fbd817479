"""Recompute hourly totals from the stored calls (and the time in state from the stored agent
events): the check that incremental totals are right."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.floor.agent_state import StateEvent, event_order, totals_of
from app.floor.metrics import CALL_METRICS
from app.ingest.call_sql import contributions, leads_of
from app.ingest.service import CALL, LEAD, TOTAL, Cell, rep_timezones
from app.ingest.states import EVENT as AGENT_EVENT
from app.ingest.states import NOW as AGENT_NOW
from app.ingest.states import STATE_TOTAL
from app.models import METRICS

Values = tuple[int, ...]


def _day_filter(col, day: date | None):
    return col == day if day is not None else sa.true()


def _sums() -> dict[str, sa.ColumnElement]:
    """Each per-call metric as a SQL sum over calls."""
    return {name: sa.func.sum(expr) for name, expr in contributions(CALL).items()}


def recompute(
    conn: sa.Connection, day: date | None = None
) -> tuple[dict[Cell, Values], list[dict]]:
    """Totals per (rep, day, hour) from the calls table, and the lead_day rows behind them."""
    sums = _sums()
    assert tuple(sums) == CALL_METRICS
    q = (
        sa.select(CALL.c.rep_id, CALL.c.local_day, CALL.c.local_hour, *sums.values())
        .where(_day_filter(CALL.c.local_day, day))
        .group_by(CALL.c.rep_id, CALL.c.local_day, CALL.c.local_hour)
    )
    cells: dict[Cell, list[int]] = {}
    lead_metrics = len(METRICS) - len(CALL_METRICS)
    for rep_id, d, h, *vals in conn.execute(q):
        cells[(rep_id, d, h)] = [int(v) for v in vals] + [0] * lead_metrics

    lq = leads_of(CALL)
    if day is not None:
        lq = lq.where(CALL.c.local_day == day)
    leads = []
    i_ld, i_lc = METRICS.index("leads_dialled"), METRICS.index("leads_connected")
    for rep_id, d, ckey, fd, fc in conn.execute(lq):
        leads.append(
            {
                "rep_id": rep_id,
                "day": d,
                "customer_key": ckey,
                "first_dial_hour": fd,
                "first_connect_hour": fc,
            }
        )
        cells[(rep_id, d, fd)][i_ld] += 1
        if fc is not None:
            cells[(rep_id, d, fc)][i_lc] += 1
    return {k: tuple(v) for k, v in cells.items()}, leads


def stored(conn: sa.Connection, day: date | None = None) -> dict[Cell, Values]:
    """The hourly_total table as it is; all-zero cells are left out (they equal a missing cell)."""
    q = sa.select(TOTAL.c.rep_id, TOTAL.c.day, TOTAL.c.hour, *(TOTAL.c[m] for m in METRICS)).where(
        _day_filter(TOTAL.c.day, day)
    )
    return {(r, d, h): tuple(vals) for r, d, h, *vals in conn.execute(q) if any(vals)}


@dataclass
class CellDiff:
    cell: Cell
    stored: Values
    expected: Values


def check(conn: sa.Connection, day: date | None = None) -> list[CellDiff]:
    """Every cell where the stored totals differ from a recomputation from calls."""
    expected = {k: v for k, v in recompute(conn, day)[0].items() if any(v)}
    have = stored(conn, day)
    zero = (0,) * len(METRICS)
    return [
        CellDiff(cell, have.get(cell, zero), expected.get(cell, zero))
        for cell in sorted(set(expected) | set(have))
        if have.get(cell, zero) != expected.get(cell, zero)
    ]


def repair(conn: sa.Connection, day: date | None = None) -> int:
    """Replace stored totals (and lead rows) with the recomputation; returns cells written."""
    expected, leads = recompute(conn, day)
    conn.execute(TOTAL.delete().where(_day_filter(TOTAL.c.day, day)))
    conn.execute(LEAD.delete().where(_day_filter(LEAD.c.day, day)))
    rows = [
        {"rep_id": r, "day": d, "hour": h, **dict(zip(METRICS, v, strict=True))}
        for (r, d, h), v in sorted(expected.items())
    ]
    if rows:
        conn.execute(TOTAL.insert(), rows)
    if leads:
        conn.execute(LEAD.insert(), leads)
    return len(rows)


# --- time in state (agent events) --------------------------------------------------------------

StateKey = tuple[int, date, int, str, str]  # rep, local day, local hour, state, reason


def _events_by_rep(conn: sa.Connection) -> dict[int, list[StateEvent]]:
    events: dict[int, list[StateEvent]] = defaultdict(list)
    q = sa.select(
        AGENT_EVENT.c.rep_id,
        AGENT_EVENT.c.at,
        AGENT_EVENT.c.source,
        AGENT_EVENT.c.event_key,
        AGENT_EVENT.c.state,
        AGENT_EVENT.c.reason,
    )
    for rep_id, *fields in conn.execute(q):
        events[rep_id].append(StateEvent(*fields))
    return events


def recompute_states(conn: sa.Connection, default_tz: ZoneInfo) -> dict[StateKey, int]:
    """Seconds per (rep, day, hour, state, reason) from the stored agent events, each rep's in
    event order (app.floor.agent_state.totals_of), in the rep's schedule timezone."""
    events = _events_by_rep(conn)
    tzs = rep_timezones(conn, set(events), default_tz)
    return {
        (rep_id, *cell): seconds
        for rep_id, evs in events.items()
        for cell, seconds in totals_of(evs, tzs[rep_id]).items()
    }


def stored_states(conn: sa.Connection) -> dict[StateKey, int]:
    """The state_total table as it is; zero cells left out."""
    t = STATE_TOTAL
    q = sa.select(t.c.rep_id, t.c.day, t.c.hour, t.c.state, t.c.reason, t.c.seconds)
    return {(r, d, h, s, why): sec for r, d, h, s, why, sec in conn.execute(q) if sec}


def check_states(
    conn: sa.Connection, default_tz: ZoneInfo, day: date | None = None
) -> list[tuple[StateKey, int, int]]:
    """Every (cell, stored seconds, recounted seconds) where the two differ."""
    stored, expected = stored_states(conn), recompute_states(conn, default_tz)
    cells = sorted(k for k in stored.keys() | expected.keys() if day is None or k[1] == day)
    return [(k, stored.get(k, 0), expected.get(k, 0)) for k in cells
            if stored.get(k, 0) != expected.get(k, 0)]  # fmt: skip


def repair_states(conn: sa.Connection, default_tz: ZoneInfo, day: date | None = None) -> int:
    """Replace the stored time in state with the recount from the events; cells written."""
    expected = {
        k: s for k, s in recompute_states(conn, default_tz).items() if day is None or k[1] == day
    }
    conn.execute(STATE_TOTAL.delete().where(_day_filter(STATE_TOTAL.c.day, day)))
    names = ("rep_id", "day", "hour", "state", "reason")
    rows = [dict(zip(names, k, strict=True), seconds=s) for k, s in sorted(expected.items())]
    if rows:
        conn.execute(STATE_TOTAL.insert(), rows)
    return len(rows)


NowRow = tuple[str, str, str, str, datetime]  # source, event key, state, reason, at


def recompute_now(conn: sa.Connection) -> dict[int, NowRow]:
    """Each rep's present state: their latest event in event order."""
    out: dict[int, NowRow] = {}
    for rep_id, evs in _events_by_rep(conn).items():
        e = max(evs, key=event_order)
        out[rep_id] = (e.source, e.key, e.state, e.reason, e.at)
    return out


def stored_now(conn: sa.Connection) -> dict[int, NowRow]:
    t = AGENT_NOW
    q = sa.select(t.c.rep_id, t.c.source, t.c.event_key, t.c.state, t.c.reason, t.c.at)
    return {rep_id: (src, key, st, why, at) for rep_id, src, key, st, why, at in conn.execute(q)}


def check_now(conn: sa.Connection) -> list[tuple[int, NowRow | None, NowRow | None]]:
    """Every (rep, stored present state, the one the events say) where the two differ."""
    stored, expected = stored_now(conn), recompute_now(conn)
    return [
        (rep_id, stored.get(rep_id), expected.get(rep_id))
        for rep_id in sorted(stored.keys() | expected.keys())
        if _same_now(stored.get(rep_id), expected.get(rep_id)) is False
    ]


def _same_now(a: NowRow | None, b: NowRow | None) -> bool:
    # SQLite hands instants back naive (UTC): compare them as instants.
    if a is None or b is None:
        return a is b
    return a[:4] == b[:4] and _utc(a[4]) == _utc(b[4])


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def repair_now(conn: sa.Connection) -> int:
    """Replace every rep's stored present state with the one the events say; rows written."""
    conn.execute(AGENT_NOW.delete())
    names = ("source", "event_key", "state", "reason", "at")
    rows = [
        {"rep_id": rep_id, **dict(zip(names, row, strict=True))}
        for rep_id, row in sorted(recompute_now(conn).items())
    ]
    if rows:
        conn.execute(AGENT_NOW.insert(), rows)
    return len(rows)

"""Unresolved agents: the bucket of calls whose agent is not on the roster yet.

An identifier the phone system sends that no rep has (extension 8011, a phone-like value that is
kept only as ``#`` + its keyed hash) is an unresolved agent: a rep row without a team. Its calls
are stored and summed, but it is never on the TV, never given targets and never in a floor or
team total. Admins see the bucket (:func:`unresolved_summary`); adding the identifier to a rep
moves its calls to that rep (:func:`claim`), as corrections through the ingest, so totals, leads
and local days follow. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.floor.agent_state import StateEvent, event_order, totals_of
from app.floor.agents import HASHED_AGENT_PREFIX, hashed_agent_code
from app.ingest.batch import apply_batch
from app.ingest.mask import holds_number
from app.ingest.records import Incoming
from app.ingest.service import (
    CALL,
    IDENT,
    REP,
    IngestContext,
    rep_timezones,
)
from app.ingest.states import EVENT, NOW, STATE_TOTAL

#: The tombstone code an unresolved agent takes once a rep has claimed its identifiers.
_CLAIMED = "~claimed-{id}"
_SHOWN = 20


@dataclass(frozen=True, slots=True)
class UnresolvedAgent:
    """One bucket: ``code`` is the identifier when it may be shown, None for a hashed one."""

    code: str | None
    calls: int
    first_call: datetime | None
    last_call: datetime | None


def shown_code(code: str, ctx: IngestContext) -> str | None:
    """An unresolved agent's code as an admin may see it: None for a hashed bucket or a code
    that looks like a phone number (kept by versions before the rule)."""
    if code.startswith(HASHED_AGENT_PREFIX) or holds_number(code):
        return None
    return code


def unresolved_agents(conn: sa.Connection, ctx: IngestContext) -> list[UnresolvedAgent]:
    """Every unresolved agent with calls, most calls first; hashed ones have no code."""
    q = (
        sa.select(
            REP.c.name,
            sa.func.count(CALL.c.id),
            sa.func.min(CALL.c.started_at),
            sa.func.max(CALL.c.started_at),
        )
        .select_from(REP.join(CALL, CALL.c.rep_id == REP.c.id))
        .where(REP.c.team_id.is_(None))
        .group_by(REP.c.id, REP.c.name)
    )
    rows = [
        UnresolvedAgent(shown_code(name, ctx), int(n), first, last)
        for name, n, first, last in conn.execute(q)
    ]
    return sorted(rows, key=lambda a: (-a.calls, a.code is None, a.code or ""))


def unresolved_summary(conn: sa.Connection, ctx: IngestContext) -> dict[str, Any]:
    """The admin's view of the bucket: calls and agents in all, the named agents (most calls
    first), and the calls of agents that could not be named (a phone number stood there)."""
    agents = unresolved_agents(conn, ctx)
    named = [a for a in agents if a.code is not None]
    hashed = [a for a in agents if a.code is None]

    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t is not None else None

    return {
        "calls": sum(a.calls for a in agents),
        "agents": len(agents),
        "named": [
            {
                "code": a.code,
                "calls": a.calls,
                "first_call": iso(a.first_call),
                "last_call": iso(a.last_call),
            }
            for a in named
        ],
        "unnamed_calls": sum(a.calls for a in hashed),
        "unnamed_agents": len(hashed),
    }


def describe(counts: dict[str, int], ctx: IngestContext) -> str | None:
    """An import's unresolved agents in a line: "37 calls from 4 unknown agents: 8011, 8012 …"
    (hashed ones counted, never named); None when there were none."""
    if not counts:
        return None
    calls = sum(counts.values())
    named = sorted(
        (c for c in counts if shown_code(c, ctx) is not None), key=lambda c: (-counts[c], c)
    )
    unnamed = len(counts) - len(named)
    line = f"{calls:,} calls from {len(counts):,} unknown agents"
    if named:
        more = " …" if len(named) > _SHOWN else ""
        line += ": " + ", ".join(named[:_SHOWN]) + more
    if unnamed:
        line += (
            f" (and {unnamed:,} that cannot be named: no agent on the call, or a phone number"
            " where the agent should be)"
        )
    return line


def import_view(counts: dict[str, int], ctx: IngestContext) -> dict[str, Any]:
    """An import's unresolved agents for its JSON answer: totals, the codes that may be shown
    (most calls first) and the line :func:`describe` prints."""
    named = sorted(
        (c for c in counts if shown_code(c, ctx) is not None), key=lambda c: (-counts[c], c)
    )
    return {
        "calls": sum(counts.values()),
        "agents": len(counts),
        "named": [{"code": c, "calls": counts[c]} for c in named],
        "summary": describe(counts, ctx),
    }


@dataclass(frozen=True)
class Claimed:
    """What unresolved agents held when a rep claimed their identifiers: their calls, and the
    agents themselves (whose agent-state events follow the calls)."""

    calls: list[tuple[str, str]]
    agents: list[int]

    def __bool__(self) -> bool:
        return bool(self.calls or self.agents)


def claim(
    conn: sa.Connection,
    *,
    rep_code: str,
    identifiers: list[str],
    ctx: IngestContext,
    now: datetime,
    release_only: bool = False,
) -> Claimed:
    """Free ``identifiers`` (and the hashed forms of phone-like ones) held by unresolved agents
    so a rep can take them; returns what those agents had. With ``release_only`` it is returned
    for :func:`hand_over` after the rep exists; else it moves to ``rep_code`` now.
    """
    wanted = {i.strip() for i in identifiers if i and i.strip()}
    wanted |= {hashed_agent_code(i, ctx.hasher) for i in wanted if holds_number(i)}
    if not wanted:
        return Claimed([], [])
    owners = sorted(
        set(
            conn.execute(
                sa.select(IDENT.c.rep_id)
                .join(REP, REP.c.id == IDENT.c.rep_id)
                .where(IDENT.c.identifier.in_(sorted(wanted)), REP.c.team_id.is_(None))
            ).scalars()
        )
    )
    if not owners:
        return Claimed([], [])
    # Identifiers first: on PostgreSQL the delete waits for every ingest that resolved a call
    # through them (they hold a key-share lock to commit), so the calls read next are all of
    # them, and later ingests find the identifiers gone. The agent row stays (its name still
    # says what it was) so no write that found it fails; its code is freed for the rep.
    conn.execute(IDENT.delete().where(IDENT.c.rep_id.in_(owners)))
    for rep_id in owners:
        conn.execute(REP.update().where(REP.c.id == rep_id).values(code=_CLAIMED.format(id=rep_id)))
    calls = [
        (source, external_id)
        for source, external_id in conn.execute(
            sa.select(CALL.c.source, CALL.c.external_id)
            .where(CALL.c.rep_id.in_(owners))
            .order_by(CALL.c.id)
        )
    ]
    claimed = Claimed(calls, owners)
    if not release_only:
        hand_over(conn, claimed, rep_code=rep_code, ctx=ctx, now=now)
    return claimed


def hand_over(
    conn: sa.Connection, claimed: Claimed, *, rep_code: str, ctx: IngestContext, now: datetime
) -> None:
    """Give what unresolved agents held to the rep ``rep_code``: their calls, their events."""
    if claimed.calls:
        move_calls(conn, claimed.calls, rep_code=rep_code, ctx=ctx, now=now)
    if claimed.agents:
        rep_id = conn.execute(sa.select(REP.c.id).where(REP.c.code == rep_code)).scalar_one()
        move_events(conn, claimed.agents, rep_id, ctx.default_tz)


def move_events(conn: sa.Connection, agents: list[int], rep_id: int, default_tz: ZoneInfo) -> int:
    """Give the agents' state events to ``rep_id`` and recount that rep's time in state and
    present state from all their events (their own and the ones moved); events moved."""
    moved = conn.execute(
        EVENT.update().where(EVENT.c.rep_id.in_(agents)).values(rep_id=rep_id)
    ).rowcount
    if not moved:
        return 0
    everyone = [*agents, rep_id]
    conn.execute(STATE_TOTAL.delete().where(STATE_TOTAL.c.rep_id.in_(everyone)))
    conn.execute(NOW.delete().where(NOW.c.rep_id.in_(everyone)))
    cols = (EVENT.c.at, EVENT.c.source, EVENT.c.event_key, EVENT.c.state, EVENT.c.reason)
    events = [
        StateEvent(*r) for r in conn.execute(sa.select(*cols).where(EVENT.c.rep_id == rep_id))
    ]
    tz = rep_timezones(conn, {rep_id}, default_tz)[rep_id]
    names = ("day", "hour", "state", "reason")
    rows = [
        {"rep_id": rep_id, **dict(zip(names, cell, strict=True)), "seconds": s}
        for cell, s in sorted(totals_of(events, tz).items())
    ]
    if rows:
        conn.execute(STATE_TOTAL.insert(), rows)
    last = max(events, key=event_order)
    conn.execute(
        NOW.insert(),
        {"rep_id": rep_id, "source": last.source, "event_key": last.key, "state": last.state,
         "reason": last.reason, "at": last.at},
    )  # fmt: skip
    return moved


def move_calls(
    conn: sa.Connection,
    calls: list[tuple[str, str]],
    *,
    rep_code: str,
    ctx: IngestContext,
    now: datetime,
) -> int:
    """Give ``calls`` to the rep ``rep_code`` (on the roster) as corrections through the ingest:
    totals move by the difference, local days follow the rep's timezone, leads are recounted."""
    items = [
        Incoming(i, source, call_id, None, {"rep": rep_code})
        for i, (source, call_id) in enumerate(calls)
    ]
    # Stored calls are moved, never judged again: a call the server's clock saw as on time
    # when it came stays stored whatever that clock says now.
    ctx = replace(ctx, max_future=None)
    moved = 0
    for start in range(0, len(items), 2000):
        chunk = items[start : start + 2000]
        outcome = apply_batch(conn, chunk, ctx=ctx, now=now, require_existing=True)
        moved += sum(1 for r in outcome.results if r.status == "updated")
    return moved

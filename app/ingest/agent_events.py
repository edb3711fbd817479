"""Agent-state events in: validated like calls, stored once, and the time in state moved by the
difference each one makes (app.floor.agent_state), whatever order they arrive in.

A record is ``{source?, event_id?, rep, state, reason?, at}``. Without an ``event_id`` a digest
of its content is its identity, so a resent event is a duplicate. ``at`` keeps whole seconds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.floor.agent_state import State, StateEvent
from app.floor.pacing import FIRST_DAY, LAST_DAY
from app.ingest.records import (
    CustomerHasher,
    Incoming,
    Invalid,
    no_nul,
    printable_id,
    scrub,
    validation_errors,
)
from app.ingest.service import rep_timezones, resolve_agents
from app.ingest.states import ResolvedEvent, store_events
from app.models import IngestReject, table_of

REJECT = table_of(IngestReject)

Short = Annotated[str, Field(min_length=1, max_length=100)]


class AgentEventRecord(BaseModel):
    """One event posted to ``/api/v1/agent-events``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    source: Short | None = None
    event_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    rep: Short
    state: State
    reason: Annotated[str, Field(max_length=40)] | None = None
    at: AwareDatetime

    @field_validator("event_id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return no_nul(str(v) if isinstance(v, int) and not isinstance(v, bool) else v)

    @field_validator("source", "rep", "reason", mode="before")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        return no_nul(v)

    @field_validator("at")
    @classmethod
    def _in_range(cls, v: datetime) -> datetime:
        if not FIRST_DAY.year <= v.year <= LAST_DAY.year:
            raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
        return v


@dataclass(slots=True)
class EventIn:
    """A valid event, normalised: UTC whole seconds, the reason only on a pause."""

    index: int
    source: str
    key: str
    rep: str
    event: StateEvent
    raw: Any = None


def event_key(rep: str, state: str, reason: str, at: datetime) -> str:
    """The identity of an event sent without an ``event_id``: its content."""
    digest = hashlib.sha256(f"{rep}\x1f{state}\x1f{reason}\x1f{at.isoformat()}".encode())
    return "~" + digest.hexdigest()[:40]


def parse_event(raw: Any, index: int, *, default_source: str) -> EventIn | Invalid:
    """Validate one posted event; never raises."""
    source = default_source
    if isinstance(raw, dict) and isinstance(raw.get("source"), str) and raw["source"].strip():
        source = printable_id(raw["source"].strip()[:100]) or default_source
    shown_id = raw.get("event_id") if isinstance(raw, dict) else None
    shown = printable_id(str(shown_id)[:200]) if shown_id is not None else None
    try:
        model = AgentEventRecord.model_validate(raw)
    except ValidationError as exc:
        return Invalid(index, source, shown, validation_errors(exc), raw)
    at = model.at.astimezone(UTC).replace(microsecond=0)
    reason = (model.reason or "") if model.state == "paused" else ""
    key = model.event_id or event_key(model.rep, model.state, reason, at)
    source = model.source or default_source
    return EventIn(
        index, source, key, model.rep, StateEvent(at, source, key, model.state, reason), raw
    )


def held_event_to_source(item: EventIn | Invalid, source: str | None) -> EventIn | Invalid:
    """``item``, or an :class:`Invalid` when it names a source other than ``source`` (a token
    made for one phone system writes that system's events only; None: any source)."""
    if source is None or item.source == source:
        return item
    key = item.key if isinstance(item, EventIn) else item.call_id
    reason = f"this token writes the events of source '{source}' only"
    return Invalid(item.index, item.source, key, [{"field": "source", "reason": reason}], item.raw)


@dataclass
class EventOutcome:
    """Per event: created, duplicate or rejected (with the field and reason); the reps whose
    state or time in state moved."""

    results: list[dict[str, Any]] = field(default_factory=list)
    reps: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("created", "duplicate", "rejected"), 0)
        for r in self.results:
            out[r["status"]] += 1
        return out


def apply_events(
    conn: sa.Connection,
    items: list[EventIn | Invalid],
    *,
    hasher: CustomerHasher,
    default_tz: Any,
    now: datetime,
) -> EventOutcome:
    """Store the valid events once each and move ``state_total`` by what each changes; reject
    the rest (kept in ``ingest_reject``, numbers masked). One transaction: the caller's."""
    outcome = EventOutcome()
    valid = [it for it in items if isinstance(it, EventIn)]
    # The rep as calls resolve it: a rep on the roster by any of their identifiers, else an
    # unresolved agent; a value that looks like a phone number never becomes one.
    as_calls = {
        id(it): Incoming(it.index, it.source, it.key, None, {"rep": it.rep}) for it in valid
    }
    agents = resolve_agents(conn, list(as_calls.values()), now, hasher)
    rep_ids: dict[int, int] = {}
    for it in items:
        if isinstance(it, Invalid):
            _reject(conn, outcome, it.index, it.source, it.call_id, it.errors, it.raw, hasher, now)
            continue
        agent = agents[id(as_calls[id(it)])]
        if agent.reason is not None:
            errors = [{"field": "rep", "reason": agent.reason.split(": ", 1)[-1]}]
            _reject(conn, outcome, it.index, it.source, it.key, errors, it.raw, hasher, now)
            continue
        rep_ids[id(it)] = agent.rep_id
    tzs = rep_timezones(conn, set(rep_ids.values()), default_tz)
    stored = [it for it in valid if id(it) in rep_ids]
    events = [ResolvedEvent(rep_ids[id(it)], it.event) for it in stored]
    for it, ev, new in zip(stored, events, store_events(conn, events, tzs, now), strict=True):
        status = "created" if new else "duplicate"
        outcome.results.append({"index": it.index, "event_id": it.key, "status": status})
        if new:
            outcome.reps.add(ev.rep_id)
    outcome.results.sort(key=lambda r: r["index"])
    return outcome


def _reject(
    conn: sa.Connection,
    outcome: EventOutcome,
    index: int,
    source: str,
    event_id: str | None,
    errors: list[dict[str, str]],
    raw: Any,
    hasher: CustomerHasher,
    now: datetime,
) -> None:
    outcome.results.append(
        {"index": index, "event_id": event_id, "status": "rejected", "errors": errors}
    )
    conn.execute(
        REJECT.insert(),
        {
            "source": source,
            "call_id": event_id,
            "payload": orjson.dumps(scrub(raw, hasher), default=str).decode(),
            "errors": orjson.dumps(errors).decode(),
            "received_at": now,
        },
    )

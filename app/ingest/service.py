"""Apply a batch of records to the calls table and the hourly totals, in the caller's transaction.

Per (source, call_id) a record updates only the fields it carries. Totals move by the difference
between a call's old and new contribution, so a correction never counts twice. The caller
(the group-commit writer, an import, a test) owns the transaction; nothing here commits.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa

from app.floor.agent_state import StateEvent
from app.floor.agents import HASHED_AGENT_PREFIX, hashed_agent_code
from app.floor.leads import FirstHours, merge_first_hours
from app.floor.metrics import CALL_METRICS, contribution, counts_as_lead
from app.ingest.call_sql import leads_of
from app.ingest.mask import holds_number
from app.ingest.records import (
    CONTENT_FIELDS,
    CREATE_DEFAULTS,
    CustomerHasher,
    Incoming,
    Invalid,
    scrub,
)
from app.ingest.sql import (
    INSERT_COLS,
    LeadKey,
    add_to_totals,
    advance_last_dials,
    dialect_insert,
    insert_calls,
    lock_leads,
    locked,
    stored_call_ids,
    stored_leads,
    write_leads,
)
from app.ingest.states import CALL_SOURCE, ResolvedEvent, store_events
from app.models import (
    METRICS,
    Call,
    HourlyTotal,
    IngestReject,
    LeadDay,
    Rep,
    RepIdentifier,
    Schedule,
    Team,
    table_of,
)

CALL = table_of(Call)
TOTAL = table_of(HourlyTotal)
LEAD = table_of(LeadDay)
REJECT = table_of(IngestReject)
REP = table_of(Rep)
IDENT = table_of(RepIdentifier)
TEAM = table_of(Team)
SCHEDULE = table_of(Schedule)

# contribution() fills the first metrics of a totals row, in this order.
assert METRICS[: len(CALL_METRICS)] == CALL_METRICS
_CHUNK = 400
# The call's content as stored: the record's fields with the rep resolved to its id.
STORED_CONTENT = tuple("rep_id" if f == "rep" else f for f in CONTENT_FIELDS)

Cell = tuple[int, date, int]  # (rep_id, local day, local hour)
CallKey = tuple[str, str]  # (source, external id)


@dataclass(slots=True)
class RecordResult:
    index: int
    call_id: str | None
    status: str  # created | updated | duplicate | stale | rejected | not_found
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"index": self.index, "call_id": self.call_id, "status": self.status}
        if self.errors:
            d["errors"] = self.errors
        return d


@dataclass(frozen=True)
class Sale:
    """A call that became a sale: whose, on which local day, for how much (minor units)."""

    rep_id: int
    day: date
    amount: int
    orders: int = 1


@dataclass
class BatchOutcome:
    """What a committed batch did: a result per record, and what it changed for the live
    screens (the ``TotalsChanged`` of the design: cells, reps whose last dial moved, sales)."""

    results: list[RecordResult]
    changed_cells: set[Cell]
    #: Unresolved agents' bucket codes → records of theirs stored (created or updated).
    unresolved: dict[str, int] = field(default_factory=dict)
    #: (rep id, local day) whose last dial may have moved, even where no total did.
    touched: set[tuple[int, date]] = field(default_factory=set)
    #: Calls that became sales in this batch (created as one, or updated into one).
    sales: list[Sale] = field(default_factory=list)
    #: Reps whose agent state a call in progress (or its completion) moved.
    states: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("created", "updated", "duplicate", "stale", "rejected"), 0)
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


@dataclass(frozen=True)
class IngestContext:
    default_tz: ZoneInfo
    hasher: CustomerHasher
    #: A call starting further than this ahead of the server's clock is refused: a phone system
    #: with a wrong clock would otherwise fill tomorrow's board. None: no limit.
    max_future: timedelta | None = timedelta(minutes=5)
    #: Batches of this many records or more take the set-based path (app.ingest.bulk).
    bulk_from: int = 200


def context_for(settings: Any) -> IngestContext:
    """The ingest context of the floor's settings (timezone, customer hash, clock-skew limit)."""
    return IngestContext(
        default_tz=settings.tz,
        hasher=CustomerHasher(settings.secret_key, settings.customer_country_code),
        max_future=timedelta(minutes=settings.max_future_minutes),
    )


def _chunks(seq: Sequence[Any], n: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def consistency_errors(
    row: dict[str, Any], now: datetime | None = None, max_future: timedelta | None = None
) -> list[dict[str, str]]:
    """Cross-field checks on a call's merged state (a PATCH can break them as well as a POST);
    with ``now`` and ``max_future``, a start further in the future than that is refused."""
    errs = []
    if now is not None and max_future is not None and row["started_at"] > now + max_future:
        ahead = (row["started_at"] - now).total_seconds() / 60
        errs.append(
            {
                "field": "started_at",
                "reason": f"is {ahead:.0f} minutes ahead of the server's clock (more than "
                f"{max_future.total_seconds() / 60:.0f} allowed): check the phone system's clock",
            }
        )
    started, answered, ended = row["started_at"], row.get("answered_at"), row.get("ended_at")
    if answered is not None and answered < started:
        errs.append({"field": "answered_at", "reason": "is before started_at"})
    if ended is not None and ended < started:
        errs.append({"field": "ended_at", "reason": "is before started_at"})
    elif ended is not None and answered is not None and ended < answered:
        errs.append({"field": "ended_at", "reason": "is before answered_at"})
    return errs


@dataclass(frozen=True, slots=True)
class Agent:
    """Where one record's calls go: a rep on the roster, or an unresolved agent's bucket."""

    rep_id: int
    #: None on the roster; else the bucket's code (the identifier, or ``#`` + hash prefix).
    unresolved: str | None = None
    #: Why the identifier could not be a rep (names the column, never the value).
    reason: str | None = None


def _agent_reason(
    item: Incoming, hasher: CustomerHasher, memo: dict[str, tuple[bool, str | None]]
) -> str | None:
    """Why the record's rep value may never become a rep (None: it may, as unresolved).
    ``memo`` keeps each code's (looks like a phone, hash): batches repeat their codes."""
    code = item.fields["rep"]
    if code.startswith(HASHED_AGENT_PREFIX):
        return f"{item.rep_column}: no agent on this call"
    seen = memo.get(code)
    if seen is None:
        phone = holds_number(code)
        seen = memo[code] = (phone, hasher(code) if any(ch.isdigit() for ch in code) else None)
    phone, code_key = seen
    key = item.fields.get("customer_key")
    if key is not None and code_key == key:
        return f"{item.rep_column}: is the other party of the call, not an agent"
    if phone:
        return f"{item.rep_column}: looks like a phone number, not an agent"
    return None


#: How many agent codes' facts a hasher keeps before starting afresh.
_CODES_KEPT = 100_000


def resolve_agents(
    conn: sa.Connection,
    items: Sequence[Incoming],
    now: datetime,
    hasher: CustomerHasher,
    *,
    create: bool = True,
) -> dict[int, Agent]:
    """Each record's agent, by ``id()`` of the item (a group commit folds requests whose items
    share index numbers).

    A rep on the roster when the identifier is one of theirs (a phone-like line also by its
    hash, so every spelling of a rep's line finds them); else an unresolved agent (created on
    first sight unless ``create`` is False, with no team): the identifier itself when it may be
    an extension or agent id, ``#`` + its keyed hash when it looks like a phone number or is the
    call's other party, even when an older version kept it under the number itself.
    """
    codes = sorted({it.fields["rep"] for it in items if "rep" in it.fields})
    found = _identifier_owners(conn, codes)
    on_roster = _on_roster(conn, set(found.values()))
    bucket: dict[int, tuple[str, str | None]] = {}
    memo = hasher.agent_codes
    if len(memo) > _CODES_KEPT:
        memo.clear()
    for it in items:
        code = it.fields.get("rep")
        if code is None or found.get(code) in on_roster:
            continue
        reason = _agent_reason(it, hasher, memo)
        hashed = reason is not None and not code.startswith(HASHED_AGENT_PREFIX)
        bucket[id(it)] = (hashed_agent_code(code, hasher) if hashed else code, reason)
    wanted = sorted({b for b, _ in bucket.values()} - set(found))
    if wanted:
        more = _identifier_owners(conn, wanted)
        on_roster |= _on_roster(conn, set(more.values()))
        found.update(more)
        missing = [c for c in wanted if c not in found]
        if missing and create:
            found.update(_create_unresolved(conn, missing, now))
    # One Agent per rep on the roster, shared by its records (the common case, kept cheap).
    roster_agent = {c: Agent(r) for c, r in found.items() if r in on_roster}
    out: dict[int, Agent] = {}
    for it in items:
        code = it.fields.get("rep")
        if code is None:
            continue
        known = roster_agent.get(code)
        if known is not None:
            out[id(it)] = known
            continue
        where, reason = bucket.get(id(it), (code, None))
        rep_id = found.get(where, 0)  # 0: not created (strict), rejected before it is used
        if rep_id in on_roster:
            out[id(it)] = Agent(rep_id)
        else:
            out[id(it)] = Agent(rep_id, where, reason)
    return out


# Built once, with the lists bound at execution: a batch of thousands of agents would
# otherwise pay for a statement built value by value, three times.
_CODES: sa.BindParameter[Any] = sa.bindparam("codes", expanding=True)
_IDENTIFIER_OWNERS = sa.select(IDENT.c.identifier, IDENT.c.rep_id).where(
    IDENT.c.identifier.in_(_CODES)
)
_ON_ROSTER = sa.select(REP.c.id).where(REP.c.id.in_(_CODES), REP.c.team_id.is_not(None))
_REP_TIMEZONES = (
    sa.select(REP.c.id, SCHEDULE.c.timezone)
    .select_from(
        # An unresolved agent has no team: the floor's timezone.
        REP.outerjoin(TEAM, REP.c.team_id == TEAM.c.id).outerjoin(
            SCHEDULE, TEAM.c.schedule_id == SCHEDULE.c.id
        )
    )
    .where(REP.c.id.in_(_CODES))
)


def _identifier_owners(conn: sa.Connection, codes: Sequence[str]) -> dict[str, int]:
    # Held to commit on PostgreSQL: a rep claiming an unresolved agent's identifier (which
    # deletes the row) waits for calls resolved through it, so none lands behind its back.
    q = locked(conn, _IDENTIFIER_OWNERS, key_share=True, read=True)
    found: dict[str, int] = {}
    for chunk in _chunks(codes):
        found.update(conn.execute(q, {"codes": list(chunk)}).all())
    return found


def _on_roster(conn: sa.Connection, rep_ids: set[int]) -> set[int]:
    """The ids among ``rep_ids`` of reps on the roster (with a team)."""
    out: set[int] = set()
    for chunk in _chunks(sorted(rep_ids)):
        out.update(conn.execute(_ON_ROSTER, {"codes": list(chunk)}).scalars())
    return out


def _create_unresolved(conn: sa.Connection, codes: list[str], now: datetime) -> dict[str, int]:
    """Unresolved agents for ``codes`` (no team); safe against a concurrent creator."""
    # A first import can bring hundreds of unknown agents: create them in a few statements.
    conn.execute(
        dialect_insert(conn, REP).on_conflict_do_nothing(index_elements=["code"]),
        [{"code": c, "name": c, "team_id": None, "active": True, "created_at": now} for c in codes],
    )
    rep_ids: dict[str, int] = {}
    for chunk in _chunks(codes):
        rep_ids.update(
            conn.execute(sa.select(REP.c.code, REP.c.id).where(REP.c.code.in_(chunk))).all()
        )
    conn.execute(
        dialect_insert(conn, IDENT).on_conflict_do_nothing(index_elements=["identifier"]),
        [{"identifier": c, "rep_id": rep_ids[c]} for c in codes],
    )
    return _identifier_owners(conn, codes)


def rep_timezones(conn: sa.Connection, rep_ids: set[int], default: ZoneInfo) -> dict[int, ZoneInfo]:
    """Each rep's schedule timezone (their team's, else the floor's)."""
    out: dict[int, ZoneInfo] = {}
    for chunk in _chunks(sorted(rep_ids)):
        for rep_id, tz in conn.execute(_REP_TIMEZONES, {"codes": list(chunk)}):
            out[rep_id] = ZoneInfo(tz) if tz else default
    return out


def _load_calls(conn: sa.Connection, keys: list[CallKey]) -> dict[CallKey, dict]:
    by_source: dict[str, list[str]] = {}
    for source, call_id in keys:
        by_source.setdefault(source, []).append(call_id)
    out = {}
    for source, ids in sorted(by_source.items()):
        for chunk in _chunks(sorted(ids), 900):
            # Most posted calls are new: a bare probe of the unique index finds the few that
            # exist, and only those pay for a full, typed (and on PostgreSQL locked) read.
            found = stored_call_ids(conn, source, chunk)
            if not found:
                continue
            q = sa.select(CALL).where(CALL.c.source == source, CALL.c.external_id.in_(found))
            # Two processes applying revisions of one call serialise here, not in the totals.
            q = locked(conn, q)
            for row in conn.execute(q).mappings():
                out[(row["source"], row["external_id"])] = dict(row)
    return out


def reject_row(
    item: Incoming | Invalid, errors: list[dict[str, str]], hasher: CustomerHasher, now: datetime
) -> dict[str, Any]:
    """The ingest_reject row kept for a rejected record (its payload scrubbed of numbers)."""
    return {
        "source": item.source,
        "call_id": item.call_id,
        "payload": orjson.dumps(scrub(item.raw, hasher), default=str).decode(),
        "errors": orjson.dumps(errors).decode(),
        "received_at": now,
    }


Verdict = Literal["stale", "conflict", "duplicate", "bump", "update"]


def verdict(revision: int | None, stored_revision: int | None, differs: bool) -> Verdict:
    """What a record does to the stored call of its key: the revision rules of both paths.

    ``stale``: an older revision; ``conflict``: the stored revision with other content;
    ``duplicate``: the content is stored (``bump``: with a newer revision to keep);
    ``update``: new content.
    """
    stored = stored_revision or 0
    if revision is not None and revision < stored:
        return "stale"
    if revision is not None and revision == stored and differs:
        return "conflict"
    if not differs:
        return "bump" if revision is not None and revision > stored else "duplicate"
    return "update"


def conflict_error(revision: int | None) -> dict[str, str]:
    return {"field": "revision", "reason": f"revision {revision} is stored with other content"}


def _add(deltas: dict[Cell, list[int]], cell: Cell, values: Sequence[int], sign: int) -> None:
    acc = deltas.get(cell)
    if acc is None:
        acc = deltas[cell] = [0] * len(METRICS)
    for i, v in enumerate(values):
        acc[i] += sign * v


@dataclass(frozen=True)
class BatchOptions:
    """How one batch is stored (:func:`app.ingest.batch.apply_batch` says what each means)."""

    ctx: IngestContext
    now: datetime
    require_existing: bool = False
    strict_agents: bool = False


def apply_each(
    conn: sa.Connection, items: Sequence[Incoming | Invalid], opts: BatchOptions
) -> BatchOutcome:
    """The per-record path of :func:`apply_batch`: each record judged and merged in Python."""
    valid = [it for it in items if isinstance(it, Incoming)]
    with_rep = [it for it in valid if "rep" in it.fields]
    ctx = opts.ctx
    agents = resolve_agents(conn, with_rep, opts.now, ctx.hasher, create=not opts.strict_agents)
    stored = _load_calls(conn, list(dict.fromkeys((it.source, it.call_id) for it in valid)))
    tz_reps = {a.rep_id for a in agents.values()} | {c["rep_id"] for c in stored.values()}
    tzs = rep_timezones(conn, tz_reps, ctx.default_tz) if tz_reps else {}
    batch = _EachBatch(opts, tzs, stored)
    # One result per item, in input order.
    results = [batch.apply(item, agents.get(id(item))) for item in items]
    return _write_each(conn, batch, results)


class _EachBatch:
    """A per-record batch as it is judged record by record: the calls as they now stand and
    what they change, written by :func:`_write_each` once every record is judged."""

    def __init__(
        self, opts: BatchOptions, tzs: dict[int, ZoneInfo], stored: dict[CallKey, dict]
    ) -> None:
        self.opts = opts
        self.tzs = tzs
        self.state = stored  # (source, call id) -> the call's row, created ones included
        self.new_keys: set[CallKey] = set()
        self.dirty: set[CallKey] = set()
        self.deltas: dict[Cell, list[int]] = {}
        self.sales: list[Sale] = []
        self.lead_created: dict[LeadKey, FirstHours] = {}
        self.lead_recount: set[LeadKey] = set()
        self.last_dial: dict[tuple[int, date], datetime] = {}  # (rep, day) -> latest start
        self.in_call: list[ResolvedEvent] = []  # a call's start (posted without an end), its end
        self.unresolved: dict[str, int] = {}
        self.rejects: list[dict[str, Any]] = []

    def apply(self, item: Incoming | Invalid, agent: Agent | None) -> RecordResult:
        """Judge one record against its call as it stands; what it did."""
        if isinstance(item, Invalid):
            return self.reject(item, item.errors)
        fields = dict(item.fields)
        if agent is not None:
            if agent.unresolved is not None and self.opts.strict_agents:
                return self.reject(item, [not_on_roster(item, agent)])
            del fields["rep"]
            fields["rep_id"] = agent.rep_id
        cur = self.state.get((item.source, item.call_id))
        if cur is not None:
            return self.update(item, cur, fields, agent)
        if self.opts.require_existing:
            return RecordResult(item.index, item.call_id, "not_found")
        return self.create(item, fields, agent)

    def reject(self, item: Incoming | Invalid, errors: list[dict[str, str]]) -> RecordResult:
        self.rejects.append(reject_row(item, errors, self.opts.ctx.hasher, self.opts.now))
        return RecordResult(item.index, item.call_id, "rejected", errors)

    def create(self, item: Incoming, fields: dict[str, Any], agent: Agent | None) -> RecordResult:
        """A new call: stored at the end, its contribution and lead counted."""
        now = self.opts.now
        row = {**CREATE_DEFAULTS, **fields}
        errs = consistency_errors(row, now, self.opts.ctx.max_future)
        if errs:
            return self.reject(item, errs)
        row.update(
            source=item.source,
            external_id=item.call_id,
            revision=item.revision,
            received_at=now,
            updated_at=now,
        )
        self.place(row)
        self.touch(row)
        if row["outcome"] == "sale":
            self.sales.append(Sale(row["rep_id"], row["local_day"], row["order_value"]))
        key = (item.source, item.call_id)
        self.state[key] = row
        self.new_keys.add(key)
        cell = (row["rep_id"], row["local_day"], row["local_hour"])
        _add(self.deltas, cell, contribution(row), 1)
        if counts_as_lead(row):
            lk = (row["rep_id"], row["local_day"], row["customer_key"])
            hour = row["local_hour"]
            hours = (hour, hour if row["disposition"] == "answered" else None)
            seen = self.lead_created.get(lk)
            self.lead_created[lk] = hours if seen is None else merge_first_hours(seen, hours)
        count_unresolved(self.unresolved, agent)
        if in_progress(row, fields, now):
            self.in_call.append(call_event(row, "on_call", row["started_at"], "start"))
        return RecordResult(item.index, item.call_id, "created")

    def update(
        self, item: Incoming, cur: dict[str, Any], fields: dict[str, Any], agent: Agent | None
    ) -> RecordResult:
        """A record of a stored (or earlier posted) call: the revision rules, then the merge."""
        differs = any(cur[k] != v for k, v in fields.items())
        judged = verdict(item.revision, cur["revision"], differs)
        key = (item.source, item.call_id)
        if judged == "stale":
            return RecordResult(item.index, item.call_id, "stale")
        if judged == "conflict":
            return self.reject(item, [conflict_error(item.revision)])
        if judged in ("duplicate", "bump"):
            if judged == "bump":
                cur["revision"] = item.revision
                self.dirty.add(key)
            return RecordResult(item.index, item.call_id, "duplicate")
        now = self.opts.now
        new = {**cur, **fields}
        errs = consistency_errors(new, now, self.opts.ctx.max_future)
        if errs:
            return self.reject(item, errs)
        if item.revision is not None:
            new["revision"] = item.revision
        new["updated_at"] = now
        self.place(new)
        self.touch(new)
        if new["outcome"] == "sale" and cur["outcome"] != "sale":
            self.sales.append(Sale(new["rep_id"], new["local_day"], new["order_value"]))
        deltas = self.deltas
        _add(deltas, (cur["rep_id"], cur["local_day"], cur["local_hour"]), contribution(cur), -1)
        _add(deltas, (new["rep_id"], new["local_day"], new["local_hour"]), contribution(new), 1)
        for r in (cur, new):
            if r["customer_key"]:
                self.lead_recount.add((r["rep_id"], r["local_day"], r["customer_key"]))
        self.state[key] = new
        self.dirty.add(key)
        if cur.get("ended_at") is None and new.get("ended_at") is not None:
            self.in_call.append(call_event(new, "available", new["ended_at"], "end"))
        count_unresolved(self.unresolved, agent)
        return RecordResult(item.index, item.call_id, "updated")

    def place(self, row: dict[str, Any]) -> None:
        """Set the call's local day and hour (in its rep's timezone)."""
        local = row["started_at"].astimezone(self.tzs[row["rep_id"]])
        row["local_day"], row["local_hour"] = local.date(), local.hour

    def touch(self, row: dict[str, Any]) -> None:
        """Move the rep's last dial of the day to this call's start, if later."""
        if row["direction"] != "outbound":
            return  # the last *dial* (idle alerts, the console): calls made, as dials count
        k = (row["rep_id"], row["local_day"])
        seen = self.last_dial.get(k)
        if seen is None or row["started_at"] > seen:
            self.last_dial[k] = row["started_at"]


def _write_each(
    conn: sa.Connection, batch: _EachBatch, results: list[RecordResult]
) -> BatchOutcome:
    """Write what a judged per-record batch changed; its outcome."""
    _write_calls(conn, batch.state, batch.new_keys, batch.dirty - batch.new_keys)
    if batch.lead_created or batch.lead_recount:
        moves = _apply_lead_changes(conn, batch.lead_created, batch.lead_recount)
        for cell, values in moves.items():
            _add(batch.deltas, cell, values, 1)
    changed = _apply_deltas(conn, batch.deltas)
    if batch.last_dial:
        advance_last_dials(conn, [(*k, v) for k, v in sorted(batch.last_dial.items())])
    if batch.rejects:
        conn.execute(REJECT.insert(), batch.rejects)
    opts = batch.opts
    moved = store_call_states(conn, batch.in_call, opts.ctx.default_tz, opts.now)
    return BatchOutcome(
        results, changed, batch.unresolved, set(batch.last_dial), batch.sales, moved
    )


#: A call without an end that started longer ago than this is history, not a call in progress.
IN_PROGRESS_HOURS = 4


def in_progress(row: dict[str, Any], fields: dict[str, Any], now: datetime) -> bool:
    """Whether a new call is one still going on: answered, no end and no talk time said, and
    started within the last :data:`IN_PROGRESS_HOURS` (an export's sparse rows are not)."""
    return (
        row.get("ended_at") is None
        and "talk_seconds" not in fields
        and row["disposition"] == "answered"
        and row["started_at"] >= now - timedelta(hours=IN_PROGRESS_HOURS)
    )


def call_event(row: dict[str, Any], state: str, at: datetime, edge: str) -> ResolvedEvent:
    """The state a call's start (on a call) or end (ready again) puts its rep in."""
    key = f"{row['source']}/{row['external_id']}/{edge}"
    at = at.astimezone(UTC).replace(microsecond=0)
    return ResolvedEvent(row["rep_id"], StateEvent(at, CALL_SOURCE, key, state))


def store_call_states(
    conn: sa.Connection, events: list[ResolvedEvent], default_tz: ZoneInfo, now: datetime
) -> set[int]:
    """Store what calls in progress say of their reps' state; the reps it moved."""
    if not events:
        return set()
    tzs = rep_timezones(conn, {e.rep_id for e in events}, default_tz)
    created = store_events(conn, events, tzs, now)
    return {e.rep_id for e, new in zip(events, created, strict=True) if new}


def count_unresolved(counts: dict[str, int], agent: Agent | None) -> None:
    if agent is not None and agent.unresolved is not None:
        counts[agent.unresolved] = counts.get(agent.unresolved, 0) + 1


def not_on_roster(item: Incoming, agent: Agent) -> dict[str, str]:
    """The strict import's reason: names the column, and the identifier only when it may be
    shown (an extension or agent id, never a phone number)."""
    if agent.reason is not None:
        column, _, reason = agent.reason.partition(": ")
        return {"field": column, "reason": reason}
    if agent.unresolved is None or agent.unresolved.startswith(HASHED_AGENT_PREFIX):
        return {"field": item.rep_column, "reason": "no agent on this call"}
    return {
        "field": item.rep_column,
        "reason": f"'{agent.unresolved}' is no rep's identifier (add it to a rep in the roster)",
    }


_INSERT_ROW = operator.itemgetter(*INSERT_COLS)


def _write_calls(conn, state, new_keys, updated_keys) -> None:
    if new_keys:
        insert_calls(conn, [_INSERT_ROW(state[k]) for k in new_keys])
    if updated_keys:
        cols = [*STORED_CONTENT, "revision", "local_day", "local_hour", "updated_at"]
        stmt = (
            CALL.update()
            .where(CALL.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in cols})
        )
        rows = [{"_id": state[k]["id"], **{c: state[k][c] for c in cols}} for k in updated_keys]
        conn.execute(stmt, rows)


def _apply_lead_changes(
    conn: sa.Connection, created: dict[LeadKey, FirstHours], recount: set[LeadKey]
) -> dict[Cell, list[int]]:
    """Store each touched (rep, day, customer)'s first-dial / first-connect hour; the
    leads-dialled and leads-connected counts that moves, by cell.

    New calls can only make a lead's first hours earlier, so ``created`` keys merge with the
    stored row; keys touched by a correction (``recount``) are recounted from the calls.
    """
    keys = sorted(set(created) | recount)
    lock_leads(conn, keys)
    stored = _stored_first_hours(conn, keys)
    fresh = {
        key: merge_first_hours(stored[key], hours) if key in stored else hours
        for key, hours in created.items()
        if key not in recount
    }
    fresh.update(_recounted_first_hours(conn, recount))
    _write_lead_rows(conn, keys, stored, fresh)
    return _lead_count_moves(keys, stored, fresh)


def _stored_first_hours(conn: sa.Connection, keys: list[LeadKey]) -> dict[LeadKey, FirstHours]:
    wanted = set(keys)
    customers = sorted({k[2] for k in keys})
    return {key: (fd, fc) for key, fd, fc in stored_leads(conn, customers) if key in wanted}


def _recounted_first_hours(conn: sa.Connection, recount: set[LeadKey]) -> dict[LeadKey, FirstHours]:
    """The first hours of the ``recount`` leads that still have calls, from the calls."""
    out: dict[LeadKey, FirstHours] = {}
    for chunk in _chunks(sorted({k[2] for k in recount}), 900):
        q = leads_of(CALL).where(CALL.c.customer_key.in_(chunk))
        for rep_id, day, ckey, fd, fc in conn.execute(q):
            if (rep_id, day, ckey) in recount:
                out[(rep_id, day, ckey)] = (fd, fc)
    return out


_LEADS_DIALLED, _LEADS_CONNECTED = METRICS.index("leads_dialled"), METRICS.index("leads_connected")


def _lead_count_moves(
    keys: list[LeadKey],
    stored: dict[LeadKey, FirstHours],
    fresh: dict[LeadKey, FirstHours],
) -> dict[Cell, list[int]]:
    """What moving each lead from its ``stored`` to its ``fresh`` first hours does to the
    leads counts, by cell."""
    moves: dict[Cell, list[int]] = {}

    def bump(rep_id: int, day: date, hour: int, idx: int, sign: int) -> None:
        acc = moves.setdefault((rep_id, day, hour), [0] * len(METRICS))
        acc[idx] += sign

    for key in keys:
        old, new = stored.get(key), fresh.get(key)
        if old == new:
            continue
        rep_id, day, _ = key
        for hours, sign in ((old, -1), (new, 1)):
            if hours:
                bump(rep_id, day, hours[0], _LEADS_DIALLED, sign)
                if hours[1] is not None:
                    bump(rep_id, day, hours[1], _LEADS_CONNECTED, sign)
    return moves


def _write_lead_rows(
    conn: sa.Connection,
    keys: list[LeadKey],
    stored: dict[LeadKey, FirstHours],
    fresh: dict[LeadKey, FirstHours],
) -> None:
    """Store the leads whose first hours moved; delete those left without calls."""
    upserts, deletes = [], []
    for key in keys:
        old, new = stored.get(key), fresh.get(key)
        if old == new:
            continue
        rep_id, day, ckey = key
        if new:
            upserts.append((rep_id, day, ckey, new[0], new[1]))
        else:
            deletes.append({"r": rep_id, "d": day, "k": ckey})
    if upserts:
        write_leads(conn, upserts)
    if deletes:
        conn.execute(
            LEAD.delete().where(
                LEAD.c.rep_id == sa.bindparam("r"),
                LEAD.c.day == sa.bindparam("d"),
                LEAD.c.customer_key == sa.bindparam("k"),
            ),
            deletes,
        )


def _apply_deltas(conn: sa.Connection, deltas: dict[Cell, list[int]]) -> set[Cell]:
    """Add each cell's delta to hourly_total atomically; cells in key order to avoid deadlocks."""
    rows: list[tuple[Any, ...]] = [
        (*cell, *deltas[cell]) for cell in sorted(deltas) if any(deltas[cell])
    ]
    if rows:
        add_to_totals(conn, rows)
    return {row[:3] for row in rows}

"""Apply a batch of records to the calls table and the hourly totals, in the caller's transaction.

Per (source, call_id) a record updates only the fields it carries. Totals move by the difference
between a call's old and new contribution, so a correction never counts twice. The caller
(the group-commit writer, an import, a test) owns the transaction; nothing here commits.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa

from app.floor.agent_state import StateEvent
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
from app.ingest.sql import dialect_insert
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
LeadKey = tuple[int, date, str]


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


#: The code of an unresolved agent whose identifier looked like a phone number (or was the
#: call's other party): ``#`` + a prefix of its keyed hash, never the number itself.
HASHED_AGENT_PREFIX = "#"


@dataclass(frozen=True, slots=True)
class Agent:
    """Where one record's calls go: a rep on the roster, or an unresolved agent's bucket."""

    rep_id: int
    #: None on the roster; else the bucket's code (the identifier, or ``#`` + hash prefix).
    unresolved: str | None = None
    #: Why the identifier could not be a rep (names the column, never the value).
    reason: str | None = None


def hashed_agent_code(value: str, hasher: CustomerHasher) -> str:
    """The bucket code of a phone-like identifier: stable for every spelling of the number."""
    return HASHED_AGENT_PREFIX + (hasher(value) or "")[:12]


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
# Held to commit on PostgreSQL: a rep claiming an unresolved agent's identifier (which deletes
# the row) waits for calls resolved through it, so none lands behind its back.
_IDENTIFIER_OWNERS_HELD = _IDENTIFIER_OWNERS.with_for_update(key_share=True, read=True)
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
    held = conn.dialect.name == "postgresql"
    q = _IDENTIFIER_OWNERS_HELD if held else _IDENTIFIER_OWNERS
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


def _load_calls(conn: sa.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    by_source: dict[str, list[str]] = {}
    for source, call_id in keys:
        by_source.setdefault(source, []).append(call_id)
    out = {}
    for source, ids in sorted(by_source.items()):
        for chunk in _chunks(sorted(ids), 900):
            # Most posted calls are new: a bare probe of the unique index finds the few that
            # exist, and only those pay for a full, typed (and on PostgreSQL locked) read.
            marks = ", ".join("?" * len(chunk))
            probe = driver_sql(
                conn, f"SELECT external_id FROM call WHERE source = ? AND external_id IN ({marks})"
            )
            found = [r[0] for r in conn.exec_driver_sql(probe, (source, *chunk))]
            if not found:
                continue
            q = sa.select(CALL).where(CALL.c.source == source, CALL.c.external_id.in_(found))
            if conn.dialect.name == "postgresql":
                # Two processes applying revisions of one call serialise here, not in the totals.
                q = q.with_for_update()
            for row in conn.execute(q).mappings():
                out[(row["source"], row["external_id"])] = dict(row)
    return out


def driver_sql(conn: sa.Connection, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the driver's own paramstyle."""
    return sql if conn.dialect.name == "sqlite" else sql.replace("?", "%s")


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


def apply_each(
    conn: sa.Connection,
    items: Sequence[Incoming | Invalid],
    *,
    ctx: IngestContext,
    now: datetime,
    require_existing: bool = False,
    strict_agents: bool = False,
) -> BatchOutcome:
    """The per-record path of :func:`apply_batch`: each record judged and merged in Python."""
    results: list[RecordResult] = []
    rejects: list[dict[str, Any]] = []
    valid = [it for it in items if isinstance(it, Incoming)]

    with_rep = [it for it in valid if "rep" in it.fields]
    agents = resolve_agents(conn, with_rep, now, ctx.hasher, create=not strict_agents)
    unresolved: dict[str, int] = {}
    state = _load_calls(conn, list(dict.fromkeys((it.source, it.call_id) for it in valid)))
    tz_reps = {a.rep_id for a in agents.values()} | {c["rep_id"] for c in state.values()}
    tzs = rep_timezones(conn, tz_reps, ctx.default_tz) if tz_reps else {}

    new_keys: set[tuple[str, str]] = set()
    dirty: set[tuple[str, str]] = set()
    deltas: dict[Cell, list[int]] = {}
    sales: list[Sale] = []
    lead_created: dict[LeadKey, list[int | None]] = {}  # key -> [first dial, first connect]
    lead_recount: set[LeadKey] = set()
    last_dial: dict[tuple[int, date], datetime] = {}  # (rep, day) -> latest started_at
    in_call: list[ResolvedEvent] = []  # a call's start (posted without an end) and its end

    def touch(row: dict[str, Any]) -> None:
        if row["direction"] != "outbound":
            return  # the last *dial* (idle alerts, the console): calls made, as dials count
        k = (row["rep_id"], row["local_day"])
        seen = last_dial.get(k)
        if seen is None or row["started_at"] > seen:
            last_dial[k] = row["started_at"]

    def place(row: dict[str, Any]) -> None:
        local = row["started_at"].astimezone(tzs[row["rep_id"]])
        row["local_day"], row["local_hour"] = local.date(), local.hour

    def reject(item: Incoming | Invalid, errors: list[dict[str, str]]) -> None:
        results.append(RecordResult(item.index, item.call_id, "rejected", errors))
        rejects.append(reject_row(item, errors, ctx.hasher, now))

    for item in items:
        if isinstance(item, Invalid):
            reject(item, item.errors)
            continue
        key = (item.source, item.call_id)
        fields = dict(item.fields)
        agent = agents.get(id(item))
        if agent is not None:
            if agent.unresolved is not None and strict_agents:
                reject(item, [not_on_roster(item, agent)])
                continue
            del fields["rep"]
            fields["rep_id"] = agent.rep_id
        cur = state.get(key)

        if cur is None:
            if require_existing:
                results.append(RecordResult(item.index, item.call_id, "not_found"))
                continue
            row = {**CREATE_DEFAULTS, **fields}
            errs = consistency_errors(row, now, ctx.max_future)
            if errs:
                reject(item, errs)
                continue
            row.update(
                source=item.source,
                external_id=item.call_id,
                revision=item.revision,
                received_at=now,
                updated_at=now,
            )
            place(row)
            touch(row)
            if row["outcome"] == "sale":
                sales.append(Sale(row["rep_id"], row["local_day"], row["order_value"]))
            state[key] = row
            new_keys.add(key)
            _add(deltas, (row["rep_id"], row["local_day"], row["local_hour"]), contribution(row), 1)
            if counts_as_lead(row):
                lk = (row["rep_id"], row["local_day"], row["customer_key"])
                hour = row["local_hour"]
                conn_hour = hour if row["disposition"] == "answered" else None
                seen = lead_created.get(lk)
                if seen is None:
                    lead_created[lk] = [hour, conn_hour]
                else:
                    seen[0], seen[1] = min(seen[0], hour), _min_hour(seen[1], conn_hour)
            results.append(RecordResult(item.index, item.call_id, "created"))
            count_unresolved(unresolved, agent)
            if in_progress(row, fields, now):
                in_call.append(call_event(row, "on_call", row["started_at"], "start"))
            continue

        differs = any(cur[k] != v for k, v in fields.items())
        judged = verdict(item.revision, cur["revision"], differs)
        if judged == "stale":
            results.append(RecordResult(item.index, item.call_id, "stale"))
            continue
        if judged == "conflict":
            reject(item, [conflict_error(item.revision)])
            continue
        if judged in ("duplicate", "bump"):
            if judged == "bump":
                cur["revision"] = item.revision
                dirty.add(key)
            results.append(RecordResult(item.index, item.call_id, "duplicate"))
            continue

        new = {**cur, **fields}
        errs = consistency_errors(new, now, ctx.max_future)
        if errs:
            reject(item, errs)
            continue
        if item.revision is not None:
            new["revision"] = item.revision
        new["updated_at"] = now
        place(new)
        touch(new)
        if new["outcome"] == "sale" and cur["outcome"] != "sale":
            sales.append(Sale(new["rep_id"], new["local_day"], new["order_value"]))
        _add(deltas, (cur["rep_id"], cur["local_day"], cur["local_hour"]), contribution(cur), -1)
        _add(deltas, (new["rep_id"], new["local_day"], new["local_hour"]), contribution(new), 1)
        for r in (cur, new):
            if r["customer_key"]:
                lead_recount.add((r["rep_id"], r["local_day"], r["customer_key"]))
        state[key] = new
        dirty.add(key)
        if cur.get("ended_at") is None and new.get("ended_at") is not None:
            in_call.append(call_event(new, "available", new["ended_at"], "end"))
        results.append(RecordResult(item.index, item.call_id, "updated"))
        count_unresolved(unresolved, agent)

    _write_calls(conn, state, new_keys, dirty - new_keys)
    if lead_created or lead_recount:
        _apply_lead_changes(conn, lead_created, lead_recount, deltas)
    changed = _apply_deltas(conn, deltas)
    if last_dial:
        _executemany(
            conn,
            _ACTIVITY_UPSERT,
            [(*k, v) for k, v in sorted(last_dial.items())],
            temporal=(1, 2),
        )
    if rejects:
        conn.execute(REJECT.insert(), rejects)
    moved = store_call_states(conn, in_call, ctx.default_tz, now)
    # One result per item, appended as the loop went: already in input order.
    return BatchOutcome(results, changed, unresolved, set(last_dial), sales, moved)


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


INSERT_COLS = [c.name for c in CALL.columns if c.name != "id"]
_INSERT_CALL = (
    f"INSERT INTO call ({', '.join(INSERT_COLS)}) VALUES ({', '.join('?' for _ in INSERT_COLS)})"
)


_INSERT_ROW = operator.itemgetter(*INSERT_COLS)
CALL_TEMPORAL = [
    i
    for i, c in enumerate(INSERT_COLS)
    if c in ("started_at", "answered_at", "ended_at", "received_at", "updated_at", "local_day")
]


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


def _write_calls(conn, state, new_keys, updated_keys) -> None:
    if new_keys:
        rows = [_INSERT_ROW(state[k]) for k in new_keys]
        _executemany(conn, _INSERT_CALL, rows, temporal=CALL_TEMPORAL)
    if updated_keys:
        cols = [*STORED_CONTENT, "revision", "local_day", "local_hour", "updated_at"]
        stmt = (
            CALL.update()
            .where(CALL.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in cols})
        )
        rows = [{"_id": state[k]["id"], **{c: state[k][c] for c in cols}} for k in updated_keys]
        conn.execute(stmt, rows)


def _min_hour(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def lock_leads(conn: sa.Connection, keys: Sequence[LeadKey]) -> None:
    """Hold each (rep, day, customer) until commit before its lead row is read (PostgreSQL).

    The row is read, merged and written back; two processes counting the same new lead at once
    would each see no row and each count it (the four-writer test caught it: leads one too
    many). A transaction-scoped advisory lock per key, taken in one sorted order (no deadlock),
    makes the second wait for the first to commit, and its read then sees the row. SQLite has
    one writer at a time already.
    """
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


def _apply_lead_changes(
    conn: sa.Connection,
    created: dict[LeadKey, list[int | None]],
    recount: set[LeadKey],
    deltas: dict[Cell, list[int]],
) -> None:
    """Move each touched (rep, day, customer)'s first-dial / first-connect hour, and the counts.

    New calls can only make a lead's first hours earlier, so ``created`` keys merge with the
    stored row; keys touched by a correction (``recount``) are recounted from the calls.
    """
    keys = sorted(set(created) | recount)
    if conn.dialect.name == "postgresql":
        lock_leads(conn, keys)
    wanted = set(keys)
    ckeys = sorted({k[2] for k in keys})
    stored: dict[LeadKey, tuple[int, int | None]] = {}
    for chunk in _chunks(ckeys, 900):
        sql = driver_sql(
            conn,
            "SELECT rep_id, day, customer_key, first_dial_hour, first_connect_hour FROM lead_day"
            f" WHERE customer_key IN ({', '.join('?' * len(chunk))})",
        )
        for rep_id, day, ckey, fd, fc in conn.exec_driver_sql(sql, tuple(chunk)):
            key = (rep_id, date.fromisoformat(day) if type(day) is str else day, ckey)
            if key in wanted:
                stored[key] = (fd, fc)

    fresh: dict[LeadKey, tuple[int, int | None]] = {}
    for key, (fd, fc) in created.items():
        if key not in recount:
            assert fd is not None  # a new lead's first dial hour is always set
            old = stored.get(key)
            fresh[key] = (min(old[0], fd), _min_hour(old[1], fc)) if old else (fd, fc)
    recount_ckeys = sorted({k[2] for k in recount})
    for chunk in _chunks(recount_ckeys, 900):
        q = leads_of(CALL).where(CALL.c.customer_key.in_(chunk))
        for rep_id, day, ckey, fd, fc in conn.execute(q):
            if (rep_id, day, ckey) in recount:
                fresh[(rep_id, day, ckey)] = (fd, fc)

    i_ld, i_lc = METRICS.index("leads_dialled"), METRICS.index("leads_connected")
    upserts, deletes = [], []

    def bump(rep_id: int, day: date, hour: int, idx: int, sign: int) -> None:
        acc = deltas.setdefault((rep_id, day, hour), [0] * len(METRICS))
        acc[idx] += sign

    for key in keys:
        old, new = stored.get(key), fresh.get(key)
        if old == new:
            continue
        rep_id, day, ckey = key
        if old:
            bump(rep_id, day, old[0], i_ld, -1)
            if old[1] is not None:
                bump(rep_id, day, old[1], i_lc, -1)
        if new:
            bump(rep_id, day, new[0], i_ld, 1)
            if new[1] is not None:
                bump(rep_id, day, new[1], i_lc, 1)
            upserts.append((rep_id, day, ckey, new[0], new[1]))
        else:
            deletes.append({"r": rep_id, "d": day, "k": ckey})
    if upserts:
        _executemany(
            conn,
            "INSERT INTO lead_day (rep_id, day, customer_key, first_dial_hour, first_connect_hour)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rep_id, day, customer_key) DO UPDATE SET"
            " first_dial_hour = excluded.first_dial_hour,"
            " first_connect_hour = excluded.first_connect_hour",
            upserts,
            temporal=(1,),
        )
    if deletes:
        conn.execute(
            LEAD.delete().where(
                LEAD.c.rep_id == sa.bindparam("r"),
                LEAD.c.day == sa.bindparam("d"),
                LEAD.c.customer_key == sa.bindparam("k"),
            ),
            deletes,
        )


# Only ever moves forward: a late or corrected older call does not make a rep look idle.
_ACTIVITY_UPSERT = (
    "INSERT INTO rep_activity (rep_id, day, last_dial_at) VALUES (?, ?, ?)"
    " ON CONFLICT (rep_id, day) DO UPDATE SET last_dial_at = CASE"
    " WHEN excluded.last_dial_at > rep_activity.last_dial_at THEN excluded.last_dial_at"
    " ELSE rep_activity.last_dial_at END"
)

_TOTALS_UPSERT = (
    f"INSERT INTO hourly_total (rep_id, day, hour, {', '.join(METRICS)})"
    f" VALUES (?, ?, ?, {', '.join('?' for _ in METRICS)})"
    " ON CONFLICT (rep_id, day, hour) DO UPDATE SET "
    + ", ".join(f"{m} = hourly_total.{m} + excluded.{m}" for m in METRICS)
)


def _apply_deltas(conn: sa.Connection, deltas: dict[Cell, list[int]]) -> set[Cell]:
    """Add each cell's delta to hourly_total atomically; cells in key order to avoid deadlocks."""
    rows: list[tuple[Any, ...]] = [
        (*cell, *deltas[cell]) for cell in sorted(deltas) if any(deltas[cell])
    ]
    if rows:
        _executemany(conn, _TOTALS_UPSERT, rows, temporal=(1,))
    return {row[:3] for row in rows}


def _executemany(
    conn: sa.Connection, sql: str, rows: list[tuple], *, temporal: Sequence[int] = ()
) -> None:
    """Run ``sql`` (``?`` placeholders) for each row through the driver; on SQLite the values at
    positions ``temporal`` are converted to SQLAlchemy's stored text first. The batch hot path:
    SQLAlchemy's per-row processing costs more than the database."""
    if temporal and conn.dialect.name == "sqlite":
        rows = sqlite_rows(rows, temporal)
    sql = driver_sql(conn, sql)
    for chunk in _chunks(rows, 1000):
        conn.exec_driver_sql(sql, list(chunk))
